"""`POST /v1/logs` on a real notifier process: OTLP error reports in, stored; bad input refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from notifier.store_sqlite import SQLiteStore
from tests.notifier.conftest import WEBHOOK_TOKEN, NotifierProcess
from tests.recovery.otlp import error_record, export_request

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def notifier(tmp_path_factory) -> Iterator[NotifierProcess]:
    process = NotifierProcess(tmp_path_factory.mktemp("otlp"), None).start()
    yield process
    process.stop()


def _stored(notifier: NotifierProcess, service: str) -> list[dict]:
    answer = httpx.get(f"{notifier.url}/api/error-reports", params={"service": service}, timeout=10,
                       headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
    answer.raise_for_status()
    return answer.json()


def test_protobuf_reports_are_stored_field_by_field(notifier: NotifierProcess) -> None:
    body = export_request([error_record(count=3), LogRecord(severity_text="INFO")], service="proto-svc")
    answer = notifier.post("/v1/logs", body.SerializeToString(), **PROTOBUF)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-protobuf"
    parsed = ExportLogsServiceResponse.FromString(answer.content)
    assert parsed.partial_success.rejected_log_records == 1  # the INFO record is not an error report
    [report] = _stored(notifier, "proto-svc")
    assert (report["type"], report["message"]) == ("KeyError", "'amex'")
    assert (report["file"], report["line"], report["function"]) == ("examples/shop/fees_1_5_0.py", 22, "fee_cents")
    assert report["source"] == "rate = NETWORK_FEE_BPS[network(card_number)]"
    assert (report["version"], report["revision"][:7]) == ("1.5.0", "9b74186")
    assert report["package"].startswith("shop-proto-svc==1.5.0+src.")
    assert (report["method"], report["route"], report["status"]) == ("POST", "/charges", 500)
    assert report["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and report["span_id"] == "00f067aa0ba902b7"
    assert report["frames"][0]["culprit"] is True and report["breadcrumbs"][0]["message"] == "charging order 7"
    assert report["request"]["body"].startswith('{"order_id": 7')
    assert report["count"] == 3


def test_otlp_json_with_hex_ids_is_accepted(notifier: NotifierProcess) -> None:
    document = json_format.MessageToDict(export_request([error_record()], service="json-svc"))
    record = document["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    record["traceId"], record["spanId"] = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"  # OTLP JSON: hex
    answer = notifier.post("/v1/logs", json.dumps(document).encode(), **{"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    [report] = _stored(notifier, "json-svc")
    assert report["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_malformed_body_is_400_and_stores_nothing(notifier: NotifierProcess) -> None:
    answer = notifier.post("/v1/logs", b"\xff\xffnot protobuf", **PROTOBUF)
    assert answer.status_code == 400 and "ExportLogsServiceRequest" in answer.json()["error"]
    answer = notifier.post("/v1/logs", b"{not json", **{"Content-Type": "application/json"})
    assert answer.status_code == 400


def test_missing_or_wrong_token_is_401(notifier: NotifierProcess) -> None:
    body = export_request([error_record()], service="no-token").SerializeToString()
    assert notifier.post("/v1/logs", body, token=None, **PROTOBUF).status_code == 401
    assert notifier.post("/v1/logs", body, token="wrong", **PROTOBUF).status_code == 401
    assert _stored(notifier, "no-token") == []


def test_oversized_body_is_413(notifier: NotifierProcess) -> None:
    answer = notifier.post("/v1/logs", b"\0" * (1024 * 1024 + 1), **PROTOBUF)
    assert answer.status_code == 413


def test_other_content_types_are_415(notifier: NotifierProcess) -> None:
    assert notifier.post("/v1/logs", b"x", **{"Content-Type": "text/plain"}).status_code == 415


def test_retention_is_bounded(tmp_path: Path) -> None:
    from notifier import recovery_store
    from notifier.otlp_logs import reports

    store = SQLiteStore(tmp_path / "state.sqlite")
    found, _ = reports(export_request([error_record()], service="old"))
    store.add_reports(found, now=1000.0)
    store.add_reports(found, now=1000.0 + recovery_store.RETENTION_S + 1)
    assert store.report_count() == 1  # the first is past retention
    store.close()


def test_real_sdk_error_reports_from_payments_1_5_0(notifier: NotifierProcess, tmp_path: Path) -> None:
    """The shop's bad build, instrumented by the real SDK, reports its bug to the notifier."""
    import sys

    from bongsu.processes import Child, free_port
    from examples.shop.releases import build, known_bug

    bad, bug = build("payments", "1.5.0"), known_bug("payments", "1.5.0")
    port = free_port()
    repo = Path(__file__).resolve().parents[2]
    child = Child("payments", [sys.executable, "-m", "uvicorn", "examples.shop.payments:app", "--host", "127.0.0.1",
                               "--port", str(port), "--log-level", "warning"], tmp_path / "payments.log",
                  health_url=f"http://127.0.0.1:{port}/livez", cwd=repo,
                  env={**bad.environment(), "OTEL_SERVICE_NAME": "payments", "BONGSU_FAULT_TOKEN": "x",
                       "BONGSU_ERROR_REPORTS_URL": f"{notifier.url}/v1/logs",
                       "BONGSU_ERROR_REPORTS_TOKEN": WEBHOOK_TOKEN})
    child.start()
    try:
        child.wait_healthy(timeout=60)
        answer = httpx.post(f"http://127.0.0.1:{port}/charges", timeout=10,
                            json={"order_id": 7, "amount_cents": 1000, "card_number": "378282246310005"})
        assert answer.status_code == 500
        deadline = time.monotonic() + 30
        found: list[dict] = []
        while not found and time.monotonic() < deadline:
            found = _stored(notifier, "payments")
            time.sleep(0.2)
        assert found, f"no report from the SDK within 30s; payments log: {child.log_tail(10)}"
    finally:
        child.stop()
    report = found[0]
    assert report["type"].endswith(bug.exception_type) and report["message"] == "'amex'"
    assert report["file"].endswith(bug.file) and report["line"] == bug.line and report["function"] == "fee_cents"
    assert report["source"] == "rate = NETWORK_FEE_BPS[network(card_number)]"
    assert (report["version"], report["revision"], report["package"]) == ("1.5.0", bad.revision, bad.package)
    assert (report["method"], report["route"], report["status"]) == ("POST", "/charges", 500)
    assert len(report["trace_id"]) == 32 and "378282246310005" not in json.dumps(report)  # card number redacted
