"""The catalog model: the demo parses, and every mistake is located by file and path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bongsu.catalog import DEFAULT_CATALOG, TIERS, CatalogError, Duration, load_catalog, parse_catalog

MINIMAL = """
slack:
  default_channel: "#alerts"
teams:
  - name: payments
    slack_channel: "#payments-oncall"
services:
  - name: payments
    team: payments
    slos:
      - name: availability
        sli: http_availability
        objective: 99.9
        window: 30d
      - name: latency
        sli: http_latency
        threshold: 250ms
        objective: 99
        window: 30d
"""


def mutate(path: list, value: object) -> str:
    data = yaml.safe_load(MINIMAL)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return yaml.safe_dump(data)


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text, "cat.yaml")
    return caught.value.problems


def test_the_issue_contract_shape_parses() -> None:
    catalog = parse_catalog(MINIMAL)
    slo = catalog.services[0].slos[1]
    assert slo.threshold == Duration.parse("250ms") and slo.error_budget == 0.01
    assert catalog.services[0].slo_alert(slo) == "PaymentsLatencyBudgetBurn"


def test_demo_catalog_is_the_default() -> None:
    catalog = load_catalog()
    assert catalog.source == str(DEFAULT_CATALOG)
    assert {s.name for s in catalog.services} >= {"orders", "payments"}


@pytest.mark.parametrize("path,value,where,words", [
    (["services", 0, "slos", 0, "objective"], 100, "services[0].slos[0].objective", "below 100"),
    (["services", 0, "slos", 0, "objective"], 0, "services[0].slos[0].objective", "above 0"),
    (["services", 0, "slos", 0, "objective"], 120, "services[0].slos[0].objective", "below 100"),
    (["services", 0, "slos", 0, "sli"], "http_magic", "services[0].slos[0].sli", "http_availability"),
    (["services", 0, "slos", 0, "window"], "30x", "services[0].slos[0].window", "malformed duration"),
    (["services", 0, "slos", 1, "threshold"], "300ms", "services[0].slos[1].threshold", "bucket boundary"),
    (["teams", 0, "slack_channel"], KeyError, "teams[0].slack_channel", "missing"),
    (["services", 0, "team"], "nobody", "services[0].team", "unknown team"),
    (["services", 0, "colour"], "blue", "services[0].colour", "unknown key"),
])
def test_mistakes_are_located(path: list, value: object, where: str, words: str) -> None:
    found = problems(mutate(path, value))
    assert any(p == where and words in m for p, m in found), found


def test_duplicate_names_are_located() -> None:
    data = yaml.safe_load(MINIMAL)
    data["services"].append(dict(data["services"][0]))
    found = problems(yaml.safe_dump(data))
    assert ("services[1].name", "duplicate name 'payments'") in found


def test_invalid_yaml_names_the_line() -> None:
    found = problems("slack: [unclosed\n")
    assert found[0][0].startswith("line ")


def test_tier_windows_scale_with_the_window_and_factors_stay() -> None:
    from bongsu.catalog import scaled_tiers

    assert [t.factor() for t in TIERS] == [14.4, 6.0, 3.0, 1.0]
    assert scaled_tiers(Duration.parse("30d")) == TIERS
    assert [t.windows for t in scaled_tiers(Duration.parse("28d"))] == ["56m/5m", "336m/28m", "1344m/112m", "4032m/336m"]
    assert [t.factor() for t in scaled_tiers(Duration.parse("28d"))] == [14.4, 6.0, 3.0, 1.0]


@pytest.mark.parametrize("text,ms,spelled", [("30d", 2_592_000_000, "30d"), ("1h30m", 5_400_000, "90m"),
                                             ("250ms", 250, "250ms"), ("5m", 300_000, "5m")])
def test_durations(text: str, ms: int, spelled: str) -> None:
    assert Duration.parse(text).ms == ms and str(Duration.parse(text)) == spelled


def test_cli_reports_catalog_errors_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text(mutate(["services", 0, "slos", 0, "objective"], 100))
    result = subprocess.run([sys.executable, "-m", "bongsu", "build", "--catalog", str(bad), "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"{bad}: services[0].slos[0].objective:" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_a_missing_catalog(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bongsu", "check", "--catalog", str(tmp_path / "nope.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "cannot read the catalog" in result.stderr
    assert "Traceback" not in result.stderr


def test_slack_channel_ids_are_accepted_and_nonsense_is_not() -> None:
    assert parse_catalog(mutate(["teams", 0, "slack_channel"], "C0123ABCDEF")).teams[0].slack_channel == "C0123ABCDEF"
    found = problems(mutate(["teams", 0, "slack_channel"], "Payments On Call"))
    assert found[0][0] == "teams[0].slack_channel" and "channel name" in found[0][1]
