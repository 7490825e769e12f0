"""Chaos Toolkit extension and drills that prove each alert fires, reaches Slack and resolves."""
