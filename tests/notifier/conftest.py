"""Real processes for the notifier tests: `bongsu notifier serve`, Alertmanager and the Slack server.

Each helper starts its process on free loopback ports through bongsu.processes and stops it at the
end; nothing is mocked but Slack itself (tests/slack_server.py).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from bongsu.binaries import find
from bongsu.processes import Child, alertmanager, free_port, prometheus
from tests.postgres_server import PostgresServer
from tests.slack_server import SlackServer

WEBHOOK_TOKEN = "test-webhook-token-4f9a"
SLACK_TOKEN = "fake-bot-token-77c1"
SIGNING_SECRET = "test-signing-secret-0d2e"
BONGSU = Path(sys.executable).parent / "bongsu"


# Who may press buttons in the test catalog: two users directly, one more through a user group.
RESPONDERS = {"users": ["UALICE", "UBOB"], "usergroups": ["SONCALL"]}
USERGROUPS = {"SONCALL": ["UCAROL"]}


def responders_catalog(workdir: Path) -> Path:
    """The demo catalog with responders for every team (the demo's own catalog names none)."""
    import yaml

    from bongsu.catalog import DEFAULT_CATALOG

    document = yaml.safe_load(DEFAULT_CATALOG.read_text())
    for team in document["teams"]:
        team["responders"] = RESPONDERS
    path = workdir / "catalog.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _require_tools() -> None:
    find("alertmanager")  # MissingBinary carries the install command
    if not BONGSU.exists():
        raise RuntimeError(f"{BONGSU} is missing: install the project with `pip install -e '.[all]'`")


class NotifierProcess:
    """`bongsu notifier serve` as Alertmanager and the acceptance checks run it."""

    def __init__(self, workdir: Path, slack: SlackServer | None, *, alertmanager_url: str | None = None,
                 prometheus_url: str | None = None, name: str = "notifier", catalog: Path | None = None,
                 store: str | None = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.state = workdir / "state" / "state.sqlite"
        self.log = workdir / f"{name}.log"
        env = {"BONGSU_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_BOT_TOKEN": SLACK_TOKEN if slack else "", "SLACK_API_URL": slack.url if slack else "",
               "ALERTMANAGER_URL": alertmanager_url or "", "PROMETHEUS_URL": prometheus_url or ""}
        argv = [str(BONGSU), "notifier", "serve", "--listen", f"127.0.0.1:{self.port}", "--state", str(self.state)]
        argv += ["--catalog", str(catalog or responders_catalog(workdir))]
        if store:
            argv += ["--store", store]
        self.child = Child(name, argv,
                           self.log, health_url=f"{self.url}/readyz", env=env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NotifierProcess:
        self.child.start()
        self.child.wait_healthy(timeout=90)
        return self

    def kill(self) -> None:
        self.child.kill()

    def stop(self) -> None:
        self.child.stop()

    def post(self, path: str, body: bytes, token: str | None = WEBHOOK_TOKEN, **headers: str) -> httpx.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.post(f"{self.url}{path}", content=body, headers=headers, timeout=10)

    def deliveries(self, everything: bool = True) -> list[dict]:
        """`GET /api/deliveries`; with `everything`, pending and failed ones too (`?all=1`)."""
        answer = httpx.get(f"{self.url}/api/deliveries", headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
                           params={"all": "1"} if everything else {}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def metric(self, name: str, **labels: str) -> float:
        """A sample's value from /metrics (0 when absent)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        pattern = re.compile(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", re.M)
        for found_labels, value in pattern.findall(text):
            if ",".join(sorted(found_labels.split(","))) == wanted or (not wanted and not found_labels):
                return float(value)
        return 0.0

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


class AlertmanagerProcess:
    """A real Alertmanager whose only receiver is the notifier's webhook, with short timers."""

    def __init__(self, workdir: Path, notifier_url: str, name: str = "alertmanager",
                 group_wait: str = "1s", group_interval: str = "2s") -> None:
        self.port = free_port()
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "alertmanager.yml"
        config.write_text(json.dumps({
            "route": {"receiver": "notifier", "group_by": ["alertname"], "group_wait": group_wait,
                      "group_interval": group_interval, "repeat_interval": "1h"},
            "receivers": [{"name": "notifier", "webhook_configs": [{
                "url": f"{notifier_url}/alertmanager", "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer", "credentials": WEBHOOK_TOKEN}}}]}],
        }, indent=2))
        self.child = alertmanager(config, self.port, self.dir / "data", self.dir / "alertmanager.log")
        self.child.name = name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AlertmanagerProcess:
        self.child.start()
        self.child.wait_healthy(timeout=60)
        return self

    def stop(self) -> None:
        self.child.stop()

    def send(self, *alerts: dict) -> None:
        answer = httpx.post(f"{self.url}/api/v2/alerts", json=list(alerts), timeout=10)
        assert answer.status_code == 200, answer.text

    def silences(self) -> list[dict]:
        return httpx.get(f"{self.url}/api/v2/silences", timeout=10).json()


def alert(name: str, channel: str, *, starts: datetime, resolved: bool = False, expr: str | None = None,
          **labels: str) -> dict:
    """An alert as Prometheus would post it; `resolved` sets endsAt to now; `expr` goes into generatorURL."""
    now = datetime.now(timezone.utc)
    return {
        "labels": {"alertname": name, "severity": "page", "slack_channel": channel, **labels},
        "annotations": {"summary": f"{name} is burning", "description": "Test alert from the notifier suite."},
        "startsAt": starts.isoformat(),
        "endsAt": (now if resolved else now + timedelta(hours=1)).isoformat(),
        "generatorURL": "http://127.0.0.1:9/graph" + (f"?g0.expr={quote(expr)}&g0.tab=1" if expr else ""),
    }


def settle(check, timeout: float = 5.0) -> None:
    """Hold `check` true for `timeout` seconds: proves nothing more arrives (no late duplicates)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check()
        time.sleep(0.25)
    check()


@pytest.fixture(scope="session")
def slack() -> Iterator[SlackServer]:
    _require_tools()
    with SlackServer(token=SLACK_TOKEN, usergroups=USERGROUPS) as server:
        yield server


@pytest.fixture(autouse=True)
def _slack_healthy(request) -> Iterator[None]:
    """Faults injected by one test never leak into the next."""
    yield
    if "slack" in request.fixturenames:
        request.getfixturevalue("slack").heal()


def start_prometheus(workdir: Path) -> Child:
    """A real Prometheus scraping itself every second: data for the notifier's graphs."""
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(json.dumps({"global": {"scrape_interval": "1s"}, "scrape_configs": [
        {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]}))
    child = prometheus(config, port, workdir / "prometheus-data", workdir / "prometheus.log")
    child.start()
    child.wait_healthy(timeout=60)
    return child


@pytest.fixture(scope="session")
def stack(slack: SlackServer, tmp_path_factory) -> Iterator[tuple[NotifierProcess, AlertmanagerProcess]]:
    """One notifier behind one Alertmanager (and a Prometheus for graphs), shared by scenarios that
    each use their own channel."""
    workdir = tmp_path_factory.mktemp("stack")
    prom = start_prometheus(workdir)
    notifier = NotifierProcess(workdir, slack, prometheus_url=prom.health_url.removesuffix("/-/ready"))
    am = AlertmanagerProcess(workdir, notifier.url)
    notifier.child.env["ALERTMANAGER_URL"] = am.url
    try:
        notifier.start()
        am.start()
        yield notifier, am
    finally:
        am.stop()
        notifier.stop()
        prom.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL for the session (initdb in a temp folder, free port); a database per test."""
    with PostgresServer() as server:
        yield server


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL."""
    return postgres.create_database(f"t{next(_databases)}_{os.getpid()}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path) -> Iterator:
    """Every store backend, for the contract tests (tests/notifier/test_store_contract.py)."""
    from notifier.store import open_store

    target = request.getfixturevalue("postgres_url") if request.param == "postgresql" else tmp_path / "state.sqlite"
    opened = open_store(target)
    try:
        yield opened
    finally:
        opened.close()
