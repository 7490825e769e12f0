"""Fixtures shared across the suite: the real local stack, started once per session when asked for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rich.console import Console

from bongsu.binaries import MissingBinary, find
from bongsu.catalog import Catalog, load_catalog
from bongsu.stack import Stack, StackSettings


def require_binaries() -> None:
    """Fail (never skip) with the fix when Prometheus or Alertmanager is not installed."""
    for tool in ("prometheus", "promtool", "alertmanager", "amtool"):
        try:
            find(tool)
        except MissingBinary as exc:
            pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The demo shop's catalog, parsed once per session."""
    return load_catalog()


@pytest.fixture(scope="session")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo stack on free loopback ports: real Prometheus, Alertmanager, notifier, shop, load."""
    require_binaries()
    settings = StackSettings(catalog=load_catalog(), run_dir=tmp_path_factory.mktemp("stack"))
    with Stack(settings, Console(stderr=True)) as stack:
        yield stack


# Session- and module-scoped servers, and the tests sharing each: under pytest-xdist (`--dist loadgroup`,
# as ./bootstrap.sh runs the suite) every group runs on one worker, so each server starts once and its
# tests keep their order; all other tests spread over the workers. Fixture name -> group.
SHARED_SERVERS = {"demo_stack": "demo-stack", "stack": "notifier-stack", "slack": "notifier-stack",
                  "scraped": "dashboards-scraped", "incident_stack": "dashboards-incident"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        groups = {SHARED_SERVERS[name] for name in getattr(item, "fixturenames", ()) if name in SHARED_SERVERS}
        if groups:
            item.add_marker(pytest.mark.xdist_group(sorted(groups)[0]))
