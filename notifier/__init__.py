"""Receives Alertmanager webhooks and keeps one Slack message per alert group up to date."""
