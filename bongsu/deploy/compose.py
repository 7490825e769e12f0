"""The compose stack's build: `bongsu build`'s generators, with every address a compose service name.

compose/docker-compose.yml runs this in its one-shot `config` service, so Prometheus, Alertmanager and
Grafana read configuration generated from the catalog at start-up, never a committed copy.
"""

from __future__ import annotations

from pathlib import Path

from bongsu.build import BuildOptions, build
from bongsu.catalog import Catalog

# Container ports inside the compose network; compose/docker-compose.yml exposes exactly these.
PROMETHEUS = "prometheus:9090"
ALERTMANAGER = "alertmanager:9093"
NOTIFIER = "notifier:9099"
SHOP_PORT = 8000


def compose_options(catalog: Catalog, out: Path) -> BuildOptions:
    """Build options addressing the parts by compose service name (`payments:8000`, `notifier:9099`)."""
    options = BuildOptions(out=out)
    options.targets = {service.name: [f"{service.name}:{SHOP_PORT}"] for service in catalog.services}
    options.targets.update(notifier=[NOTIFIER], prometheus=[PROMETHEUS], alertmanager=[ALERTMANAGER])
    options.alertmanager_address = ALERTMANAGER
    options.notifier_url = f"http://{NOTIFIER}/alertmanager"
    return options


def build_for_compose(catalog: Catalog, out: Path) -> list[Path]:
    """Everything `bongsu build` writes, for the compose network."""
    return build(catalog, compose_options(catalog, out))
