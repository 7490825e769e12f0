"""SLO burn-rate and symptom alerts, and the Alertmanager routing to Slack, generated from the catalog."""
