"""The gates ./bootstrap.sh test runs before pytest (ruff, mypy, lint-imports) pass on this tree and
fail, naming it, on a deliberately added back-arrow in a copy of it. Every `noqa` says why."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SOURCES = ("bongsu", "instrumentation", "alert_rules", "dashboards", "notifier", "chaos", "examples", "tests",
           "benchmarks")
NOQA_REASONS_PENDING: set[str] = set()  # every noqa now carries its reason


def _run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first, so a copy's packages shadow the editable install of this checkout.
    env = {**os.environ, "PYTHONPATH": str(cwd), "MYPY_CACHE_DIR": str(cwd / ".mypy_cache")}
    return subprocess.run([str(BIN / tool), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A copy of the sources and their configuration, to break on purpose."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(REPO / "pyproject.toml", copy)
    for name in SOURCES:
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


def _add(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _assert_broken(tree: Path, contract: str, arrow: str) -> None:
    """lint-imports fails on `tree`, naming the broken contract and the import that breaks it."""
    result = _run("lint-imports", "--no-cache", cwd=tree)
    assert result.returncode != 0
    assert contract in result.stdout and "BROKEN" in result.stdout, result.stdout
    assert arrow in result.stdout, result.stdout


@pytest.mark.parametrize("gate", [("ruff", "check", "."), ("mypy",), ("lint-imports", "--no-cache")],
                         ids=["ruff", "mypy", "lint-imports"])
def test_the_gates_pass_on_this_tree(gate: tuple[str, ...]) -> None:
    result = _run(*gate, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_generator_importing_another_fails_lint_imports_and_ruff(tree: Path) -> None:
    _add(tree / "alert_rules" / "rules.py", "\nimport dashboards.red\n")
    _assert_broken(tree, "Generators are independent", "alert_rules.rules -> dashboards.red")
    lint = _run("ruff", "check", ".", cwd=tree)
    assert lint.returncode != 0
    assert "alert_rules/rules.py" in lint.stdout and "F401" in lint.stdout


def test_the_model_reaching_back_to_the_runner_fails_lint_imports_and_mypy(tree: Path) -> None:
    _add(tree / "bongsu" / "catalog.py", "\n\ndef _runner():\n    from bongsu import build\n\n"
                                          "    return build.generators()\n")
    _assert_broken(tree, "The spine is the only composition root", "bongsu.catalog -> bongsu.build")
    types = _run("mypy", cwd=tree)
    assert types.returncode != 0
    assert re.search(r"bongsu/catalog\.py:\d+: error: Function is missing a return type annotation", types.stdout)


def test_the_sdk_importing_the_catalog_fails_lint_imports(tree: Path) -> None:
    _add(tree / "instrumentation" / "red.py", "\nfrom bongsu.catalog import DEFAULT_BUCKETS  # noqa: F401 - on purpose\n")
    _assert_broken(tree, "The SDK imports nothing from the rest of Bongsu", "instrumentation.red -> bongsu.catalog")


NOQA = re.compile(r"#\s*noqa\b(?P<codes>:\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)?(?P<rest>.*)$")


def test_every_noqa_names_its_rule_and_says_why() -> None:
    missing = []
    for name in SOURCES:
        for path in sorted((REPO / name).rglob("*.py")):
            relative = str(path.relative_to(REPO))
            if relative in NOQA_REASONS_PENDING:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                found = NOQA.search(line)
                if found and (not found.group("codes") or not found.group("rest").strip(" -#:()")):
                    missing.append(f"{relative}:{number}: {line.strip()}")
    assert not missing, "a noqa needs its rule and a reason (`# noqa: E402 - why`):\n" + "\n".join(missing)
