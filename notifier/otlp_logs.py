"""OTLP/HTTP log records in, error reports out: the decoding half of `POST /v1/logs`.

The SDK sends each error report as one log record of an `ExportLogsServiceRequest` (protobuf, or
OTLP JSON with `Content-Type: application/json`), with the semantic-convention attributes listed in
docs/recovery.md. Records without `exception.type` are not error reports: they are counted as
rejected in the OTLP partial-success answer, never stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_T = TypeVar("_T")
FIELD_LIMIT = 8000  # characters kept of any one attribute (stack traces are the long ones)


class OtlpError(ValueError):
    """The body is not an ExportLogsServiceRequest; the message says what is wrong."""


@dataclass
class ErrorReport:
    service: str
    exception_type: str
    exception_message: str = ""
    stacktrace: str = ""
    function: str = ""
    file: str = ""
    line: int | None = None
    source: str = ""
    version: str = "unknown"
    revision: str = "unknown"
    package: str = "unknown"
    fingerprint: str = ""
    method: str = ""
    url: str = ""
    route: str = ""
    status: int | None = None
    trace_id: str = ""
    span_id: str = ""
    count: int = 1
    time: float = 0.0
    frames: list[Any] = field(default_factory=list)  # JSON from the SDK, checked to be a list only
    breadcrumbs: list[Any] = field(default_factory=list)
    request: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ErrorReport:
        return cls(**json.loads(text))

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "unknown location"


def _value(value: AnyValue) -> Any:  # an OTLP value as JSON: any shape the sender chose
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def _hex_ids(node: Any) -> Any:  # walks decoded JSON of any shape
    """OTLP JSON writes trace and span ids as hex; protobuf's JSON mapping wants base64."""
    if isinstance(node, dict):
        return {k: (base64.b64encode(bytes.fromhex(v)).decode()
                    if k in ("traceId", "spanId") and isinstance(v, str) else _hex_ids(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def parse_request(body: bytes, content_type: str) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind == PROTOBUF:
            request.ParseFromString(body)
        elif kind == JSON:
            json_format.ParseDict(_hex_ids(json.loads(body)), request, ignore_unknown_fields=True)
        else:
            raise OtlpError(f"unsupported Content-Type {kind or '(none)'!r}; send {PROTOBUF} or {JSON}")
    except (DecodeError, json_format.ParseError, ValueError, TypeError) as exc:
        if isinstance(exc, OtlpError):
            raise
        raise OtlpError(f"not an OTLP ExportLogsServiceRequest ({kind}): {str(exc)[:200]}") from None
    return request


def _text(value: object, limit: int = FIELD_LIMIT) -> str:
    return "" if value is None else str(value)[:limit]


def _json_attr(value: object, default: _T) -> _T:
    if value is None:
        return default
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return default
    found: _T = parsed if isinstance(parsed, type(default)) else default
    return found


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def reports(request: ExportLogsServiceRequest) -> tuple[list[ErrorReport], int]:
    """The error reports in the request, and how many records were not error reports."""
    found: list[ErrorReport] = []
    rejected = 0
    for resource_logs in request.resource_logs:
        resource = _attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attrs = _attributes(record.attributes)
                if not attrs.get("exception.type"):
                    rejected += 1
                    continue
                stamp = record.time_unix_nano or record.observed_time_unix_nano
                found.append(ErrorReport(
                    service=_text(resource.get("service.name") or "unknown", 200),
                    exception_type=_text(attrs["exception.type"], 300),
                    exception_message=_text(attrs.get("exception.message"), 2000),
                    stacktrace=_text(attrs.get("exception.stacktrace")),
                    function=_text(attrs.get("code.function.name") or attrs.get("code.function"), 300),
                    file=_text(attrs.get("code.file.path") or attrs.get("code.filepath"), 500),
                    line=_int(attrs.get("code.line.number", attrs.get("code.lineno"))),
                    source=_text(attrs.get("code.line.source"), 500),
                    version=_text(resource.get("service.version") or "unknown", 200),
                    revision=_text(resource.get("vcs.ref.head.revision") or "unknown", 200),
                    package=_text(resource.get("bongsu.build.package") or "unknown", 300),
                    fingerprint=_text(attrs.get("bongsu.error.fingerprint")
                                      or f"{attrs['exception.type']}@{attrs.get('code.file.path')}:"
                                         f"{attrs.get('code.line.number')}", 200),
                    method=_text(attrs.get("http.request.method"), 20),
                    url=_text(attrs.get("url.full") or attrs.get("url.path"), 2000),
                    route=_text(attrs.get("http.route"), 300),
                    status=_int(attrs.get("http.response.status_code")),
                    trace_id=record.trace_id.hex() if record.trace_id else "",
                    span_id=record.span_id.hex() if record.span_id else "",
                    count=max(1, _int(attrs.get("bongsu.error.count")) or 1),
                    time=stamp / 1e9 if stamp else 0.0,
                    frames=_json_attr(attrs.get("bongsu.error.frames"), [])[:50],
                    breadcrumbs=_json_attr(attrs.get("bongsu.error.breadcrumbs"), [])[:50],
                    request=_json_attr(attrs.get("bongsu.error.request"), {}),
                ))
    return found, rejected


def response(content_type: str, rejected: int) -> tuple[bytes, str]:
    """The OTLP answer, in the request's encoding; partial success when records were not reports."""
    answer = ExportLogsServiceResponse()
    if rejected:
        answer.partial_success.rejected_log_records = rejected
        answer.partial_success.error_message = "only error reports (records with exception.type) are kept"
    if content_type.split(";")[0].strip().lower() == PROTOBUF:
        return answer.SerializeToString(), PROTOBUF
    return json_format.MessageToJson(answer).encode(), JSON
