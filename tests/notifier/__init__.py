"""Notifier tests: a real Alertmanager drives the notifier against the Slack-compatible server."""
