"""`bongsu --help` answers at once: it imports no part of the product it does not run. (The times are
measured in benchmarks/bench_cli.py; here only what is imported, which does not depend on the machine.)"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import typer

from bongsu.cli import PARTS

HEAVY = ["matplotlib", "numpy", "notifier.app", "notifier", "dashboards", "alert_rules", "chaos", "chaoslib",
         "grafanalib", "slack_sdk", "starlette", "uvicorn", "bongsu.catalog", "bongsu.build",
         "bongsu.stack", "yaml", "httpx", "markdown_it"]
SCRIPT = """
import json, sys
sys.argv = ["bongsu", *{args!r}]
from bongsu.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({{"code": code, "loaded": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["build", "--help"], []])
def test_help_imports_no_part_it_does_not_run(args):
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(args=args, heavy=HEAVY)],
                            capture_output=True, text=True, timeout=60)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, 2, None), result.stdout + result.stderr  # no_args_is_help exits 2 in click 8.2+
    assert report["loaded"] == [], f"`bongsu {' '.join(args)}` imported {report['loaded']}"
    assert "Usage: bongsu" in result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(PARTS))
def test_listed_summary_is_the_parts_own(name):
    part = PARTS[name]
    target = getattr(importlib.import_module(part.module), part.attribute)
    own = target.info.help if isinstance(target, typer.Typer) else target.__doc__.strip().splitlines()[0]
    assert part.help == own


def test_a_part_runs_when_called():
    result = subprocess.run([sys.executable, "-m", "bongsu", "notifier", "serve", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "--listen" in result.stdout, result.stdout + result.stderr


def test_a_part_whose_extra_is_missing_says_what_to_install():
    script = ("import sys; sys.modules['slack_sdk'] = None; sys.argv = ['bongsu', 'notifier', 'serve', '--help']\n"
              "from bongsu.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "needs slack_sdk" in result.stderr and "'bongsu[notifier]'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
