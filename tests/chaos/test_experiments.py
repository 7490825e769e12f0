"""The experiment files: one per page alert of the demo catalog plus target-down drills, equal to what
the catalog generates, and valid for Chaos Toolkit's own `chaos validate`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bongsu.catalog import TIERS, load_catalog
from chaos.experiments import EXPERIMENTS_DIR, experiments, render

CHAOS = Path(sys.executable).parent / "chaos"
FILES = sorted(EXPERIMENTS_DIR.glob("*.json"))


def test_committed_experiments_match_the_catalog() -> None:
    generated = experiments(load_catalog())
    assert sorted(p.stem for p in FILES) == sorted(generated), \
        "regenerate with: python -c 'from bongsu.catalog import load_catalog; from chaos.experiments import write, " \
        "EXPERIMENTS_DIR; write(load_catalog(), EXPERIMENTS_DIR)'"
    for path in FILES:
        assert path.read_text() == render(generated[path.stem]), f"{path.name} is stale; regenerate it"


def test_every_page_alert_has_a_drill() -> None:
    catalog = load_catalog()
    pages = {service.slo_alert(slo) for service, slo in catalog.slos() if any(t.severity == "page" for t in TIERS)}
    pages |= {service.target_down_alert for service in catalog.services}
    drilled = {e["extensions"][0]["drill"]["alertname"] for e in experiments(catalog).values()}
    assert drilled == pages


def test_drills_expect_the_team_receiver_and_channel() -> None:
    catalog = load_catalog()
    drill = experiments(catalog)["payments-availability"]["extensions"][0]["drill"]
    assert drill["receiver"] == catalog.team("payments").receiver
    assert drill["channel"] == "#payments-oncall"
    assert drill["threshold"] == pytest.approx(14.4 * 0.001)


def test_every_experiment_rolls_back_always_and_clears_its_own_fault() -> None:
    for name, experiment in experiments(load_catalog()).items():
        assert experiment["runtime"]["rollbacks"]["strategy"] == "always", name
        inject = experiment["method"][0]["provider"]["func"]
        undo = {"inject_fault": "clear_fault", "make_target_unreachable": "restore_target",
                "deploy_build": "deploy_build"}[inject]
        assert [r["provider"]["func"] for r in experiment["rollbacks"]] == [undo], name
        if inject == "deploy_build":  # a bad deploy is undone by deploying the good build again
            good = experiment["rollbacks"][0]["provider"]["arguments"]["version"]
            assert experiment["method"][0]["provider"]["arguments"]["version"] != good, name
            continue
        assert experiment["method"][0]["provider"]["arguments"]["duration_s"] > 0, name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_chaos_validate_accepts(path: Path, tmp_path: Path) -> None:
    """Without any environment variable: validating needs no running stack."""
    assert CHAOS.exists(), f"{CHAOS} is missing: install the chaos extra (pip install -e '.[chaos]')"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BONGSU_")}
    result = subprocess.run([str(CHAOS), "--no-log-file", "validate", str(path)], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "look valid" in result.stdout + result.stderr
    json.loads(path.read_text())


def test_running_without_a_stack_says_what_to_set_and_why(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BONGSU_")}
    result = subprocess.run([str(CHAOS), "--no-log-file", "run", "--rollback-strategy", "never",
                             str(EXPERIMENTS_DIR / "payments-target-down.json")], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path, env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "set BONGSU_STACK" in output and "`bongsu up` writes in its run folder" in output, output
