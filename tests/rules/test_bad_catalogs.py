"""Bad catalogs through `bongsu build` and `bongsu check`: exit code 2, the file and the place in it named,
no traceback (issue 3, item 11, and the impossible-tier lint of item 5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bongsu.cli import app

GOOD_SERVICE = """
slack: {default_channel: "#alerts"}
teams:
  - {name: web, slack_channel: "#web"}
services:
  - name: api
    team: web
    slos:
      - {name: availability, sli: http_availability, objective: 99.5}
"""



def tiered(tiers: str) -> str:
    """The good catalog with its SLO's tiers overridden."""
    return GOOD_SERVICE.replace("objective: 99.5}", "objective: 99.5, tiers: [" + tiers + "]}")


# (what is wrong, catalog text, where the error must point, words the message must contain)
CASES = [
    ("objective of 100", GOOD_SERVICE.replace("objective: 99.5", "objective: 100"),
     "services[0].slos[0].objective", "no error budget"),
    ("objective of 0", GOOD_SERVICE.replace("objective: 99.5", "objective: 0"),
     "services[0].slos[0].objective", "above 0 and below 100"),
    ("negative objective", GOOD_SERVICE.replace("objective: 99.5", "objective: -5"),
     "services[0].slos[0].objective", "above 0 and below 100"),
    ("objective above 100", GOOD_SERVICE.replace("objective: 99.5", "objective: 100.5"),
     "services[0].slos[0].objective", "above 0 and below 100"),
    ("unknown SLI", GOOD_SERVICE.replace("sli: http_availability", "sli: http_throughput"),
     "services[0].slos[0].sli", "http_availability"),
    ("malformed duration", GOOD_SERVICE.replace("objective: 99.5}", "objective: 99.5, window: 30days}"),
     "services[0].slos[0].window", "malformed duration '30days'"),
    ("team without a channel", GOOD_SERVICE.replace('{name: web, slack_channel: "#web"}', "{name: web}"),
     "teams[0].slack_channel", "required key is missing"),
    ("service naming an unknown team", GOOD_SERVICE.replace("team: web", "team: mobile"),
     "services[0].team", "unknown team 'mobile'"),
    ("duplicate team", GOOD_SERVICE.replace('{name: web, slack_channel: "#web"}',
                                            '{name: web, slack_channel: "#web"}\n  - {name: web, slack_channel: "#w2"}'),
     "teams[1].name", "duplicate name 'web'"),
    ("duplicate service", GOOD_SERVICE + "  - {name: api, team: web}\n",
     "services[1].name", "duplicate name 'api'"),
    ("duplicate SLO", GOOD_SERVICE + "      - {name: availability, sli: http_availability, objective: 99}\n",
     "services[0].slos[1].name", "duplicate name 'availability'"),
    ("latency threshold off the buckets",
     GOOD_SERVICE.replace("sli: http_availability, objective: 99.5", "sli: http_latency, threshold: 300ms, objective: 99"),
     "services[0].slos[0].threshold", "not a histogram bucket boundary"),
    ("tier impossible at this objective", GOOD_SERVICE.replace("objective: 99.5", "objective: 90"),
     "services[0].slos[0].objective", "1h/5m page tier impossible"),
    ("tier firing while the budget lasts", tiered("{severity: page, long_window: 1h, factor: 14.4}, "
                                                  "{severity: ticket, long_window: 3d, factor: 0.7}"),
     "services[0].slos[0].tiers[1].factor", "while the budget would last the 30d window"),
    ("tier firing after the budget is gone", tiered("{severity: ticket, long_window: 3d, factor: 20}"),
     "services[0].slos[0].tiers[0]", "fires only after 200% of the 30d budget is spent"),
    ("tier window not in whole minutes", tiered("{severity: page, long_window: 90s, factor: 14.4}"),
     "services[0].slos[0].tiers[0].long_window", "not a whole number of minutes"),
    ("short window longer than the long", tiered("{severity: page, long_window: 1h, short_window: 2h, factor: 14.4}"),
     "services[0].slos[0].tiers[0]", "short_window 2h is longer than long_window 1h"),
    ("two tiers on the same windows", tiered("{severity: page, long_window: 1h, factor: 14.4}, "
                                            "{severity: ticket, long_window: 1h, short_window: 5m, factor: 3}"),
     "services[0].slos[0].tiers", "tiers[1] repeats the 1h/5m windows of tiers[0]"),
    ("misspelt tier key", tiered("{severity: page, long: 1h, factor: 14.4}"),
     "services[0].slos[0].tiers[0].long", "unknown key"),
]


@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize(("what", "text", "where", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_catalog_is_located(tmp_path: Path, command: str, what: str, text: str, where: str, words: str) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(text)
    args = [command, "--catalog", str(catalog)] + (["--out", str(tmp_path / "out")] if command == "build" else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{catalog}: {where}: " in result.output, result.output
    assert words in result.output, result.output
    assert "Traceback" not in result.output


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(GOOD_SERVICE.replace("objective: 99.5}", "objective: 90}\n      - {name: b, sli: http_availability, "
                                            "objective: 99, tiers: [{severity: page, long_window: 1h, factor: 0.5}]}"))
    result = CliRunner().invoke(app, ["build", "--catalog", str(catalog), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "services[0].slos[0].objective" in result.output and "services[0].slos[1].tiers[0].factor" in result.output


def test_the_installed_command_reports_without_a_traceback(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(GOOD_SERVICE.replace("objective: 99.5", "objective: 100"))
    result = subprocess.run([sys.executable, "-m", "bongsu", "build", "--catalog", str(catalog),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "services[0].slos[0].objective" in result.stderr and "Traceback" not in result.stderr
