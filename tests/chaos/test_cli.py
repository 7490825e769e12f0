"""`bongsu drill` and `bongsu postmortem` turn user mistakes into one clear line, never a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bongsu.cli import app

runner = CliRunner()


def _run(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_drill_lists_every_drill() -> None:
    result = _run("drill", "--list")
    assert result.exit_code == 0
    for name in ("payments-availability", "payments-latency", "orders-availability", "orders-latency",
                 "payments-target-down", "orders-target-down"):
        assert name in result.output


def test_drill_needs_a_name_or_all() -> None:
    result = _run("drill")
    assert result.exit_code == 2
    assert "name one drill or pass --all" in result.output


def test_unknown_drill_names_the_choices() -> None:
    result = _run("drill", "nope")
    assert result.exit_code == 2
    assert "no drill named 'nope'" in result.output and "payments-target-down" in result.output


def test_missing_stack_file_is_named(tmp_path: Path) -> None:
    result = _run("drill", "payments-target-down", "--stack", str(tmp_path / "stack.json"))
    assert result.exit_code == 2
    assert "stack.json does not exist" in result.output


def test_postmortem_needs_journal_or_window() -> None:
    result = _run("postmortem")
    assert result.exit_code == 2
    assert "--journal FILE or --from TIME" in result.output


def test_postmortem_rejects_a_bad_journal(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text('{"urls": {}}')
    journal = tmp_path / "j.json"
    journal.write_text("{not json")
    result = _run("postmortem", "--journal", str(journal), "--stack", str(stack))
    assert result.exit_code == 2
    assert "is not a journal" in result.output


def test_postmortem_rejects_a_bad_time(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text('{"urls": {}}')
    result = _run("postmortem", "--from", "yesterday", "--stack", str(stack))
    assert result.exit_code == 2
    assert "not a time like" in result.output
