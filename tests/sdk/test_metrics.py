"""RED metrics, exemplars, exposition formats, the cardinality guard and the typed helpers."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from starlette.testclient import TestClient

import instrumentation
from bongsu.catalog import DEFAULT_BUCKETS
from instrumentation.guard import OVERFLOW, LabelGuard
from tests.sdk.apps import fastapi_app, starlette_app
from tests.sdk.conftest import run_python, sample

H = "http_server_request_duration_seconds"


def _count(method: str, route: str, status: str, registry: CollectorRegistry = REGISTRY) -> float:
    return registry.get_sample_value(f"{H}_count", {"http_request_method": method, "http_route": route,
                                                    "http_response_status_code": status}) or 0.0


def test_route_templates_not_raw_paths():
    registry = CollectorRegistry()  # injected: no process-wide re-initialisation
    client = TestClient(instrumentation.instrument_asgi(starlette_app(), registry=registry),
                        raise_server_exceptions=False)
    before = {k: _count(*k, registry) for k in [("GET", "/items/{item_id}", "200"), ("GET", "unmatched", "404"),
                                      ("GET", "/boom", "500"), ("POST", "/teapot", "418"),
                                      ("GET", "/api/v1/users/{name}", "200"), ("DELETE", "/teapot", "405"),
                                      ("GET", "/static/{path}", "200")]}
    for item in (1, 2, 3):
        assert client.get(f"/items/{item}").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    assert client.get("/another/missing").status_code == 404
    assert client.get("/boom").status_code == 500
    assert client.post("/teapot").status_code == 418
    assert client.get("/api/v1/users/alice").status_code == 200
    assert client.delete("/teapot").status_code == 405
    assert client.get("/api/v1/nobody/here").status_code == 404  # inside a mounted router: unmatched
    assert client.get("/static/css/site.css").status_code == 200  # a mounted plain ASGI app
    after = {k: _count(*k, registry) for k in before}
    assert {k: after[k] - before[k] for k in before} == {
        ("GET", "/items/{item_id}", "200"): 3, ("GET", "unmatched", "404"): 3, ("GET", "/boom", "500"): 1,
        ("POST", "/teapot", "418"): 1, ("GET", "/api/v1/users/{name}", "200"): 1, ("DELETE", "/teapot", "405"): 1,
        ("GET", "/static/{path}", "200"): 1}
    assert _count("GET", "/items/1", "200", registry) == 0


def test_health_and_metrics_paths_are_not_measured_and_active_gauge_returns_to_zero():
    registry = CollectorRegistry()
    client = TestClient(instrumentation.instrument_asgi(starlette_app(), registry=registry))
    for path in ("/metrics", "/livez", "/readyz"):
        assert client.get(path).status_code == 200
    assert sum(_count("GET", r, "200", registry) for r in ("/metrics", "/livez", "/readyz", "unmatched")) == 0
    assert client.get("/items/1").status_code == 200
    assert _count("GET", "/items/{item_id}", "200", registry) == 1
    assert registry.get_sample_value("http_server_active_requests", {"http_request_method": "GET"}) == 0
    assert f"{H}_count".encode() in client.get("/metrics").content  # the injected registry is served


def test_sdk_buckets_match_the_catalog():
    from instrumentation.red import ADVISED_BUCKETS

    assert ADVISED_BUCKETS == DEFAULT_BUCKETS


def test_buckets_are_the_advised_ones_plus_extras():
    # The histogram lives for the process, so check a fresh one.
    out = run_python("""
import instrumentation, io
from prometheus_client import REGISTRY
instrumentation.init(service_name="x", extra_buckets=[0.3, 0.005], log_stream=io.StringIO())
metric = REGISTRY._names_to_collectors["http_server_request_duration_seconds"]
print(",".join(str(b) for b in metric._upper_bounds))
""")
    assert [float(b) for b in out.strip().split(",")] == sorted({*DEFAULT_BUCKETS, 0.3}) + [float("inf")]


def test_exemplars_carry_the_trace_id_in_openmetrics_only(sdk):
    handle = sdk()
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))
    client.get("/items/42")
    trace_id = next(line["trace_id"] for line in handle.lines() if line["message"] == "item 42")
    om = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert f'# {{trace_id="{trace_id}"}}' in om.text
    plain = client.get("/metrics")
    assert plain.headers["content-type"].startswith("text/plain")
    assert "trace_id=" not in plain.text


def test_metrics_token_protects_metrics(sdk):
    sdk(metrics_token="s3cret")
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_fastapi_routes_and_process_metrics(sdk):
    sdk()
    client = TestClient(instrumentation.instrument_asgi(fastapi_app()))
    before = _count("GET", "/items/{item_id}", "200")
    client.get("/items/5")
    assert _count("GET", "/items/{item_id}", "200") == before + 1
    text = client.get("/metrics").text
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_info", "python_gc_",
                 "target_info", "bongsu_sdk_dropped_total"):
        assert name in text, name
    assert 'service_name="payments"' in text


def test_guard_folds_overflow_into_one_marked_series_and_counts_it():
    from prometheus_client import CollectorRegistry, Counter

    registry = CollectorRegistry()
    metric = Counter("guard_test", "test", ["user"], registry=registry)
    guard = LabelGuard(metric, "guard_test", 1, max_series=3)
    overflow_before = sample("bongsu_sdk_cardinality_overflow_total", metric="guard_test")
    for user in ("a", "b", "c", "d", "e", "a"):
        guard.child((user,)).inc()
    assert guard.series == 4  # three real ones plus the overflow series
    values = {s.labels["user"]: s.value for s in registry.collect().__next__().samples if s.name == "guard_test_total"}
    assert values == {"a": 2, "b": 1, "c": 1, OVERFLOW: 2}
    assert sample("bongsu_sdk_cardinality_overflow_total", metric="guard_test") - overflow_before == 2


def test_http_histogram_is_guarded_at_the_default_cap(sdk):
    from instrumentation import lifecycle

    sdk()
    assert lifecycle.current().red._guard.max_series == 2000  # noqa: SLF001 - the test reads the SDK's internal state on purpose


def test_typed_counter_and_histogram():
    counter = instrumentation.Counter("sdk_test_orders_total", "orders", labels=["result"],
                                      allowed={"result": ["ok", "failed"]}, max_series=10)
    counter.inc(result="ok")
    counter.inc(2, result="ok")
    counter.inc(result="weird")
    counter.inc(result="ok", extra="x")  # unknown label: dropped and counted, not raised
    counter.inc()  # missing label: dropped and counted
    assert sample("sdk_test_orders_total", result="ok") == 3
    assert sample("sdk_test_orders_total", result="__other__") == 1
    assert sample("bongsu_sdk_dropped_total", signal="metrics", reason="unknown_label") >= 1
    assert sample("bongsu_sdk_dropped_total", signal="metrics", reason="missing_label") >= 1
    histogram = instrumentation.Histogram("sdk_test_step_seconds", "step", labels=["step"], buckets=[0.1, 1])
    histogram.observe(0.05, step="charge")
    assert sample("sdk_test_step_seconds_bucket", step="charge", le="0.1") == 1
    with pytest.raises(ValueError, match="undeclared labels"):
        instrumentation.Counter("sdk_test_bad_total", "bad", labels=["a"], allowed={"b": ["x"]})


def test_experiment_is_sticky_and_counts_per_variant():
    exp = instrumentation.Experiment("sdk-test-button", ["control", "one-click"])
    assignments = {f"user-{i}": exp.variant_for(f"user-{i}") for i in range(400)}
    assert all(exp.variant_for(s) == v for s, v in assignments.items())  # sticky
    shares = list(assignments.values()).count("control") / len(assignments)
    assert 0.4 < shares < 0.6  # both variants get traffic
    converted = [s for s in assignments if s.endswith("7")]
    for subject in converted:
        exp.convert(subject)
    for variant in ("control", "one-click"):
        assert sample("bongsu_experiment_exposures_total", experiment="sdk-test-button", variant=variant) == \
            2 * list(assignments.values()).count(variant)
        assert sample("bongsu_experiment_conversions_total", experiment="sdk-test-button", variant=variant) == \
            sum(1 for s in converted if assignments[s] == variant)
    weighted = instrumentation.Experiment("sdk-test-weighted", ["a", "b"], weights=[0, 1])
    assert {weighted.assignment(str(i)) for i in range(50)} == {"b"}
    with pytest.raises(ValueError, match="at least two distinct variants"):
        instrumentation.Experiment("bad", ["only"])


def test_typed_counter_stays_bounded_under_hostile_values():
    counter = instrumentation.Counter("sdk_test_hostile_total", "hostile", labels=["kind", "user"],
                                      allowed={"kind": ["a"]}, max_series=5)
    for index in range(200):
        counter.inc(kind=f"k{index}", user=f"u{index}")  # disallowed kinds and unbounded users
    counter.inc(kind="a", user=["not", "hashable"])  # str()ed, never raised
    assert counter._guard.series <= 6  # noqa: SLF001 - five label sets plus the overflow series
    assert len(counter._fast) <= 4 * 5  # noqa: SLF001 - the test reads the SDK's internal state on purpose
    assert sample("sdk_test_hostile_total", kind="__overflow__", user="__overflow__") > 0
    assert sample("bongsu_sdk_cardinality_overflow_total", metric="sdk_test_hostile_total") >= 195


def test_extra_excluded_paths_reach_the_app_unmeasured(sdk):
    sdk(excluded_paths=["/items/9"])
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))
    before = _count("GET", "/items/{item_id}", "200")
    assert client.get("/items/9").json() == {"id": 9}  # served by the app
    assert _count("GET", "/items/{item_id}", "200") == before
    client.get("/items/8")
    assert _count("GET", "/items/{item_id}", "200") == before + 1
