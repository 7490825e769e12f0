"""A user's plain clone checks itself: `bongsu check` needs no file beside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bongsu_check_passes_in_a_clone_with_no_parent_folder(tmp_path):
    clone = tmp_path / "clone"
    cloned = subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], capture_output=True, text=True,
                            timeout=120)
    assert cloned.returncode == 0, cloned.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clone"]  # nothing beside the clone
    # The clone's own code, not the checkout the virtualenv was installed from.
    env = {**os.environ, "PYTHONPATH": str(clone)}
    for command, expected in ((["check"], "CRD and core-kind schemas"),
                              (["deploy", "check"], "against the Compose Specification")):
        result = subprocess.run([sys.executable, "-m", "bongsu", *command], capture_output=True, text=True,
                                cwd=clone, env=env, timeout=600)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "not checked" not in output and "FAIL" not in output, output
        assert expected in output and "checks passed" in output, output
    # The clone's own modules ran (not the installed checkout's).
    probe = subprocess.run([sys.executable, "-c", "import bongsu; print(bongsu.__file__)"], capture_output=True,
                           text=True, cwd=clone, env=env, timeout=60)
    assert probe.stdout.strip().startswith(str(clone)), probe.stdout + probe.stderr


NOT_CHECKED_SCRIPT = """
import sys
sys.modules["compose_spec"] = sys.modules["cloudcoil"] = None  # as on an install without the packages
from typer.testing import CliRunner
from bongsu.cli import app
for command in (["check"], ["deploy", "check"]):
    result = CliRunner().invoke(app, command)
    print(f"exit={result.exit_code}")
    print(result.output)
"""


def test_a_check_whose_package_is_missing_says_not_checked_and_why_without_failing(tmp_path):
    result = subprocess.run([sys.executable, "-c", NOT_CHECKED_SCRIPT], capture_output=True, text=True,
                            cwd=REPO, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.count("exit=0") == 2, output
    assert "not checked kubernetes/prometheusrules.yaml" in output, output
    assert "cloudcoil-models-prometheus-operator is not installed" in output, output
    assert "not checked compose: against the Compose Specification" in output, output
    assert "compose-spec is not installed" in output and "not checked (see above)" in output, output
