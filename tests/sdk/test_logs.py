"""The JSON log pipeline: trace correlation, identity, stdlib interception and PII redaction."""

from __future__ import annotations

import logging

import pytest
from loguru import logger
from opentelemetry import trace

import instrumentation
from instrumentation.redaction import Redactor
from instrumentation.settings import ConfigError


def test_records_in_a_span_carry_trace_ids_and_identity(sdk):
    handle = sdk(service_version="2.0.0", environment="staging")
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logger.info("inside {}", "span")
        logging.getLogger("legacy.module").warning("from stdlib %s", 42)
    logger.info("outside")
    lines = handle.lines()
    inside, stdlib, outside = lines[-3:]
    context = span.get_span_context()
    for line in (inside, stdlib):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    assert inside["message"] == "inside span" and inside["level"] == "INFO"
    assert stdlib["message"] == "from stdlib 42" and stdlib["logger"] == "legacy.module"
    assert stdlib["level"] == "WARNING"
    assert "trace_id" not in outside
    for line in lines[-3:]:
        assert line["service.name"] == "payments"
        assert line["service.version"] == "2.0.0"
        assert line["deployment.environment"] == "staging"
        assert line["service.instance.id"]
        assert line["time"].endswith("Z")


def test_pii_is_redacted_in_messages_extras_and_exceptions(sdk):
    handle = sdk(redact_patterns=[r"secret-\w+"])
    logger.bind(customer="jane.doe@example.com").info(
        "paid with 4111 1111 1111 1111 by jane.doe@example.com token secret-abc order 1234567890123")
    try:
        raise ValueError("card 5500-0000-0000-0004 declined")
    except ValueError:
        logger.exception("failed")
    paid, failed = handle.lines()[-2:]
    assert paid["message"] == "paid with [REDACTED] by [REDACTED] token [REDACTED] order 1234567890123"
    assert paid["customer"] == "[REDACTED]"
    assert failed["exception"]["type"] == "ValueError"
    assert "5500" not in failed["exception"]["message"]


def test_redaction_can_be_turned_off(sdk):
    handle = sdk(redact=False)
    logger.info("mail me at a@b.io")
    assert handle.lines()[-1]["message"] == "mail me at a@b.io"


def test_redactor_keeps_non_card_numbers():
    redact = Redactor()
    assert redact("order 4111111111111112 ts 1700000000000") == "order 4111111111111112 ts 1700000000000"
    assert redact("card 4111111111111111") == "card [REDACTED]"
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        Redactor(["("])


def test_bad_configuration_names_the_setting(sdk, monkeypatch):
    monkeypatch.setenv("BONGSU_FLUENT_ADDRESS", "nohostport")
    with pytest.raises(ConfigError, match="BONGSU_FLUENT_ADDRESS"):
        instrumentation.init(service_name="x")
    monkeypatch.delenv("BONGSU_FLUENT_ADDRESS")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        instrumentation.init(service_name="x")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL")
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "lots")
    with pytest.raises(ConfigError, match="OTEL_BSP_MAX_QUEUE_SIZE"):
        instrumentation.init(service_name="x")


def test_init_is_idempotent_and_reads_otel_env(sdk, monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.version=9.9,deployment.environment=prod,team=shop")
    handle = sdk(service_name=None)
    first = instrumentation.init()
    assert instrumentation.init(service_name="ignored") is first
    assert first.identity == {"service.name": "from-env", "service.version": "9.9",
                              "deployment.environment": "prod", "service.instance.id": first.identity[
                                  "service.instance.id"],
                              # build identity: tested in test_build_identity.py
                              "vcs.ref.head.revision": first.identity["vcs.ref.head.revision"],
                              "bongsu.build.package": first.identity["bongsu.build.package"]}
    assert first.resource.attributes["team"] == "shop"
    logger.info("hello")
    assert handle.lines()[-1]["service.name"] == "from-env"


def test_sampler_from_env(sdk, monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    handle = sdk()
    with trace.get_tracer("t").start_as_current_span("s") as span:
        logger.info("unsampled")
    assert not span.get_span_context().trace_flags.sampled
    assert int(handle.lines()[-1]["trace_flags"], 16) & 1 == 0  # sampled bit off


def test_sdk_disabled_keeps_metrics_and_logs(sdk, monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = sdk()
    from instrumentation import lifecycle

    assert lifecycle.current().provider is None
    logger.info("still logging")
    assert handle.lines()[-1]["message"] == "still logging"


def test_a_broken_record_or_stream_never_reaches_the_caller(sdk):
    from starlette.testclient import TestClient

    from tests.sdk.apps import starlette_app
    from tests.sdk.conftest import sample

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    stream = __import__("io").StringIO()
    sdk(log_stream=stream)
    before = sample("bongsu_sdk_dropped_total", signal="logs", reason="format_error")
    logger.bind(thing=Unprintable()).info("with a bad extra")  # must not raise
    assert sample("bongsu_sdk_dropped_total", signal="logs", reason="format_error") == before + 1
    stream.close()  # stdout gone (a closed pipe): requests still succeed, the loss is counted
    before = sample("bongsu_sdk_dropped_total", signal="logs", reason="stdout_error")
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))
    assert client.get("/items/1").status_code == 200
    assert sample("bongsu_sdk_dropped_total", signal="logs", reason="stdout_error") > before
