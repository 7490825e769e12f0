"""Every name that more than one part of Bongsu meets at: metric names, label names, env var names.

One home per name (like Sloth's conventions.go and OTel's environment_variables module): the SDK writes
these series, the generators query them, the notifier and chaos read these variables. This module
imports nothing, not even the rest of `bongsu`, so the SDK can use it and stay light; import-linter
holds it to that (pyproject.toml, "conventions import nothing").

docs/configuration.md is generated from `ENV_VARS` (`python -m bongsu.conventions > docs/configuration.md`);
a test fails when it is stale.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Metrics the SDK writes and the rules, dashboards, history backfill and drills read -----------------
HTTP_REQUEST_DURATION = "http_server_request_duration_seconds"
"""Histogram of every served request (OTel HTTP semantic conventions, in seconds)."""
HTTP_ACTIVE_REQUESTS = "http_server_active_requests"
SDK_DROPPED = "bongsu_sdk_dropped_total"
SDK_CARDINALITY_OVERFLOW = "bongsu_sdk_cardinality_overflow_total"
EXPERIMENT_EXPOSURES = "bongsu_experiment_exposures_total"
EXPERIMENT_CONVERSIONS = "bongsu_experiment_conversions_total"
BUILD_INFO = "bongsu_build_info"  # {version, revision, package} 1: what runs, and a deploy as its change
EXCEPTIONS = "bongsu_exceptions_total"

# --- Metrics the notifier writes and the self-health dashboard reads ------------------------------------
NOTIFIER_WEBHOOKS_RECEIVED = "bongsu_notifier_webhooks_received_total"
NOTIFIER_DELIVERIES = "bongsu_notifier_deliveries_total"
NOTIFIER_DELIVERY_RETRIES = "bongsu_notifier_delivery_retries_total"
NOTIFIER_DELIVERY_FAILURES = "bongsu_notifier_delivery_failures_total"
NOTIFIER_QUEUE_DEPTH = "bongsu_notifier_queue_depth"
NOTIFIER_DELIVERY_LATENCY = "bongsu_notifier_delivery_latency_seconds"

# Every metric above with its Prometheus type: what a dashboard query may name (dashboards/inventory.py).
CONTRACT_METRICS: dict[str, str] = {
    HTTP_REQUEST_DURATION: "histogram",
    HTTP_ACTIVE_REQUESTS: "gauge",
    SDK_DROPPED: "counter",
    SDK_CARDINALITY_OVERFLOW: "counter",
    EXPERIMENT_EXPOSURES: "counter",
    EXPERIMENT_CONVERSIONS: "counter",
    BUILD_INFO: "gauge",
    EXCEPTIONS: "counter",
    NOTIFIER_WEBHOOKS_RECEIVED: "counter",
    NOTIFIER_DELIVERIES: "counter",
    NOTIFIER_DELIVERY_RETRIES: "counter",
    NOTIFIER_DELIVERY_FAILURES: "counter",
    NOTIFIER_QUEUE_DEPTH: "gauge",
    NOTIFIER_DELIVERY_LATENCY: "histogram",
}

# --- Labels of the HTTP metrics ------------------------------------------------------------------------
HTTP_REQUEST_METHOD = "http_request_method"
HTTP_ROUTE = "http_route"
HTTP_RESPONSE_STATUS_CODE = "http_response_status_code"
HTTP_DURATION_LABELS = (HTTP_REQUEST_METHOD, HTTP_ROUTE, HTTP_RESPONSE_STATUS_CODE)
ROUTE_UNMATCHED = "unmatched"
"""The http_route of every request no route template matched."""
# The label value the SDK writes into every label of the one series a metric folds into past its cap
# (instrumentation/guard.py). Its status is unknown once folded, so availability counts it as failed:
# a 5xx folded there must not pass as a success.
OVERFLOW_LABEL_VALUE = "__overflow__"
SERVER_ERROR_MATCHER = f'{HTTP_RESPONSE_STATUS_CODE}=~"5..|{OVERFLOW_LABEL_VALUE}"'
"""What counts as a failed request, everywhere: availability SLOs, RED error ratios, drill measurements."""


# --- Where the build writes what other parts read (paths under `bongsu build --out DIR`) ------------------
RULES_DIR = "prometheus/rules"
"""Prometheus rule files (alert_rules writes them; prometheus.yml loads them; the spine's link check reads them)."""
DASHBOARDS_DIR = "grafana/dashboards"
"""Grafana dashboard JSON, one file per UID (dashboards writes them; deploy packages them)."""


# --- Environment variables -------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnvVar:
    """One environment variable: who reads it, what it means, what happens when it is unset."""

    name: str
    readers: str
    meaning: str
    default: str = "unset"
    secret: bool = False


def _var(name: str, readers: str, meaning: str, default: str = "unset", secret: bool = False) -> str:
    ENV_VARS.append(EnvVar(name, readers, meaning, default, secret))
    return name


ENV_VARS: list[EnvVar] = []

# Shared by the spine, the notifier, chaos and the shop.
WEBHOOK_TOKEN = _var("BONGSU_WEBHOOK_TOKEN", "build, notifier, chaos, stack",
                     "Bearer token Alertmanager presents to the notifier's webhook (and /v1/logs).", secret=True)
NOTIFIER_URL = _var("BONGSU_NOTIFIER_URL", "build",
                    "The notifier webhook URL written into alertmanager.yml.",
                    "http://127.0.0.1:9099/alertmanager")
FAULT_TOKEN = _var("BONGSU_FAULT_TOKEN", "shop, chaos, stack",
                   "Bearer token for the demo shop's `POST /fault` API.", secret=True)
PROMETHEUS_URL = _var("PROMETHEUS_URL", "notifier, dashboards, deploy, stack",
                      "Prometheus the notifier draws graphs from and `bongsu dashboards` reads.")
RUNBOOKS_DIR = _var("BONGSU_RUNBOOKS_DIR", "alert_rules, notifier",
                    "Folder of runbook pages quoted in Slack and checked by `bongsu check`.",
                    "the repository's runbooks/")
STACK = _var("BONGSU_STACK", "chaos", "The stack.json a running `bongsu up` wrote; drills read addresses from it.")
SAFEGUARD_BURN_LIMIT = _var("BONGSU_SAFEGUARD_BURN_LIMIT", "chaos",
                            "Burn rate above which a drill's safeguard aborts it.", "250")
GRAFANA_URL = _var("BONGSU_GRAFANA_URL", "stack",
                   "A Grafana for the local stack's dashboard links (none runs in it).", "no dashboard links")
GRAFANA_PROMETHEUS_URL = _var("BONGSU_GRAFANA_PROMETHEUS_URL", "dashboards",
                              "Prometheus URL written into Grafana's provisioned data source.")
SLACK_BOT_TOKEN = _var("SLACK_BOT_TOKEN", "notifier, deploy",
                       "Slack bot token; without it deliveries go to the log only.", secret=True)
SLACK_SIGNING_SECRET = _var("SLACK_SIGNING_SECRET", "notifier, deploy",
                            "Verifies Slack's signature on button presses.", secret=True)
SLACK_API_URL = _var("SLACK_API_URL", "notifier", "Slack Web API base URL.", "https://slack.com/api/")
SERVICE_NAME_OTEL = _var("OTEL_SERVICE_NAME", "SDK, stack", "The service name when `init()` is given none.")

# Read by the SDK only (instrumentation/settings.py, instrumentation/otlp.py); listed so the table is whole.
FLUENT_ADDRESS = _var("BONGSU_FLUENT_ADDRESS", "SDK", "host:port of a Fluent forward receiver for logs.")
FLUENT_TAG = _var("BONGSU_FLUENT_TAG", "SDK", "Fluent tag of shipped log lines.", "bongsu")
LOG_LEVEL = _var("BONGSU_LOG_LEVEL", "SDK, notifier", "loguru level of the JSON logs.", "INFO")
METRICS_TOKEN = _var("BONGSU_METRICS_TOKEN", "SDK",
                     "When set, /metrics needs `Authorization: Bearer` with it.", secret=True)
MULTIPROC_DIR = _var("PROMETHEUS_MULTIPROC_DIR", "SDK",
                     "prometheus-client's multi-process folder (gunicorn and similar).")
ERROR_REPORTS_URL = _var("BONGSU_ERROR_REPORTS_URL", "SDK",
                          "OTLP/HTTP logs endpoint for error reports (the notifier's /v1/logs locally).",
                          "no reports sent")
ERROR_REPORTS_TOKEN = _var("BONGSU_ERROR_REPORTS_TOKEN", "SDK", "Bearer token sent with error reports.",
                           secret=True)
ERROR_REPORTS_INTERVAL = _var("BONGSU_ERROR_REPORTS_INTERVAL", "SDK",
                              "Seconds between full reports of one fingerprint (counted between).", "60")
BUILD_REVISION = _var("BONGSU_BUILD_REVISION", "SDK", "The running code's commit (`vcs.ref.head.revision`).",
                      "git checkout, then direct_url.json, then unknown")
BUILD_PACKAGE = _var("BONGSU_BUILD_PACKAGE", "SDK", "The running artifact (image reference or wheel).",
                     "the installed distribution, then unknown")
SERVICE_VERSION_OTEL = _var("OTEL_SERVICE_VERSION", "SDK", "The running version (`service.version`).",
                            "the installed distribution, then unknown")
NOTIFIER_STORE = _var("BONGSU_NOTIFIER_STORE", "notifier",
                      "`postgresql://...` for replicas on PostgreSQL, else a SQLite state file path.",
                      "--state file (SQLite)")
NOTIFIER_RETENTION = _var("BONGSU_NOTIFIER_RETENTION", "notifier", "How long delivered history is kept.", "7d")
TRACE_URL_TEMPLATE = _var("BONGSU_TRACE_URL_TEMPLATE", "notifier",
                          "Link for an example trace id in the Evidence section, with `{trace_id}`.", "no link")
for _name, _meaning, _default in (
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP endpoint for traces.", "no trace export"),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTLP endpoint for traces; wins over the generic one.", "unset"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "`http/protobuf` or `grpc`.", "http/protobuf"),
    ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "Protocol for traces; wins over the generic one.", "unset"),
    ("OTEL_EXPORTER_OTLP_HEADERS", "Extra OTLP headers (`k=v,k2=v2`).", "unset"),
    ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Extra OTLP headers for traces.", "unset"),
    ("OTEL_EXPORTER_OTLP_COMPRESSION", "`gzip` or `none`.", "unset"),
    ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "Compression for traces.", "unset"),
    ("OTEL_EXPORTER_OTLP_CERTIFICATE", "CA bundle for an https OTLP endpoint.", "system CAs"),
    ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "CA bundle for traces.", "unset"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "Span queue bound.", "2048"),
    ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "Spans per export.", "512"),
    ("OTEL_BSP_SCHEDULE_DELAY", "Milliseconds between exports.", "5000"),
    ("OTEL_BSP_EXPORT_TIMEOUT", "Milliseconds an export may take.", "10000"),
    ("OTEL_SDK_DISABLED", "`true` turns tracing off.", "false"),
):
    _var(_name, "SDK", _meaning, _default)


def env_table() -> str:
    """docs/configuration.md: one table of every environment variable, generated from `ENV_VARS`."""
    lines = [
        "# Configuration",
        "",
        "Every environment variable Bongsu reads. Generated from `bongsu/conventions.py` by",
        "`python -m bongsu.conventions > docs/configuration.md`; do not edit by hand (a test checks it).",
        "",
        "| Variable | Read by | Meaning | Default | Secret |",
        "|---|---|---|---|---|",
    ]
    for var in sorted(ENV_VARS, key=lambda v: v.name):
        lines.append(f"| `{var.name}` | {var.readers} | {var.meaning} | {var.default} | "
                     f"{'yes' if var.secret else ''} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(env_table(), end="")
