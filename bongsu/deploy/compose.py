"""The compose stack's build options: every address a compose service name.

compose/docker-compose.yml runs `bongsu deploy compose` in its one-shot `config` service, which runs
the whole build with these options (bongsu.build.build_for_compose), so Prometheus, Alertmanager and
Grafana read configuration generated from the catalog at start-up, never a committed copy.
"""

from __future__ import annotations

from pathlib import Path

from bongsu.catalog import Catalog
from bongsu.generator import BuildOptions

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
