"""Bongsu watching itself: the SDK's dropped telemetry, the notifier's queue, latency and failures.

When these go wrong the other dashboards and the alerts go quiet, which looks exactly like health.
"""

from __future__ import annotations

from bongsu import conventions
from bongsu.catalog import OVERVIEW_DASHBOARD_UID, PLATFORM_FOLDER_UID, SELF_HEALTH_DASHBOARD_UID, Catalog

from dashboards.overview import PLATFORM_FOLDER_TITLE
from dashboards.panels import Board, Query, board, dashboard, link, timeseries

NOTIFIER = 'job="notifier"'
LATENCY = conventions.NOTIFIER_DELIVERY_LATENCY + "_bucket"


def self_health_board(catalog: Catalog) -> Board:
    services = "|".join(s.name for s in catalog.services)
    rows = [
        ("Scraping", [
            timeseries("Targets up by job", [Query("sum by (job) (up)", "{{job}}")], "short", minimum=0,
                       description="Instances Prometheus scrapes successfully, per job."),
        ]),
        ("Instrumentation SDK", [
            timeseries("Telemetry dropped", [Query(
                f"sum by (job, signal, reason) (rate({conventions.SDK_DROPPED}[$__rate_interval]))",
                "{{job}} {{signal}}: {{reason}}")], "ops", minimum=0, incident_only=True,
                thresholds=[("green", None), ("red", 0.0001)],
                description="Spans, logs or metrics the SDK threw away rather than block a request."),
            timeseries("Label values over the cardinality cap", [Query(
                f"sum by (job, metric) (rate({conventions.SDK_CARDINALITY_OVERFLOW}[$__rate_interval]))",
                "{{job}} {{metric}}")], "ops", minimum=0, incident_only=True,
                description="Label values folded into the overflow bucket because a metric hit its cap."),
        ]),
        ("Notifier", [
            timeseries("Queue depth", [Query(f"sum({conventions.NOTIFIER_QUEUE_DEPTH}{{{NOTIFIER}}})", "queued")],
                       "short", minimum=0, thresholds=[("green", None), ("orange", 50.0)],
                       description="Notifications accepted but not yet delivered to Slack."),
            timeseries("Delivery latency", [
                Query(f"histogram_quantile({q}, sum by (le) (rate({LATENCY}{{{NOTIFIER}}}[$__rate_interval])))",
                      name) for name, q in (("p50", 0.5), ("p99", 0.99))],
                "s", minimum=0, incident_only=True, thresholds=[("green", None), ("orange", 10.0)],
                description="From the accepted Alertmanager webhook to Slack's answer."),
            timeseries("Webhooks received", [Query(
                f"sum by (outcome) (rate({conventions.NOTIFIER_WEBHOOKS_RECEIVED}{{{NOTIFIER}}}[$__rate_interval]))",
                "{{outcome}}")], "reqps", minimum=0, incident_only=True),
        ]),
        (None, [
            timeseries("Deliveries", [Query(
                f"sum by (method) (rate({conventions.NOTIFIER_DELIVERIES}{{{NOTIFIER}}}[$__rate_interval]))",
                "{{method}}")], "ops", minimum=0, incident_only=True),
            timeseries("Delivery retries and failures", [
                Query(f"sum by (reason) (rate({conventions.NOTIFIER_DELIVERY_RETRIES}{{{NOTIFIER}}}"
                      "[$__rate_interval]))", "retry: {{reason}}"),
                Query(f"sum by (error) (rate({conventions.NOTIFIER_DELIVERY_FAILURES}{{{NOTIFIER}}}"
                      "[$__rate_interval]))", "failed: {{error}}")],
                "ops", minimum=0, incident_only=True, thresholds=[("green", None), ("red", 0.0001)],
                description="Retries are normal under Slack rate limits; failures mean a lost notification."),
            timeseries("Instrumented services' memory", [Query(
                f'process_resident_memory_bytes{{job=~"{services}"}}', "{{job}} {{instance}}")],
                "bytes", minimum=0, description="Resident memory of every process running the SDK: a "
                                                "leaking exporter queue shows here first."),
        ]),
    ]
    dash = dashboard(
        "Bongsu self-health", SELF_HEALTH_DASHBOARD_UID, rows,
        description="Is the monitoring itself working? SDK drops, notifier queue, delivery latency and failures.",
        variables=[], links=[link("Overview", OVERVIEW_DASHBOARD_UID)], tags=["self-health"],
    )
    return board(dash, PLATFORM_FOLDER_UID, PLATFORM_FOLDER_TITLE)
