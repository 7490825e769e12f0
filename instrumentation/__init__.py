"""The SDK services import: one `init()` for Prometheus metrics, OTLP traces and loguru JSON logs,
built so that it never slows or breaks the host service.

Owns: the HTTP RED metrics and health endpoints (ASGI and WSGI middlewares), trace context in and out
(httpx/requests), the JSON log pipeline with trace correlation, PII redaction and fluent shipping,
typed business metrics, A/B experiments, the SDK's own drop and cardinality counters, the build
identity (version, commit, package) on every signal, and an error report for every failing request.
"""

from instrumentation.asgi import instrument_asgi
from instrumentation.business import Counter, Histogram
from instrumentation.experiments import Experiment
from instrumentation.fastapi_telemetry import fastapi_telemetry
from instrumentation.health import add_readiness_check, remove_readiness_check
from instrumentation.lifecycle import init, shutdown
from instrumentation.propagation import outgoing_headers
from instrumentation.errors import ConfigError
from instrumentation.wsgi import instrument_wsgi

__all__ = [
    "ConfigError",
    "Counter",
    "Experiment",
    "Histogram",
    "add_readiness_check",
    "fastapi_telemetry",
    "init",
    "instrument_asgi",
    "instrument_wsgi",
    "outgoing_headers",
    "remove_readiness_check",
    "shutdown",
]
