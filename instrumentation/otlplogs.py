"""OTLP/HTTP log export for error reports: `ExportLogsServiceRequest` protobuf POSTed to one URL.

Error reports are rare and rate-limited, so this uses opentelemetry-proto's generated classes as
they are (the trace path has its own caching encoder because it runs per request). One POST per
batch, no retries: a failed batch is dropped and counted by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

CONTENT_TYPE = "application/x-protobuf"
SCOPE = "bongsu.instrumentation.errorreports"


@dataclass(frozen=True)
class Record:
    """One log record, in the fields OTLP carries."""

    time_ns: int
    body: str
    attributes: Mapping[str, Any]
    trace_id: int = 0
    span_id: int = 0
    trace_flags: int = 0
    severity: int = SeverityNumber.SEVERITY_NUMBER_ERROR
    severity_text: str = "ERROR"
    event_name: str = field(default="")


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    return AnyValue(string_value=str(value))


def _key_values(attributes: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any(value)) for key, value in attributes.items() if value is not None]


def encode(resource: Mapping[str, Any], records: Sequence[Record], observed_ns: int) -> bytes:
    """The serialized ExportLogsServiceRequest: one resource, one scope, `records` in order."""
    log_records = []
    for record in records:
        log = LogRecord(time_unix_nano=record.time_ns, observed_time_unix_nano=observed_ns,
                        severity_number=SeverityNumber.ValueType(record.severity), severity_text=record.severity_text,
                        body=AnyValue(string_value=record.body), attributes=_key_values(record.attributes),
                        flags=record.trace_flags & 0xFF, event_name=record.event_name)
        if record.trace_id:
            log.trace_id = record.trace_id.to_bytes(16, "big")
            log.span_id = record.span_id.to_bytes(8, "big")
        log_records.append(log)
    request = ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        resource=Resource(attributes=_key_values(resource)),
        scope_logs=[ScopeLogs(scope=InstrumentationScope(name=SCOPE), log_records=log_records)])])
    body: bytes = request.SerializeToString()  # protobuf's Message is untyped here
    return body


class LogExporter:
    """POST application/x-protobuf to an OTLP/HTTP logs URL (used as given, `/v1/logs` included),
    with `Authorization: Bearer <token>` when a token is set."""

    def __init__(self, url: str, token: str | None, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.headers = {"Content-Type": CONTENT_TYPE}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.session = requests.Session()

    def export(self, body: bytes) -> bool:
        """True when the receiver answered 2xx; never raises."""
        try:
            response = self.session.post(self.url, data=body, headers=self.headers, timeout=self.timeout_s)
        except Exception:  # noqa: BLE001 - refused, timed out: the caller drops and counts the batch
            return False
        return 200 <= response.status_code < 300

    def after_fork(self) -> None:
        """A forked child must not share the parent's pooled connections."""
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()
