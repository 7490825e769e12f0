"""One error root: every user-facing error is a BongsuError with an exit code and a located message;
the CLI turns exactly those into one clean line, and anything else (a bug) keeps its traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed

from alert_rules.custom import HandwrittenError
from alert_rules.lint import LintError
from bongsu.binaries import MissingBinary
from bongsu.catalog import CatalogError, InvalidDuration
from bongsu.demo import DemoFailed
from bongsu.deploy.schemas import CheckUnavailable
from bongsu.errors import EXIT_FAILED, EXIT_PREREQUISITE, EXIT_USAGE, BongsuError
from bongsu.processes import ProcessError
from bongsu.stack import StackError
from chaos.stackfile import StackFileError
from dashboards.panel_data import PrometheusUnreachable
from dashboards.push import PushError
from instrumentation import ConfigError
from notifier.silences import SilenceError
from notifier.store import StoreError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("error", "code"), [
    (CatalogError, EXIT_USAGE), (InvalidDuration, EXIT_USAGE), (LintError, EXIT_USAGE),
    (HandwrittenError, EXIT_USAGE), (ConfigError, EXIT_USAGE), (StackFileError, EXIT_USAGE),
    (PushError, EXIT_USAGE), (SilenceError, EXIT_USAGE), (StoreError, EXIT_USAGE),
    (MissingBinary, EXIT_PREREQUISITE), (CheckUnavailable, EXIT_PREREQUISITE), (StackError, EXIT_PREREQUISITE),
    (ProcessError, EXIT_PREREQUISITE), (PrometheusUnreachable, EXIT_PREREQUISITE), (DemoFailed, EXIT_FAILED),
])
def test_every_user_facing_error_derives_from_the_root(error: type[BongsuError], code: int) -> None:
    assert issubclass(error, BongsuError)
    assert error.exit_code == code


def test_errors_keep_the_bases_their_callers_catch() -> None:
    """pydantic turns ValueErrors into located catalog problems; Chaos Toolkit fails a step on ActivityFailed."""
    assert issubclass(InvalidDuration, ValueError) and issubclass(ConfigError, ValueError)
    assert issubclass(StackFileError, ActivityFailed)


def test_a_located_message_names_where() -> None:
    error = BongsuError("must define board(catalog) -> Board", where="dashboards/handwritten/x.py", exit_code=4)
    assert str(error) == "dashboards/handwritten/x.py: must define board(catalog) -> Board"
    assert error.exit_code == 4 and BongsuError("x").exit_code == EXIT_USAGE


def _bongsu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bongsu", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120)


def test_the_cli_reports_a_bongsu_error_as_one_line_with_its_exit_code() -> None:
    result = _bongsu("up", "--scrape-interval", "5 seconds")
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "error: malformed duration '5 seconds'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def _with_command(body: str) -> subprocess.CompletedProcess[str]:
    """The real `bongsu` app with one extra command whose body raises."""
    script = textwrap.dedent(f"""
        from bongsu.cli import app
        from bongsu.errors import BongsuError

        @app.command("explode")
        def explode() -> None:
            {body}

        app()
    """)
    return subprocess.run([sys.executable, "-c", script, "explode"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)


def test_the_cli_exits_with_the_errors_own_code() -> None:
    result = _with_command('raise BongsuError("the thing is wrong", where="f.yaml: services[0]", exit_code=4)')
    assert result.returncode == 4
    assert result.stderr.strip() == "error: f.yaml: services[0]: the thing is wrong"


def test_any_other_exception_is_a_bug_and_keeps_its_traceback() -> None:
    result = _with_command('raise ValueError("a bug in Bongsu, not the user\'s mistake")')
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: a bug in Bongsu, not the user's mistake" in result.stderr
    assert "error:" not in result.stderr.splitlines()[0]
