"""bongsu/conventions.py is the one home of every shared metric, label and env var name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from bongsu import conventions

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("bongsu", "instrumentation", "alert_rules", "dashboards", "notifier", "chaos", "examples")
# Env var readers still owned by other lanes' open work; they move to bongsu.conventions after merging.
# Listed here so the exception is visible and shrinks, never grows.
PENDING_ENV_READERS = {"instrumentation/settings.py", "instrumentation/otlp.py", "notifier/settings.py"}


def _string_constants(path: Path) -> list[tuple[int, str]]:
    """Every string literal in the file except docstrings (which may name a metric to explain it)."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _product_files() -> list[Path]:
    return [p for part in PRODUCT for p in sorted((REPO / part).rglob("*.py"))
            if p != REPO / "bongsu" / "conventions.py"]


def test_the_http_metric_name_is_defined_once() -> None:
    found = [f"{path.relative_to(REPO)}:{line}" for path in _product_files()
             for line, text in _string_constants(path)
             if conventions.HTTP_REQUEST_DURATION in text or conventions.HTTP_ACTIVE_REQUESTS in text]
    assert not found, f"HTTP metric names spelled outside bongsu/conventions.py: {found}"


def test_no_shared_metric_or_env_var_is_spelled_outside_conventions() -> None:
    names = set(conventions.CONTRACT_METRICS) | {var.name for var in conventions.ENV_VARS}
    found = [f"{path.relative_to(REPO)}:{line} {text!r}" for path in _product_files()
             if str(path.relative_to(REPO)) not in PENDING_ENV_READERS
             for line, text in _string_constants(path) if text in names]
    assert not found, f"use bongsu.conventions instead of these literals: {found}"


def test_conventions_imports_nothing() -> None:
    """The SDK imports it: beyond the standard library it must load nothing (no catalog, pydantic, YAML)."""
    code = ("import sys; before = set(sys.modules); import bongsu.conventions; "
            "print(sorted(m for m in set(sys.modules) - before if m not in ('bongsu', 'bongsu.conventions') "
            "and m.split('.')[0] not in sys.stdlib_module_names))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", f"importing bongsu.conventions also loaded: {loaded}"


def test_env_var_names_are_unique() -> None:
    names = [var.name for var in conventions.ENV_VARS]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_docs_configuration_table_is_generated_and_current() -> None:
    docs = (REPO / "docs" / "configuration.md").read_text()
    assert docs == conventions.env_table(), \
        "docs/configuration.md is stale: run `python -m bongsu.conventions > docs/configuration.md`"
    for var in conventions.ENV_VARS:
        assert f"| `{var.name}` |" in docs
