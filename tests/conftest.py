"""Fixtures shared across the suite: the real local stack, started once per session when asked for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _pytest.nodeid import coerce_node_id
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


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        groups = {SHARED_SERVERS[name] for name in getattr(item, "fixturenames", ()) if name in SHARED_SERVERS}
        if not groups:
            continue
        group = sorted(groups)[0]
        item.add_marker(pytest.mark.xdist_group(group))
        # pytest-xdist 3.8 tells the scheduler a test's group by suffixing `item._nodeid`, which pytest 9
        # no longer reads (the id lives in `item._id`), so every group would be scattered. Set it here.
        if config.getoption("loadgroup", default=False) and "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@{group}")  # noqa: SLF001 - pytest 9 keeps the node id only there
