"""OTLP log requests as the SDK sends error reports (docs/recovery.md), built with opentelemetry-proto."""

from __future__ import annotations

import json
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def error_record(exception_type: str = "KeyError", message: str = "'amex'", file: str = "examples/shop/fees_1_5_0.py",
                 line: int = 22, function: str = "fee_cents", count: int = 1,
                 trace_id: bytes = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")) -> LogRecord:
    frames = [{"file": file, "line": line, "function": function, "source": "rate = NETWORK_FEE_BPS[network(card_number)]",
               "in_app": True, "culprit": True}]
    attributes = {
        "exception.type": exception_type, "exception.message": message,
        "exception.stacktrace": f'Traceback (most recent call last):\n  File "{file}", line {line}\n{exception_type}: {message}',
        "code.function.name": function, "code.file.path": file, "code.line.number": line,
        "code.line.source": "rate = NETWORK_FEE_BPS[network(card_number)]",
        "url.full": "http://127.0.0.1:8082/charges", "http.request.method": "POST", "http.route": "/charges",
        "http.response.status_code": 500, "bongsu.error.fingerprint": f"{exception_type}:{file}:{function}",
        "bongsu.error.frames": json.dumps(frames),
        "bongsu.error.breadcrumbs": json.dumps([{"type": "log", "message": "charging order 7"}]),
        "bongsu.error.request": json.dumps({"query": {}, "headers": {"content-type": "application/json"},
                                            "body": '{"order_id": 7, "card_number": "[REDACTED]"}'}),
        "bongsu.error.count": count,
    }
    return LogRecord(time_unix_nano=time.time_ns(), severity_text="ERROR", trace_id=trace_id,
                     span_id=bytes.fromhex("00f067aa0ba902b7"), attributes=[_kv(k, v) for k, v in attributes.items()])


def export_request(records: list[LogRecord], service: str = "payments", version: str = "1.5.0",
                   revision: str = "9b7418633446b6fb8b8a93b9117c1b8d153c7c99") -> ExportLogsServiceRequest:
    resource = Resource(attributes=[_kv("service.name", service), _kv("service.version", version),
                                    _kv("vcs.ref.head.revision", revision),
                                    _kv("bongsu.build.package", f"shop-{service}=={version}+src.{revision[:12]}")])
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=resource,
                                                                scope_logs=[ScopeLogs(log_records=records)])])
