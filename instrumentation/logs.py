"""loguru as the one log pipeline: JSON lines on stdout with trace correlation and the service
identity, stdlib `logging` routed into it, PII redacted, and a copy handed to the fluent shipper.

The sink runs on the logging thread, so the current span is the one the record was made in.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from loguru import logger
from opentelemetry import trace

from instrumentation.redaction import Redactor
from instrumentation.selfmetrics import dropped
from instrumentation.serverspan import SPAN_CONTEXT_ATTRIBUTE

_INVALID_SPAN = trace.INVALID_SPAN


_CORE_KEYS = frozenset({"time", "level", "message", "logger", "trace_id", "span_id", "trace_flags", "exception",
                        "service.name", "service.version", "deployment.environment", "service.instance.id"})
_encode = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode


class JsonSink:
    """A loguru sink writing one JSON object per line.

    The line is assembled from pre-encoded pieces (the identity is encoded once per process), since
    this runs on the request path for every record; the fluent shipper gets the finished line and
    parses it on its own thread.
    """

    def __init__(self, stream: TextIO, identity: Callable[[], dict[str, str]], redactor: Redactor | None,
                 ship: Callable[[str], None] | None) -> None:
        self.stream = stream
        self.identity = identity
        self.redactor = redactor
        self.ship = ship
        self._lock = threading.Lock()
        self._second = -1
        self._second_text = ""
        self._identity_for: dict[str, str] | None = None
        self._identity_json = ""

    def _timestamp(self, stamp: float) -> str:
        """RFC 3339 UTC with microseconds; the date-time part is formatted once per second."""
        second = int(stamp)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int((stamp - second) * 1e6):06d}Z"

    def _identity_fragment(self) -> str:
        identity = self.identity()
        if identity is not self._identity_for:  # a new dict after a fork
            self._identity_json = "," + _encode(identity)[1:-1] if identity else ""
            self._identity_for = identity
        return self._identity_json

    def __call__(self, message: Any) -> None:
        try:
            line = self.line(message.record)
        except Exception:  # noqa: BLE001 - a log call must never fail the caller
            dropped("logs", "format_error")
            return
        try:
            with self._lock:
                self.stream.write(line + "\n")
        except Exception:  # noqa: BLE001 - closed or broken stdout
            dropped("logs", "stdout_error")
        if self.ship is not None:
            self.ship(line)

    def line(self, record: dict[str, Any]) -> str:
        redact = self.redactor
        text = record["message"]
        extra = record["extra"]
        parts = ['{"time":"', self._timestamp(record["time"].timestamp()), '","level":"', record["level"].name,
                 '","message":', _encode(redact(text) if redact else text),
                 ',"logger":', _encode(extra.get("logger_name") or record["name"]), self._identity_fragment()]
        span = trace.get_current_span()
        exception = record["exception"]
        context = span.get_span_context() if span is not _INVALID_SPAN else None
        if (context is None or not context.is_valid) and exception is not None:
            # uvicorn/gunicorn log a request's traceback after its context ended: the span is on the error
            context = getattr(exception.value, SPAN_CONTEXT_ATTRIBUTE, None)
        if context is not None:
            if context.is_valid:
                parts.append(',"trace_id":"%032x","span_id":"%016x","trace_flags":"%02x"'
                             % (context.trace_id, context.span_id, context.trace_flags))
        if extra:
            fields = {key: redact_value(value, redact) if redact else value
                      for key, value in extra.items() if key != "logger_name" and key not in _CORE_KEYS}
            if fields:
                parts += [",", _encode(fields)[1:-1]]
        if exception is not None:
            parts += [',"exception":', _encode({
                "type": getattr(exception.type, "__name__", str(exception.type)),
                "message": redact(str(exception.value)) if redact else str(exception.value),
                "stack": redact(_stack(exception)) if redact else _stack(exception)})]
        parts.append("}")
        return "".join(parts)


def redact_value(value: object, redact: Redactor) -> object:
    """Strings anywhere inside extras (dicts, lists, tuples) are redacted; other values pass through."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item, redact) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(item, redact) for item in value]
    return value


def _stack(exception: Any) -> str:
    return "".join(traceback.format_exception(exception.type, exception.value, exception.traceback))


class InterceptHandler(logging.Handler):
    """Routes stdlib `logging` records into loguru, keeping the original logger name and caller."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        try:
            logger.bind(logger_name=record.name).opt(depth=_caller_depth(), exception=record.exc_info).log(
                level, record.getMessage())
        except Exception:  # noqa: BLE001 - the SDK must never break or slow the host request; the drop is counted
            dropped("logs", "format_error")


def _caller_depth() -> int:
    frame: FrameType | None = sys._getframe(2)  # noqa: SLF001 - the loguru-documented way to find the caller
    depth = 2
    while frame is not None and frame.f_code.co_filename == logging.__file__:
        frame = frame.f_back
        depth += 1
    return depth


_STDLIB_LEVELS = {"TRACE": 5, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "SUCCESS": logging.INFO,
                  "WARNING": logging.WARNING, "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}


# Servers that install their own stderr handlers: under them a 5xx traceback would be plain text,
# without trace ids, unredacted and never shipped.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "gunicorn", "gunicorn.error",
                  "gunicorn.access", "hypercorn.error", "hypercorn.access")


def route_server_loggers() -> None:
    """Hand uvicorn's and gunicorn's loggers to the pipeline: their own handlers go, records propagate
    to the root logger's InterceptHandler (JSON, trace ids, redaction, shipping)."""
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        for handler in list(server_logger.handlers):
            server_logger.removeHandler(handler)
        server_logger.propagate = True


def configure(sink: JsonSink, level: str, intercept_stdlib: bool) -> int:
    """Replace loguru's handlers with the JSON sink; returns the handler id."""
    logger.remove()
    handler_id = logger.add(sink, level=level, format="{message}", backtrace=False, diagnose=False, catch=False)
    if intercept_stdlib:
        logging.basicConfig(handlers=[InterceptHandler()], level=_STDLIB_LEVELS[level], force=True)
        route_server_loggers()
    return handler_id
