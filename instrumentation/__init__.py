"""The SDK services import: one `init()` for Prometheus metrics, OTLP traces and loguru JSON logs,
built so that it never slows or breaks the host service."""
