"""The dashboards generator registered in bongsu/build.py: Grafana JSON plus provisioning files."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from grafanalib._gen import DashboardEncoder

from bongsu.catalog import Catalog
from bongsu.generator import BuildOptions, Finding, Generator

from dashboards import provisioning, validate
from dashboards.boards import boards


def generate(catalog: Catalog, options: BuildOptions) -> Iterable[Path]:
    """Write `grafana/dashboards/<uid>.json` for every dashboard and the provisioning files."""
    folder = options.out / "grafana" / "dashboards"
    folder.mkdir(parents=True, exist_ok=True)
    made = boards(catalog)
    written = []
    for stale in folder.glob("*.json"):  # a dashboard removed from the catalog must not linger
        stale.unlink()
    for board in made:
        path = folder / f"{board.uid}.json"
        # Compact, keys sorted: json's C encoder (no indent) is what keeps a 1,000-service build quick,
        # and the Kubernetes ConfigMaps embed this text as it is.
        path.write_text(json.dumps(board.dashboard.to_json_data(), cls=DashboardEncoder, sort_keys=True,
                                   separators=(",", ":")) + "\n")
        written.append(path)
    return written + provisioning.write(options.out, made, options)


def check(catalog: Catalog, options: BuildOptions) -> Iterable[Finding]:
    return validate.check(catalog, options)


GENERATOR = Generator("dashboards", generate, check)
