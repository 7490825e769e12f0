"""Fixtures for the alerting tests: the demo catalog built once, and the real tools located loudly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from bongsu.binaries import MissingBinary, find
from bongsu.build import BuildOptions
from bongsu.catalog import Catalog
from alert_rules import generate

TOKEN = "test-token-not-a-secret"


def tool(name: str) -> Path:
    """The real binary, or a failed test naming the package to install (never a skip)."""
    try:
        return find(name)
    except MissingBinary as exc:
        pytest.fail(str(exc), pytrace=False)


def promtool_test(*files: Path) -> subprocess.CompletedProcess:
    """`promtool test rules` on generated or mutated test files; the caller asserts on the outcome."""
    return subprocess.run([str(tool("promtool")), "test", "rules", *map(str, files)], capture_output=True,
                          text=True, timeout=600)


def options(out: Path, **overrides: object) -> BuildOptions:
    settings: dict = {"notifier_url": "http://127.0.0.1:9/alertmanager", "webhook_token": TOKEN, **overrides}
    return BuildOptions(out=out, **settings)


def load_yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text())


def alert_rules_in(path: Path) -> list[dict]:
    return [rule for group in load_yaml(path)["groups"] for rule in group["rules"] if "alert" in rule]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Path:
    """The alerting generator's output for the demo catalog (read-only: copy before mutating)."""
    out = tmp_path_factory.mktemp("built")
    generate(catalog, options(out))
    return out
