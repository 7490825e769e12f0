"""/livez and /readyz: application/health+json, pluggable checks, on ASGI and WSGI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from werkzeug.test import Client

import instrumentation
from tests.sdk.apps import flask_app, starlette_app


@pytest.fixture(autouse=True)
def no_checks() -> Iterator[None]:
    from instrumentation import health

    health._checks.clear()  # noqa: SLF001 - checks are process-wide; isolate tests
    yield
    health._checks.clear()  # noqa: SLF001 - the test reads the SDK's internal state on purpose


def _clients():
    return (TestClient(instrumentation.instrument_asgi(starlette_app())),
            Client(instrumentation.instrument_wsgi(flask_app().wsgi_app)))


def test_pass_without_checks(sdk):
    sdk()
    for client in _clients():
        for path in ("/livez", "/readyz"):
            response = client.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/health+json"
            body = response.json if isinstance(response.json, dict) else response.json()
            assert body["status"] == "pass" and body["description"] == "payments"


def test_worst_check_wins_and_failures_say_why(sdk):
    sdk()

    async def database() -> bool:
        return True

    def cache() -> str:
        return "warn"

    def downstream() -> bool:
        raise ConnectionError("payments unreachable")

    def slow() -> bool:
        time.sleep(1)
        return True

    async def slow_async() -> bool:
        await asyncio.sleep(1)
        return True

    instrumentation.add_readiness_check("database", database)
    instrumentation.add_readiness_check("cache", cache)
    for client in _clients():
        response = client.get("/readyz")
        body = response.json if isinstance(response.json, dict) else response.json()
        assert response.status_code == 200 and body["status"] == "warn"
        assert body["checks"]["database"][0]["status"] == "pass"
        assert body["checks"]["cache"][0]["status"] == "warn"
    instrumentation.add_readiness_check("downstream", downstream)
    instrumentation.add_readiness_check("slow", slow, timeout=0.2)
    instrumentation.add_readiness_check("slow_async", slow_async, timeout=0.2)
    for client in _clients():
        response = client.get("/readyz")
        body = response.json if isinstance(response.json, dict) else response.json()
        assert response.status_code == 503 and body["status"] == "fail"
        assert body["checks"]["downstream"][0]["output"] == "ConnectionError: payments unreachable"
        assert body["checks"]["slow"][0]["output"] == "timed out after 0.2s"
        assert body["checks"]["slow_async"][0]["output"] == "timed out after 0.2s"
        # Liveness does not run readiness checks: a broken dependency must not restart the pod.
        assert client.get("/livez").status_code == 200
    instrumentation.remove_readiness_check("downstream")
    instrumentation.remove_readiness_check("slow")
    instrumentation.remove_readiness_check("slow_async")
    assert _clients()[0].get("/readyz").status_code == 200


def test_readiness_probe_calls_are_not_traced(sdk, otlp, monkeypatch):
    import httpx

    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    sdk(otlp_endpoint=otlp.endpoint)

    async def downstream() -> bool:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{otlp.endpoint}/")).status_code < 600

    def downstream_sync() -> bool:
        return httpx.get(f"{otlp.endpoint}/").status_code < 600

    instrumentation.add_readiness_check("downstream", downstream)
    instrumentation.add_readiness_check("downstream_sync", downstream_sync)
    asgi, wsgi = _clients()
    assert asgi.get("/readyz").status_code == 200
    assert wsgi.get("/readyz").status_code == 200
    asgi.get("/items/1")  # a traced request, to know when the exports have arrived
    otlp.wait_for(lambda spans: any(s.attributes.get("url.path") == "/items/1" and s.kind == 2 for s in spans))
    instrumentation.shutdown(timeout=2)
    assert not [s for s in otlp.spans if s.attributes.get("url.full", "").startswith(otlp.endpoint)]
