"""Every dashboard for a catalog, generated and hand-written, as Grafana JSON.

One list feeds `bongsu build` (files), `bongsu dashboards push` (Grafana API) and the preview, so the
three can never disagree about what exists.
"""

from __future__ import annotations

import importlib
import json
import pkgutil

from grafanalib._gen import DashboardEncoder

from collections.abc import Sequence

from bongsu.catalog import Catalog, Service
from bongsu.errors import BongsuError

from dashboards import handwritten
from dashboards.experiments import experiment_board
from dashboards.overview import overview_board
from dashboards.panels import Board, Placed
from dashboards.red import red_board
from dashboards.self_health import self_health_board
from dashboards.slo import slo_board


def handwritten_boards(catalog: Catalog) -> list[Board]:
    """Boards from the modules in dashboards/handwritten/, in module-name order."""
    found = []
    for module_info in sorted(pkgutil.iter_modules(handwritten.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{handwritten.__name__}.{module_info.name}")
        make = getattr(module, "board", None)
        if not callable(make):
            raise BongsuError("must define board(catalog) -> Board", where=f"dashboards/handwritten/{module_info.name}.py")
        made = make(catalog)
        if made is not None:
            found.append(made)
    return found


def service_boards(catalog: Catalog, service: Service) -> list[Board]:
    """A service's own dashboards: RED and SLOs."""
    return [red_board(catalog, service), slo_board(catalog, service)]


def platform_boards(catalog: Catalog) -> list[Board]:
    """The boards that come first: the overview and Bongsu's own health."""
    return [overview_board(catalog), self_health_board(catalog)]


def closing_boards(catalog: Catalog) -> list[Board]:
    """The boards after the services': experiments, then the hand-written ones."""
    return [*(experiment_board(catalog, e) for e in catalog.experiments), *handwritten_boards(catalog)]


def boards(catalog: Catalog) -> list[Board]:
    """All dashboards; raises ValueError when two share a UID (Grafana would overwrite one silently)."""
    found = platform_boards(catalog)
    for service in catalog.services:
        found += service_boards(catalog, service)
    found += closing_boards(catalog)
    unique_uids(found)
    return found


def unique_uids(found: Sequence[Placed]) -> None:
    seen: dict[str, str] = {}
    for board in found:
        if board.uid in seen:
            raise BongsuError(f"dashboards {seen[board.uid]!r} and {board.title!r} share the UID "
                             f"{board.uid!r}; every dashboard needs its own")
        seen[board.uid] = board.title


def to_json(board: Board) -> dict:
    """The dashboard as Grafana's JSON model (plain dicts and lists)."""
    return json.loads(json.dumps(board.dashboard.to_json_data(), cls=DashboardEncoder))
