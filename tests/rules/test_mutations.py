"""Proof that the generated tests would catch a wrong window: each mutation rewrites one window in a copy
of the generated rules (a recording over another range, or a tier reading another recording for its long
or short window), and `promtool test rules` on the generated tests must then fail."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from bongsu.catalog import SLO, Catalog, Duration, error_ratio_record, parse_catalog, request_rate_record
from alert_rules import generate
from alert_rules.rule_tests import mutations, shape, survivors

from tests.rules.conftest import options, promtool_test

CATALOG = """
slack: {default_channel: "#alerts"}
teams: [{name: web, slack_channel: "#web"}]
services:
  - name: api
    team: web
    slos:
      - {name: month, sli: http_availability, objective: 99.9, window: 30d}
      - {name: week, sli: http_latency, threshold: 250ms, objective: 99, window: 7d}
"""
PROMTOOL_PROCESSES = 2  # the machines running the suite have two cores


def _neighbour(windows: list[Duration], window: Duration, longer: bool) -> Duration:
    """The next longer (or shorter) recorded window; at the end of the list, the other way."""
    at = windows.index(window)
    step = 1 if longer else -1
    return windows[at + step] if 0 <= at + step < len(windows) else windows[at - step]


def window_mutations(slo: SLO) -> list[tuple[str, str, str, str]]:
    """(what, rule selector, old text, new text): each recording over the next longer window, each tier's
    long clause reading the next shorter recording and its short clause the next longer one.
    (`test_the_plan_catches_every_window_mutation_of_the_model` covers every other window, in the model.)"""
    windows = slo.recording_windows
    found = []
    for window in windows:
        other = _neighbour(windows, window, longer=True)
        for record in (error_ratio_record(window), request_rate_record(window)):
            found.append((f"{record} over [{other}]", f"record:{record}", f"[{window}]", f"[{other}]"))
    for index, tier in enumerate(slo.burn_rate_tiers):
        for clause, window, longer in (("long", tier.long, False), ("short", tier.short, True)):
            other = _neighbour(windows, window, longer)
            found.append((f"tier {tier.windows} {clause} window read from {other}", f"alert:{index}:{clause}",
                          error_ratio_record(window) + "{", error_ratio_record(other) + "{"))
    return found


def _apply(rule_file: Path, slo: SLO, selector: str, old: str, new: str) -> None:
    data = yaml.safe_load(rule_file.read_text())
    (group,) = [g for g in data["groups"] if g["name"].endswith(f"-{slo.name}")]
    kind, _, rest = selector.partition(":")
    if kind == "record":
        (rule,) = [r for r in group["rules"] if r.get("record") == rest]
        assert old in rule["expr"]
        rule["expr"] = rule["expr"].replace(old, new)
    else:
        index, clause = rest.split(":")
        rule = [r for r in group["rules"] if "alert" in r][int(index)]
        lines = rule["expr"].split("\n")
        line = 0 if clause == "long" else 2  # `long > f` / `and on(service, slo)` / `short > f`
        assert lines[line].startswith(old), lines
        lines[line] = lines[line].replace(old, new, 1)
        rule["expr"] = "\n".join(lines)
    rule_file.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def built_api(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, Path]:
    catalog = parse_catalog(CATALOG)
    out = tmp_path_factory.mktemp("api")
    generate(catalog, options(out))
    return catalog, out


@pytest.mark.parametrize("slo_name", ["month", "week"])
def test_every_window_mutation_fails_the_generated_tests(built_api: tuple[Catalog, Path], tmp_path: Path,
                                                         slo_name: str) -> None:
    catalog, out = built_api
    service = catalog.service("api")
    slo = next(s for s in service.slos if s.name == slo_name)
    # Only this SLO's tests, for speed; the other SLO's rules are in the same file, untouched.
    tests = yaml.safe_load((out / "prometheus" / "tests" / "bongsu-api.slos.test.yaml").read_text())
    tests["tests"] = [t for t in tests["tests"] if t["name"].startswith(service.slo_alert(slo) + ":")]
    cases = window_mutations(slo)
    assert len(cases) == 2 * len(slo.recording_windows) + 2 * len(slo.burn_rate_tiers)

    def run(case: tuple[int, tuple[str, str, str, str]]) -> tuple[str, subprocess.CompletedProcess]:
        number, (what, selector, old, new) = case
        folder = tmp_path / f"m{number}"
        shutil.copytree(out / "prometheus", folder)
        test_file = folder / "tests" / "mutated.test.yaml"
        test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
        if selector:
            _apply(folder / "rules" / "bongsu-api.yaml", slo, selector, old, new)
        return what, promtool_test(test_file)

    with ThreadPoolExecutor(PROMTOOL_PROCESSES) as pool:
        results = list(pool.map(run, enumerate([("unmutated", "", "", ""), *cases])))
    (_, baseline), *mutated = results
    assert baseline.returncode == 0, baseline.stdout + baseline.stderr
    missed = [what for what, result in mutated if result.returncode == 0]
    assert not missed, f"{len(missed)} of {len(mutated)} window mutations passed the generated tests: {missed}"


def test_the_issue_s_mutations_fail_too(built_api: tuple[Catalog, Path], tmp_path: Path) -> None:
    """The three mutations the generated tests of old let through: the 6h/30m tier reading the 1h
    recording; the slower tiers' short clause dropped; the 2h/6h/1d/3d recordings over [1h]."""
    catalog, out = built_api
    slo = catalog.service("api").slos[0]
    rule_file = out / "prometheus" / "rules" / "bongsu-api.yaml"
    test_file = out / "prometheus" / "tests" / "bongsu-api.slos.test.yaml"
    variants = {
        "6h/30m reads ratio_rate1h": [("alert:1:long", "slo:sli_error:ratio_rate6h{", "slo:sli_error:ratio_rate1h{")],
        "short clause dropped": [(f"alert:{i}:short", error_ratio_record(t.short) + "{", error_ratio_record(t.long) + "{")
                                 for i, t in enumerate(slo.burn_rate_tiers) if i > 0],
        "long recordings over [1h]": [(f"record:{error_ratio_record(Duration.parse(w))}", f"[{w}]", "[1h]")
                                      for w in ("2h", "6h", "1d", "3d")],
    }
    for name, edits in variants.items():
        folder = tmp_path / name.replace("/", "-").replace(" ", "-")
        shutil.copytree(out / "prometheus", folder)
        for selector, old, new in edits:
            _apply(folder / "rules" / rule_file.name, slo, selector, old, new)
        result = promtool_test(folder / "tests" / test_file.name)
        assert result.returncode != 0, f"{name}: the generated tests still pass"


@pytest.mark.parametrize("window", ["3d", "7d", "28d", "30d", "90d"])
def test_the_plan_catches_every_window_mutation_of_the_model(window: str) -> None:
    """In the tests' own model of the rules, every mutation (each recording over every other window,
    each tier's clauses reading every other recording) changes some scenario's expected alerts."""
    catalog = parse_catalog(CATALOG.replace("window: 30d", f"window: {window}"))
    for slo in catalog.service("api").slos:
        assert mutations(shape(slo))
        assert survivors(shape(slo)) == [], (window, slo.name)
