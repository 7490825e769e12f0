"""The generated files through the real promtool and amtool, and proof that the generated tests bite:
a tier threshold moved either way, or a team route broken, makes them fail."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bongsu.catalog import TIERS, Catalog

from tests.rules.conftest import load_yaml, tool


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tool("promtool")), *args], capture_output=True, text=True, timeout=300)


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tool("amtool")), *args], capture_output=True, text=True, timeout=60)


def test_generated_rules_pass_promtool_check(built: Path) -> None:
    result = promtool("check", "rules", *map(str, sorted((built / "prometheus" / "rules").glob("*.yaml"))))
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_unit_tests_pass_and_cover_every_slo_scenario(built: Path, catalog: Catalog) -> None:
    tests = sorted((built / "prometheus" / "tests").glob("*.yaml"))
    result = promtool("test", "rules", *map(str, tests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(tests)
    for service in catalog.services:
        names = [t["name"] for t in
                 load_yaml(built / "prometheus" / "tests" / f"bongsu-{service.name}.slos.test.yaml")["tests"]]
        for slo in service.slos:
            alert = service.slo_alert(slo)
            ours = [n for n in names if n.startswith(alert)]
            for tier in slo.burn_rate_tiers:  # a burn just above and just below every tier's factor
                assert sum(f"just above the {tier.windows} {tier.severity} tier" in n for n in ours) == 1, ours
                assert sum(f"just below the {tier.windows} {tier.severity} tier" in n for n in ours) == 1, ours
            assert any("under the traffic floor" in n for n in ours)
            assert any("has reset" in n for n in ours)
            assert any("budget lasts the window -> nothing fires" in n for n in ours)


def _mutated_copy(built: Path, tmp_path: Path, alert: str = "PaymentsAvailabilityBudgetBurn") -> Path:
    """A copy of the built Prometheus files whose payments test file keeps only `alert`'s tests (speed)."""
    copy = tmp_path / "built"
    shutil.copytree(built / "prometheus", copy / "prometheus")
    test_file = copy / "prometheus" / "tests" / "bongsu-payments.slos.test.yaml"
    data = yaml.safe_load(test_file.read_text())
    data["tests"] = [t for t in data["tests"] if t["name"].startswith(alert)]
    test_file.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


def _set_factor(rule_file: Path, alert: str, long_window: str, new_factor: float) -> None:
    """Move one tier's threshold, as a generator bug would, leaving its tests as generated."""
    data = yaml.safe_load(rule_file.read_text())
    hits = 0
    for group in data["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert and rule["labels"]["long_window"] == long_window:
                lines = rule["expr"].split("\n")
                rule["expr"] = "\n".join(line.rsplit(" > ", 1)[0] + f" > {new_factor:g}" if " > " in line else line
                                         for line in lines)
                hits += 1
    assert hits == 1
    rule_file.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize("scale", [1.25, 0.8], ids=["threshold-too-high", "threshold-too-low"])
@pytest.mark.parametrize("tier", TIERS, ids=[f"{t.long}-{t.short}" for t in TIERS])
def test_a_wrong_tier_threshold_fails_the_generated_tests(built: Path, tmp_path: Path, catalog: Catalog,
                                                          tier, scale: float) -> None:
    service = catalog.service("payments")
    slo = service.slos[0]
    copy = _mutated_copy(built, tmp_path, service.slo_alert(slo))
    rule_file = copy / "prometheus" / "rules" / "bongsu-payments.yaml"
    _set_factor(rule_file, service.slo_alert(slo), str(tier.long), tier.factor(slo.window) * scale)
    assert promtool("check", "rules", str(rule_file)).returncode == 0  # still valid rules, just wrong
    result = promtool("test", "rules", str(copy / "prometheus" / "tests" / "bongsu-payments.slos.test.yaml"))
    assert result.returncode != 0, "the generated tests did not notice a wrong threshold"
    assert f"the {tier.windows} {tier.severity} tier" in result.stdout + result.stderr


def test_dropping_the_traffic_gate_fails_the_generated_tests(built: Path, tmp_path: Path) -> None:
    copy = _mutated_copy(built, tmp_path)
    rule_file = copy / "prometheus" / "rules" / "bongsu-payments.yaml"
    data = yaml.safe_load(rule_file.read_text())
    for group in data["groups"]:
        for rule in group["rules"]:
            if "alert" in rule and "slo:requests:" in rule["expr"]:
                rule["expr"] = rule["expr"].rsplit("\nand on(service, slo)\nslo:requests:", 1)[0]
    rule_file.write_text(yaml.safe_dump(data, sort_keys=False))
    result = promtool("test", "rules", str(copy / "prometheus" / "tests" / "bongsu-payments.slos.test.yaml"))
    assert result.returncode != 0 and "traffic floor" in result.stdout + result.stderr


def test_handwritten_tests_also_run_in_place() -> None:
    folder = Path(__file__).resolve().parents[2] / "alert_rules" / "handwritten"
    result = promtool("test", "rules", *map(str, sorted(folder.glob("*.test.yaml"))))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config_and_every_route_case_pass_amtool(built: Path) -> None:
    config = built / "alertmanager" / "alertmanager.yml"
    result = amtool("check-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    for case in load_yaml(built / "alertmanager" / "route-tests.yaml"):
        labels = [f"{k}={v}" for k, v in case["labels"].items()]
        result = amtool("config", "routes", "test", f"--config.file={config}",
                        f"--verify.receivers={case['receiver']}", *labels)
        assert result.returncode == 0, (case, result.stdout + result.stderr)


def test_a_broken_team_route_fails_the_route_tests(built: Path, tmp_path: Path) -> None:
    folder = tmp_path / "alertmanager"
    shutil.copytree(built / "alertmanager", folder)
    config = folder / "alertmanager.yml"
    config.write_text(config.read_text().replace('team="payments"', 'team="payment"'))
    assert amtool("check-config", str(config)).returncode == 0
    failed = [case for case in load_yaml(folder / "route-tests.yaml")
              if amtool("config", "routes", "test", f"--config.file={config}",
                        f"--verify.receivers={case['receiver']}",
                        *(f"{k}={v}" for k, v in case["labels"].items())).returncode != 0]
    assert failed and all(case["receiver"] == "team-payments" for case in failed)


def test_check_reports_only_the_failing_test_file(built: Path, tmp_path: Path) -> None:
    from alert_rules.verify import promtool_findings

    copy = _mutated_copy(built, tmp_path)
    _set_factor(copy / "prometheus" / "rules" / "bongsu-payments.yaml", "PaymentsAvailabilityBudgetBurn", "1h", 20)
    findings = {f.check.split(" (")[0]: f for f in promtool_findings(copy)}
    assert findings["promtool check rules"].ok
    failed = findings["promtool test rules"]
    assert not failed.ok and "bongsu-payments.slos.test.yaml" in failed.detail
    assert "bongsu-orders.slos.test.yaml" not in failed.detail and "bongsu-payments.test.yaml" not in failed.detail


ODD_CATALOG = """
slack: {default_channel: "#alerts"}
teams: [{name: web, slack_channel: "#web"}]
services:
  - name: edge-api
    team: web
    selector: {namespace: prod, app: edge}
    histogram_buckets: [0.3, 2]
    slos:
      - {name: avail-28d, sli: http_availability, objective: 99.95, window: 28d}
      - {name: avail-loose, sli: http_availability, objective: 93.5, window: 30d, min_request_rate: 0}
      - {name: slow-busy, sli: http_latency, threshold: 300ms, objective: 99.5, window: 7d, min_request_rate: 2}
      - {name: slow-2s, sli: http_latency, threshold: 2s, objective: 97, window: 3d}
"""


def test_generated_tests_hold_for_other_windows_objectives_floors_and_selectors(tmp_path: Path) -> None:
    """Factors that are not the demo's (28d, 7d, 3d windows), a floor of 0 and of 2 req/s, a custom
    selector and buckets, and an objective (93.5) where a burn just above 14.4x is more than 100% errors."""
    from bongsu.catalog import parse_catalog
    from alert_rules import generate

    from tests.rules.conftest import options

    generate(parse_catalog(ODD_CATALOG), options(tmp_path))
    test_file = tmp_path / "prometheus" / "tests" / "bongsu-edge-api.slos.test.yaml"
    result = promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr
    names = [t["name"] for t in load_yaml(test_file)["tests"]]
    assert not any(n.startswith("EdgeApiAvailLooseBudgetBurn") and "traffic floor" in n for n in names)
    assert sum(n.startswith("EdgeApiAvailLooseBudgetBurn: sustained burn") and "just above" in n
               for n in names) == 3  # not the 14.4x page at objective 93.5
    for slo in parse_catalog(ODD_CATALOG).services[0].slos:  # windows scaled to each SLO's window
        first = slo.burn_rate_tiers[0]
        assert any(f"just above the {first.windows}" in n for n in names) == (slo.name != "avail-loose")
