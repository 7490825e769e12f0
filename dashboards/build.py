"""The dashboards generator registered in bongsu/build.py: Grafana JSON plus provisioning files."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from grafanalib._gen import DashboardEncoder

from bongsu.catalog import Catalog, Service
from bongsu.generator import BuildOptions, Finding, Generator
from bongsu.shapes import Specialiser

from dashboards import provisioning, validate
from dashboards.boards import closing_boards, platform_boards, service_boards, unique_uids
from dashboards.panels import Board, Placed, Placement


def _text(board: Board) -> str:
    # Compact, keys sorted: json's C encoder (no indent) is what keeps a 1,000-service build quick,
    # and the Kubernetes ConfigMaps embed this text as it is.
    return json.dumps(board.dashboard.to_json_data(), cls=DashboardEncoder, sort_keys=True,
                      separators=(",", ":")) + "\n"


def _service_texts(catalog: Catalog, service: Service) -> tuple[str | None, ...]:
    """Per service board: its JSON file, then its placement (uid, title, folder uid and title, a line each)."""
    found: list[str | None] = []
    for board in service_boards(catalog, service):
        found += [_text(board), "\n".join((board.uid, board.title, board.folder_uid, board.folder_title))]
    return tuple(found)


def specialiser(catalog: Catalog) -> Specialiser:
    """A service's boards by shape; one that has experiments links to them, so it is rendered in full."""
    experimenting = {e.service for e in catalog.experiments}
    return Specialiser(catalog, _service_texts, full=lambda service: service.name in experimenting)


def generate(catalog: Catalog, options: BuildOptions) -> Iterable[Path]:
    """Write `grafana/dashboards/<uid>.json` for every dashboard and the provisioning files.

    A service's boards are rendered once per shape and specialised by name (bongsu/shapes.py)."""
    folder = options.out / "grafana" / "dashboards"
    folder.mkdir(parents=True, exist_ok=True)
    texts: list[tuple[Placed, str]] = [(board, _text(board)) for board in platform_boards(catalog)]
    per_service = specialiser(catalog)
    for service in catalog.services:
        made = per_service.texts(service)
        for text, placement in zip(made[::2], made[1::2]):
            assert text is not None and placement is not None
            texts.append((Placement(*placement.split("\n")), text))
    texts += [(board, _text(board)) for board in closing_boards(catalog)]
    placed = [placed for placed, _ in texts]
    unique_uids(placed)
    for stale in folder.glob("*.json"):  # a dashboard removed from the catalog must not linger
        stale.unlink()
    written = []
    for board, text in texts:
        path = folder / f"{board.uid}.json"
        path.write_text(text)
        written.append(path)
    return written + provisioning.write(options.out, placed, options)


def check(catalog: Catalog, options: BuildOptions) -> Iterable[Finding]:
    return validate.check(catalog, options)


GENERATOR = Generator("dashboards", generate, check)
