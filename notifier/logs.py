"""Structured logs through the Bongsu SDK: JSON lines on stderr (stdout belongs to the offline rendering).

Callers pass facts as keyword fields, never tokens or secrets; `Settings` keeps those as
`SecretStr`, so even an accidental `repr` prints stars, and credentials in URLs are masked.
"""

from __future__ import annotations

import sys

from loguru import logger

import instrumentation
from notifier.redaction import redact_record

# Every line goes through redact_record: a URL with credentials (ALERTMANAGER_URL, the store's
# postgresql:// URL, an exception's text) never reaches the log with its secret.
log = logger.bind(logger_name="notifier").patch(redact_record)


def configure_logging() -> None:
    """The SDK's log pipeline (JSON, trace ids, stdlib logging of uvicorn and slack-sdk routed in).

    Raises instrumentation.ConfigError for a bad BONGSU_LOG_LEVEL or OTEL_* value.
    """
    instrumentation.init("notifier", log_stream=sys.stderr)
