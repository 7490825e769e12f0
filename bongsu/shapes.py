"""Per-service text rendered once per shape, then specialised by name.

Most of a large build is per-service text that differs between services only in their names: every
service with the same SLOs gets the same promtool scenarios, rules and panels. A `Specialiser` renders
such text through the generator's own code for a *probe*: the real service and its team with
unmistakable stand-in names, once per shape (everything else about them), and then writes each real
service's names into that text with plain string replacement.

The result is byte-identical to rendering each service in full (tests/build/test_shapes.py compares
both for awkward names). Where that could fail, the service is rendered in full instead: a name whose
spelling could change the quoting around it (a YAML keyword such as `yes` or `off`), a very long name,
a name ending in `-` or `_` or holding two in a row, a name holding a stand-in's stem, or a rendering in which a stand-in survives the replacement (a
spelling of the name this module does not derive).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bongsu.catalog import Catalog, Service, Team, camel

# Each has `-` and `_`, so the name, its CamelCase and its Kubernetes spelling all differ.
PROBE_SERVICE = "zqxsvc-probe_z"
PROBE_TEAM = "zqxteam-probe_z"
PROBE_CHANNEL = "#zqxchan-probe"
_STEMS = ("zqxsvc", "zqxteam", "zqxchan")
# Words YAML 1.1 readers turn into booleans or null: a name spelled so would be quoted where the
# probe's is not.
_KEYWORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
_LONGEST = 63

Texts = tuple[str | None, ...]


def _spellings(name: str) -> tuple[str, ...]:
    """How generated text spells a catalog name: as written, in alert names, in Kubernetes names."""
    return name, camel(name), name.replace("_", "-")


# Separators one at a time between letters and digits, as in the stand-ins: Kubernetes names strip a
# trailing `-` and some spellings fold a run of them into one.
_SEPARATED = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


def _plain(name: str) -> bool:
    lowered = name.lower()
    return (len(name) <= _LONGEST and _SEPARATED.match(name) is not None
            and not any(stem in lowered for stem in _STEMS)
            and not any(spelling.lower() in _KEYWORDS for spelling in _spellings(name)))


_PROBES = (*_spellings(PROBE_SERVICE), *_spellings(PROBE_TEAM))
_PROBE = re.compile("(" + "|".join(re.escape(p) for p in sorted(set(_PROBES), key=len, reverse=True)) + ")")


class _Template:
    """A probe's text cut at every stand-in: literal pieces at even places, stand-ins at odd ones."""

    def __init__(self, text: str) -> None:
        self.pieces = _PROBE.split(text)
        self.slots = [_PROBES.index(probe) for probe in self.pieces[1::2]]

    def fill(self, names: tuple[str, ...]) -> str:
        pieces = self.pieces.copy()
        pieces[1::2] = [names[slot] for slot in self.slots]
        return "".join(pieces)


def _clean(text: str | None) -> bool:
    """No stand-in left once every known spelling is replaced."""
    if text is None:
        return True
    lowered = _PROBE.sub("", text).lower()
    return not any(stem in lowered for stem in _STEMS)


def _probe(catalog: Catalog, service: Service) -> tuple[str, Service, Team] | None:
    """(shape key, probe service, probe team); None for a service rendered on its own."""
    team = catalog.team(service.team)
    if team is None or not (_plain(service.name) and _plain(service.team)):
        return None
    probe_team = team.model_copy(update={"name": PROBE_TEAM, "slack_channel": PROBE_CHANNEL})
    # A stand-in written in the service's or team's own fields (a description) would be replaced too.
    own = (service.model_dump_json() + team.model_dump_json()).lower()
    if any(stem in own for stem in _STEMS):
        return None
    probe = service.model_copy(update={"name": PROBE_SERVICE, "team": PROBE_TEAM})
    return probe.model_dump_json() + probe_team.model_dump_json(), probe, probe_team


def shape_groups(catalog: Catalog) -> list[list[Service]]:
    """The catalog's services by shape: a `Specialiser` renders each group's text once, so the services
    of a group get the same text up to their names. A service rendered on its own is a group of one."""
    groups: dict[str, list[Service]] = {}
    for service in catalog.services:
        probe = _probe(catalog, service)
        groups.setdefault(probe[0] if probe else f"\0{service.name}", []).append(service)
    return list(groups.values())


class Specialiser:
    """`render(catalog, service)` for every service, each shape rendered once.

    `render` returns a tuple of texts (None for a file a service does not get) that depend on the
    catalog only through the service, its team and catalog-wide settings, never on other services."""

    def __init__(self, catalog: Catalog, render: Callable[[Catalog, Service], Texts],
                 full: Callable[[Service], bool] | None = None) -> None:
        """`full`: services whose text depends on more than the above (rendered in full)."""
        self._catalog = catalog
        self._render = render
        self._full = full
        self._templates: dict[str, tuple[_Template | None, ...] | None] = {}

    def _template(self, service: Service) -> tuple[_Template | None, ...] | None:
        probe = _probe(self._catalog, service)
        if probe is None:
            return None
        key, probe_service, probe_team = probe
        if key not in self._templates:
            catalog = self._catalog.model_copy(update={
                "teams": [*self._catalog.teams, probe_team], "services": [*self._catalog.services, probe_service]})
            texts = self._render(catalog, probe_service)
            self._templates[key] = (tuple(None if text is None else _Template(text) for text in texts)
                                    if all(_clean(text) for text in texts) else None)
        return self._templates[key]

    def texts(self, service: Service) -> Texts:
        """What `render` gives for `service`, byte for byte."""
        template = None if self._full and self._full(service) else self._template(service)
        if template is None:
            return self._render(self._catalog, service)
        names = (*_spellings(service.name), *_spellings(service.team))
        return tuple(None if part is None else part.fill(names) for part in template)
