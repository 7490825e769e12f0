"""`bongsu build` and `bongsu check`: run every generator over one parsed catalog.

Each part of the product registers a generator here: a `generate(catalog, options)` that writes files
under `options.out`, and a `check(catalog, options)` that validates them with the real tools. The
generators read only the catalog model and the options, never each other's output.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bongsu.catalog import Catalog, Duration


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
    notifier_url: str = field(default_factory=lambda: os.environ.get(
        "BONGSU_NOTIFIER_URL", "http://127.0.0.1:9099/alertmanager"))
    # The bearer token Alertmanager presents to the notifier. Never written into committed files:
    # generated configs reference it via a credentials file inside `out`.
    webhook_token: str | None = field(default_factory=lambda: os.environ.get("BONGSU_WEBHOOK_TOKEN"))
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


@dataclass(frozen=True)
class Generator:
    name: str
    generate: Generate
    check: Check | None = None


def generators() -> list[Generator]:
    """The registered generators, in build order. Imported lazily so a base install stays light."""
    from bongsu import scrape_config

    found = [Generator("prometheus", scrape_config.generate, scrape_config.check)]
    for module_name in ("alert_rules.build", "dashboards.build", "bongsu.deploy"):
        try:
            module = __import__(module_name, fromlist=["generate"])
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part has not landed in this checkout
            raise
        found.append(Generator(module_name.split(".")[0], module.generate, getattr(module, "check", None)))
    return found


def build(catalog: Catalog, options: BuildOptions) -> list[Path]:
    options.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for generator in generators():
        written.extend(generator.generate(catalog, options))
    return written


def check(catalog: Catalog, options: BuildOptions) -> list[Finding]:
    build(catalog, options)
    findings: list[Finding] = []
    for generator in generators():
        if generator.check:
            findings.extend(generator.check(catalog, options))
    return findings
