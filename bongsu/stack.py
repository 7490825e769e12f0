"""The local stack behind `bongsu up`, `bongsu demo`, drills and the end-to-end tests.

Real Prometheus and Alertmanager, the notifier, the demo shop and a load generator, each a supervised
child on loopback, configured by `bongsu build` into a run folder. No Docker needed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bongsu import conventions, history, stackdeploy
from bongsu.build import BuildOptions, build
from bongsu.catalog import Catalog, Duration
from bongsu.deploy.kubernetes import catalog_yaml
from bongsu.errors import EXIT_PREREQUISITE, BongsuError
from bongsu.processes import Child, ProcessError, alertmanager, free_port, port_is_free, prometheus
from examples.shop import releases
from examples.shop.releases import Build

REPO = Path(__file__).resolve().parent.parent
SHOP = REPO / "examples" / "shop"


class StackError(BongsuError):
    exit_code = EXIT_PREREQUISITE

    """The stack could not start or a child died; the message is one line for the user."""


@dataclass
class StackSettings:
    catalog: Catalog
    port_base: int = 0  # 0: free ports chosen at start
    scrape_interval: Duration = Duration.parse("5s")
    evaluation_interval: Duration = Duration.parse("5s")
    run_dir: Path | None = None
    load_rate: float = 10.0  # requests per second on `orders`; 0 for no load generator
    history: Duration | None = Duration.parse("3d")  # healthy traffic backfilled before start (bongsu/history.py)
    # Alertmanager timing for drills: quick enough to watch, slow enough to group.
    page_group_wait: Duration = Duration.parse("5s")
    page_group_interval: Duration = Duration.parse("15s")
    ticket_group_wait: Duration = Duration.parse("15s")
    ticket_group_interval: Duration = Duration.parse("1m")
    extra_env: dict[str, str] = field(default_factory=dict)


def shop_services(catalog: Catalog) -> list[str]:
    """Catalog services the demo shop can run (those with a module in examples/shop/)."""
    return [s.name for s in catalog.services if (SHOP / f"{s.name.replace('-', '_')}.py").exists()]


class Stack:
    """Start with `with Stack(settings, console) as stack:`; everything stops when the block ends."""

    def __init__(self, settings: StackSettings, console: Console | None = None) -> None:
        self.settings = settings
        self.console = console or Console(stderr=True)
        self.run_dir = Path(settings.run_dir or tempfile.mkdtemp(prefix="bongsu-stack-")).resolve()
        self.webhook_token = secrets.token_urlsafe(24)
        self.fault_token = secrets.token_urlsafe(24)
        self.signing_secret = secrets.token_hex(16)  # the notifier checks Slack interactions with it
        self._deploy_lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()
        self.services = shop_services(settings.catalog)
        self.builds = _initial_builds(self.services)
        self.ports = self._choose_ports()
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.children: dict[str, Child] = {}
        self._stopped_on_purpose: set[str] = set()
        self._previous_sigterm: signal.Handlers | Callable[[int, FrameType | None], Any] | int | None = None

    # ---- ports and configuration -------------------------------------------------------------
    def _choose_ports(self) -> dict[str, int]:
        names = ["prometheus", "alertmanager", "notifier", *self.services]
        if self.settings.port_base:
            ports = {name: self.settings.port_base + i for i, name in enumerate(names)}
            for name, port in ports.items():
                if not port_is_free(port):
                    raise StackError(f"port {port} for {name} is already in use on 127.0.0.1; "
                                     "stop what holds it or pick another --port-base")
            return ports
        return {name: free_port() for name in names}

    def build_options(self) -> BuildOptions:
        s = self.settings
        targets = {name: [f"127.0.0.1:{self.ports[name]}"] for name in self.services}
        for own in ("notifier", "prometheus", "alertmanager"):
            targets[own] = [f"127.0.0.1:{self.ports[own]}"]
        return BuildOptions(
            out=self.run_dir / "build", targets=targets,
            alertmanager_address=f"127.0.0.1:{self.ports['alertmanager']}",
            notifier_url=f"{self.urls['notifier']}/alertmanager", webhook_token=self.webhook_token,
            scrape_interval=s.scrape_interval, evaluation_interval=s.evaluation_interval,
            page_group_wait=s.page_group_wait, page_group_interval=s.page_group_interval,
            page_repeat_interval=Duration.parse("1h"), ticket_group_wait=s.ticket_group_wait,
            ticket_group_interval=s.ticket_group_interval, ticket_repeat_interval=Duration.parse("4h"),
        )

    def local_catalog(self) -> Catalog:
        """The catalog with this stack's links: runbooks served by its notifier (`/runbooks/`), and no
        dashboard links unless BONGSU_GRAFANA_URL names a Grafana (none runs in the local stack)."""
        catalog = self.settings.catalog
        links = catalog.links.model_copy(update={
            "runbook_base_url": f"{self.urls['notifier']}/runbooks",
            "grafana_url": os.environ.get(conventions.GRAFANA_URL, "").strip()})  # "" = none, kept in the YAML
        return catalog.model_copy(update={"links": links})

    def _children(self, options: BuildOptions) -> list[Child]:
        logs = self.run_dir / "logs"
        env = {conventions.WEBHOOK_TOKEN: self.webhook_token, conventions.FAULT_TOKEN: self.fault_token,
               "PYTHONUNBUFFERED": "1", **self.settings.extra_env}
        children = [
            alertmanager(options.out / "alertmanager" / "alertmanager.yml", self.ports["alertmanager"],
                         self.run_dir / "data" / "alertmanager", logs / "alertmanager.log"),
            prometheus(options.out / "prometheus" / "prometheus.yml", self.ports["prometheus"],
                       self.run_dir / "data" / "prometheus", logs / "prometheus.log"),
            Child("notifier",
                  [sys.executable, "-m", "bongsu", "notifier", "serve",
                   "--listen", f"127.0.0.1:{self.ports['notifier']}",
                   "--state", str(self.run_dir / "notifier" / "state.sqlite"),
                   "--catalog", str(options.out / "catalog.yaml")],
                  logs / "notifier.log", health_url=f"{self.urls['notifier']}/readyz",
                  env={**env, "ALERTMANAGER_URL": self.urls["alertmanager"],
                       conventions.PROMETHEUS_URL: self.urls["prometheus"], conventions.SLACK_SIGNING_SECRET: self.signing_secret,
                       conventions.STACK: str(self.run_dir / "stack.json")}, cwd=REPO),
        ]
        # payments before orders: orders is ready only once it can reach payments.
        for name in sorted(self.services, key=lambda n: n == "orders"):
            children.append(self._shop_child(name, env))
        if self.settings.load_rate > 0 and "orders" in self.services:
            children.append(Child(
                "load", [sys.executable, "-m", "examples.shop.load", "--orders-url", self.urls["orders"],
                         "--rate", str(self.settings.load_rate)], logs / "load.log", cwd=REPO))
        return children

    def _shop_child(self, name: str, env: dict[str, str]) -> Child:
        module = name.replace("-", "_")
        build = self.builds.get(name)
        return Child(
            name, [sys.executable, "-m", "uvicorn", f"examples.shop.{module}:app", "--host", "127.0.0.1",
                   "--port", str(self.ports[name]), "--no-access-log", "--log-level", "warning"],
            self.run_dir / "logs" / f"{name}.log", health_url=f"{self.urls[name]}/livez",
            env={**env, "PAYMENTS_URL": self.urls.get("payments", ""), conventions.SERVICE_NAME_OTEL: name,
                 conventions.ERROR_REPORTS_URL: f"{self.urls['notifier']}/v1/logs",
                 conventions.ERROR_REPORTS_TOKEN: self.webhook_token,
                 **(build.environment() if build else {})},
            cwd=REPO)

    # ---- life cycle ----------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        self._previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        options = self.build_options()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            catalog = self.local_catalog()
            build(catalog, options)
            # The notifier reads the same links (its fallback runbook and dashboard links).
            (options.out / "catalog.yaml").write_text(catalog_yaml(catalog), encoding="utf-8")
        except ValueError as exc:
            raise StackError(f"cannot build the stack's configuration: {exc}") from None
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=self.console, transient=False) as progress:
            if self.settings.history:
                self._backfill(progress)
            for child in self._children(options):
                where = self.urls.get(child.name, "")
                task = progress.add_task(f"starting [bold]{child.name}[/] {where}", total=1)
                try:
                    self.children[child.name] = child.start()
                    child.wait_healthy(timeout=60)
                except ProcessError as exc:
                    progress.update(task, description=f"[red]{child.name} failed[/]")
                    raise StackError(str(exc)) from None
                progress.update(task, completed=1, description=f"[green]✓[/] {child.name} {where}")
        self._write_description()
        self._watcher = threading.Thread(target=self._watch_deploys, name="deploys", daemon=True)
        self._watcher.start()

    def _backfill(self, progress: Progress) -> None:
        length = self.settings.history
        task = progress.add_task(f"backfilling {length} of healthy traffic history", total=1)
        services = [self.settings.catalog.service(name) for name in self.services]
        try:
            assert length is not None  # only called when history is set
            samples = history.backfill(services, max(self.settings.load_rate, 1.0), length,
                                       self.run_dir / "data" / "prometheus", self.run_dir / "build")
        except RuntimeError as exc:
            raise StackError(str(exc)) from None
        progress.update(task, completed=1,
                        description=f"[green]✓[/] backfilled {length} of healthy history ({samples:,} samples)")

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=30)
        for child in reversed(list(self.children.values())):
            child.stop()
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def _write_description(self) -> None:
        """`stack.json`: what drills and other tools need to find and drive this stack."""
        s = self.settings
        description = {
            "urls": self.urls, "run_dir": str(self.run_dir), "services": self.services,
            "webhook_token": self.webhook_token, "fault_token": self.fault_token,
            "pids": {name: child.process.pid for name, child in self.children.items() if child.process},
            "scrape_interval_s": s.scrape_interval.seconds, "evaluation_interval_s": s.evaluation_interval.seconds,
            "page_group_wait_s": s.page_group_wait.seconds, "ticket_group_wait_s": s.ticket_group_wait.seconds,
            "notifications": str(self.run_dir / "notifier" / "notifications.jsonl"),
            "catalog": s.catalog.source, "signing_secret": self.signing_secret,
            "builds": {name: {"version": b.version, "revision": b.revision, "package": b.package}
                       for name, b in self.builds.items()},
        }
        path = self.run_dir / "stack.json"
        path.write_text(json.dumps(description, indent=2))
        path.chmod(0o600)  # it holds the run's tokens

    # ---- driving it ------------------------------------------------------------------------------
    def stop_service(self, name: str) -> None:
        self._stopped_on_purpose.add(name)
        self.children[name].stop()

    def start_service(self, name: str) -> None:
        child = self.children[name]
        child.start()
        child.wait_healthy(timeout=60)
        self._stopped_on_purpose.discard(name)

    def deploy(self, name: str, version: str) -> Build:
        """Restart `name` on `version` of its build (examples/shop/releases.py): stop the running
        process, start the new build, wait until it is healthy, record it in stack.json."""
        build = releases.build(name, version)  # UnknownBuild names the builds there are
        with self._deploy_lock:
            self._stopped_on_purpose.add(name)
            self.children[name].stop()
            previous, self.builds[name] = self.builds.get(name), build
            child = self._shop_child(name, self.children[name].env)
            self.children[name] = child
            try:
                child.start()
                child.wait_healthy(timeout=60)
            except ProcessError as exc:
                self.builds[name] = previous  # type: ignore[assignment]
                raise StackError(f"{name} {version} did not start: {exc}") from None
            finally:
                self._stopped_on_purpose.discard(name)
            self._write_description()
        return build

    def _watch_deploys(self) -> None:
        """Serve deploy requests from other processes (bongsu/stackdeploy.py) until the stack stops."""
        while not self._stopping.wait(0.25):
            for name, request in stackdeploy.pending_requests(self.run_dir):
                version = str(request.get("version", ""))
                try:
                    if name not in self.builds:
                        raise StackError(f"this stack runs no deployable build of {name!r}")
                    build = self.deploy(name, version)
                except (StackError, releases.UnknownBuild) as exc:
                    stackdeploy.answer(self.run_dir, name, request, False, str(exc))
                else:
                    stackdeploy.answer(self.run_dir, name, request, True, revision=build.revision,
                                       package=build.package)

    def check_children(self) -> None:
        """Raise StackError naming the first child that died without being asked to."""
        for name, child in self.children.items():
            if not child.alive and name not in self._stopped_on_purpose:
                code = child.process.returncode if child.process else "?"
                raise StackError(f"{name} exited unexpectedly (code {code}); see {child.log_path}:\n"
                                 f"{child.log_tail()}")

    def print_endpoints(self, until: str = "Press Ctrl-C to stop.") -> None:
        """The URLs, then `until`: what ends this run (Ctrl-C for `bongsu up`, the drill for the demo)."""
        self.console.print(f"[bold]Bongsu local stack[/] (run folder {self.run_dir})")
        for name, url in self.urls.items():
            self.console.print(f"  {name:<13} {url}")
        self.console.print(until)

    def wait_until_interrupted(self) -> None:
        try:
            while True:
                self.check_children()
                time.sleep(1)
        except KeyboardInterrupt:
            self.console.print("stopping…")


def _initial_builds(services: list[str]) -> dict[str, Build]:
    return {name: releases.running(name) for name in services if name in releases.BUILDS}


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
