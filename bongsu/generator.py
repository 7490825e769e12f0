"""What a generator is: the types every part's generator and the runner (bongsu/build.py) share.

A generator is a `generate(catalog, options)` that writes files under `options.out`, and an optional
`check(catalog, options)` that validates them with the real tools. It reads only the catalog model,
the options and bongsu.conventions; it never imports another generator, so this module imports only
the model (import-linter holds every part to that, see pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from bongsu.catalog import Catalog, Duration
from bongsu.settings import SpineSettings


@dataclass(frozen=True)
class Finding:
    """One check's outcome, worded for the person who has to fix it."""

    check: str
    ok: bool
    detail: str = ""
    # False when a check could not run here (e.g. the package it needs is not installed): it is
    # reported as "not checked" with `detail` saying why, and never fails the run.
    checked: bool = True


@dataclass
class BuildOptions:
    """Everything a generator may need besides the catalog. Secrets come from the environment."""

    out: Path
    # Where Prometheus finds the services: job -> ["host:port", ...]. Defaults to the demo ports.
    targets: dict[str, list[str]] = field(default_factory=dict)
    alertmanager_address: str = "127.0.0.1:9093"
    notifier_url: str = field(default_factory=lambda: SpineSettings().notifier_url)
    # The bearer token Alertmanager presents to the notifier. Never written into committed files:
    # generated configs reference it via a credentials file inside `out`.
    webhook_token: str | None = field(default_factory=lambda: SpineSettings().webhook_token)
    scrape_interval: Duration = Duration.parse("5s")
    evaluation_interval: Duration = Duration.parse("5s")
    # Alertmanager timing. Production-like defaults; the local stack shortens them for drills.
    page_group_wait: Duration = Duration.parse("30s")
    page_group_interval: Duration = Duration.parse("5m")
    page_repeat_interval: Duration = Duration.parse("4h")
    ticket_group_wait: Duration = Duration.parse("5m")
    ticket_group_interval: Duration = Duration.parse("30m")
    ticket_repeat_interval: Duration = Duration.parse("24h")

    def targets_for(self, job: str, index: int) -> list[str]:
        """The configured addresses for `job`, or the demo's default port for the index-th service."""
        return self.targets.get(job) or [f"127.0.0.1:{8081 + index}"]


Generate = Callable[[Catalog, BuildOptions], Iterable[Path]]
Check = Callable[[Catalog, BuildOptions], Iterable[Finding]]


class Stage(Enum):
    """When a generator runs. GENERATE writes from the model alone; PACKAGE runs after every GENERATE
    step and wraps the files in `options.out` for a deployment target (ConfigMaps, data sources), so it
    may read that folder, but it still imports no other generator."""

    GENERATE = "generate"
    PACKAGE = "package"


@dataclass(frozen=True)
class Generator:
    """One part's generator, registered under the part's own name in bongsu/build.py."""

    name: str
    generate: Generate
    check: Check | None = None
    stage: Stage = Stage.GENERATE
