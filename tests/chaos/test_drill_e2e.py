"""Real drills against the real local stack (Prometheus, Alertmanager, notifier, shop, load).

The target-down drill is the fastest complete one (about two minutes: the rule's `for` is 1m and the
alert resolves on the next good scrape); SLO burn drills need their 5m window to drain (about six
minutes each) and run in `bongsu drill --all` (docs/chaos.md has a recorded matrix).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from bongsu import observe
from bongsu.stack import Stack
from chaos import prometheus
from chaos.drill import run_drill
from chaos.experiments import experiments
from chaos.postmortem import write_postmortem
from chaos.stackfile import read_stack_file

pytestmark = pytest.mark.e2e


def _stack_file(stack: Stack) -> Path:
    return stack.run_dir / "stack.json"


def _scrape_targets(stack: Stack, job: str) -> list[str]:
    config = yaml.safe_load(Path(prometheus.config_file(stack.urls["prometheus"])).read_text())
    return [t for j in config["scrape_configs"] if j["job_name"] == job for g in j["static_configs"]
            for t in g["targets"]]


def test_target_down_drill_detects_notifies_and_resolves(demo_stack: Stack, tmp_path: Path) -> None:
    experiment = experiments(demo_stack.settings.catalog)["payments-target-down"]
    original = _scrape_targets(demo_stack, "payments")

    result = run_drill(experiment, _stack_file(demo_stack), tmp_path)

    journal = json.loads(result.journal_path.read_text())
    assert journal["status"] == "completed" and not journal["deviated"], result.reason
    assert result.verdict == "detected", (result.reason, journal.get("bongsu"))
    measured = journal["bongsu"]
    # The three intervals were measured, are positive and within their bounds.
    for key in ("detect_s", "notify_s", "resolve_s"):
        assert 0 < measured["intervals"][key] <= measured["bounds"][key], (key, measured)
    # The floor came from the live configuration: the rule's `for` (1m) and the page route's group_wait.
    parts = measured["floors"]["parts"]
    assert parts["for_s"] == 60 and parts["scrape_interval_s"] == demo_stack.settings.scrape_interval.seconds
    assert parts["group_wait_s"] == demo_stack.settings.page_group_wait.seconds
    # Detection cannot beat `for`; notification cannot beat group_wait by more than the polling.
    assert measured["intervals"]["detect_s"] >= parts["for_s"]
    assert measured["intervals"]["notify_s"] >= parts["group_wait_s"] - 1.5
    # The fault was targeted: the other service's scrape target never went down. (Other alerts may
    # legitimately start firing when the session's stack is shared with earlier incidents.)
    assert not [a for a in measured["extra_alerts"] if a.startswith("OrdersTargetDown")]
    # Rollbacks ran (strategy always) and Prometheus scrapes the real target again.
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert _scrape_targets(demo_stack, "payments") == original

    # The post-mortem draft has every section, the drill's timeline and a graph.
    stack = read_stack_file(_stack_file(demo_stack))
    start = measured["moments"]["injected"] - 60
    draft = write_postmortem(demo_stack.settings.catalog, stack, start, measured["moments"]["resolved"] + 20,
                             tmp_path / "pm.md", journal)
    text = draft.read_text()
    for heading in ("## Summary", "## Impact", "## Timeline", "## Detection", "## Graphs", "## Links",
                    "## Action items"):
        assert heading in text
    assert "PaymentsTargetDown (service=payments, severity=page) firing" in text
    assert "delivered to #payments-oncall" in text
    assert "runbooks/PaymentsTargetDown.md" in text
    assert (tmp_path / "pm-payments-burn.png").stat().st_size > 1000


def _with_detect_timeout(experiment: dict, seconds: float) -> dict:
    changed = copy.deepcopy(experiment)
    for step in changed["method"]:
        arguments = step["provider"]["arguments"]
        if step["provider"]["func"] == "alert_reaches_state" and arguments.get("state") == "firing":
            arguments["timeout_s"] = seconds
    return changed


def test_a_missed_alert_stops_the_drill_and_still_rolls_back(demo_stack: Stack, tmp_path: Path) -> None:
    experiment = _with_detect_timeout(experiments(demo_stack.settings.catalog)["orders-target-down"], 2)
    original = _scrape_targets(demo_stack, "orders")

    result = run_drill(experiment, _stack_file(demo_stack), tmp_path)

    journal = json.loads(result.journal_path.read_text())
    assert result.verdict == "missed" and not result.passed and not result.stop_requested
    assert journal["status"] in ("interrupted", "aborted")
    assert "OrdersTargetDown fires" in result.reason
    # The control stopped the run at the miss: no later step ran, but the rollback did.
    assert [r["activity"]["provider"]["func"] for r in journal["run"]] == ["make_target_unreachable",
                                                                           "alert_reaches_state"]
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert _scrape_targets(demo_stack, "orders") == original


def test_safeguard_aborts_when_real_traffic_burns(demo_stack: Stack, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A limit of 0: any burn rate of the untouched service (orders, for a payments drill) is over it.
    monkeypatch.setenv("BONGSU_SAFEGUARD_BURN_LIMIT", "0")
    experiment = experiments(demo_stack.settings.catalog)["payments-target-down"]
    original = _scrape_targets(demo_stack, "payments")

    result = run_drill(experiment, _stack_file(demo_stack), tmp_path)

    journal = json.loads(result.journal_path.read_text())
    assert journal["status"] == "interrupted"
    assert not result.passed and not result.stop_requested
    assert "safeguard 'orders/availability real traffic under the safeguard limit'" in result.reason \
        or "safeguard 'orders/latency real traffic under the safeguard limit'" in result.reason, result.reason
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert _scrape_targets(demo_stack, "payments") == original


def test_probes_return_plain_values(demo_stack: Stack) -> None:
    from chaos import probes

    configuration = {"bongsu_stack": str(_stack_file(demo_stack))}
    # An earlier drill on this stack may have just restored a target: give Prometheus a scrape to see it.
    observe.wait_for(lambda: probes.query_value('sum(up{job=~"orders|payments"})', configuration) == 2.0,
                     60, "both shop targets up")
    value = probes.query_value('sum(up{job=~"orders|payments"})', configuration)
    assert isinstance(value, float) and value == 2.0
    assert probes.query_compare('sum(up{job=~"orders|payments"})', ">=", 2, configuration=configuration) is True
    assert probes.query_compare('sum(up{job=~"orders|payments"})', ">", 2, configuration=configuration) is False
    rate = probes.burn_rate("orders", "availability", "5m", configuration)
    assert isinstance(rate, float) and rate >= 0
    assert probes.alert_state("NoSuchAlert", {"service": "orders"}, configuration=configuration) == "inactive"
