"""Per-service text rendered once per shape and specialised by name (bongsu/shapes.py) is byte for byte
what each generator renders for the service in full, for names chosen to break a careless substitution:
names that are prefixes of one another or of their team's, underscores (CamelCase and Kubernetes
spell them differently), YAML keywords, one-letter names, trailing and doubled separators, a description holding the stand-ins' spellings, a custom selector, an experiment, SLOs with
routes, own tiers and no traffic floor, a service without SLOs, the platform team's services."""

from __future__ import annotations

import functools

import pytest
import yaml

from alert_rules import build as alerting
from bongsu.catalog import Catalog, parse_catalog
from bongsu.deploy import kubernetes as deploy
from bongsu.shapes import PROBE_SERVICE, Specialiser
from dashboards import build as dashboarding

AVAILABILITY = "{name: availability, sli: http_availability, objective: 99.9, window: 30d}"
LATENCY = "{name: latency, sli: http_latency, threshold: 250ms, objective: 99, window: 30d}"
ROUTED = ("{name: checkout, sli: http_availability, objective: 99.5, window: 28d, min_request_rate: 0,"
          " routes: ['/orders/{id}', /pay]}")
TIERED = ("{name: fast-burn, sli: http_latency, threshold: 500ms, objective: 95, window: 7d, tiers: "
          "[{long_window: 1h, short_window: 5m, factor: 10, severity: page}]}")

CATALOG = f"""
slack: {{default_channel: '#alerts'}}
platform_team: a
teams:
  - {{name: a, slack_channel: '#a'}}
  - {{name: ab, slack_channel: C0123ABCDEF}}
  - {{name: a_b, slack_channel: '@a-b'}}
  - {{name: "off", slack_channel: '#off'}}
services:
  - {{name: a, team: a, slos: [{AVAILABILITY}, {LATENCY}]}}
  - {{name: ab, team: ab, slos: [{AVAILABILITY}, {LATENCY}]}}
  - {{name: abc, team: a_b, description: the ab of abc, slos: [{AVAILABILITY}, {LATENCY}]}}
  - {{name: a_b-c, team: a_b, slos: [{AVAILABILITY}, {LATENCY}]}}
  - {{name: "yes", team: a, slos: [{AVAILABILITY}, {LATENCY}]}}
  - {{name: n, team: "off", slos: [{AVAILABILITY}]}}
  - {{name: b, team: "off", slos: [{AVAILABILITY}, {LATENCY}]}}
  - {{name: orders, team: ab, selector: {{app: shop-orders, tier: web}}, slos: [{ROUTED}, {TIERED}]}}
  - {{name: orders_v2, team: ab, slos: [{ROUTED}, {TIERED}]}}
  - {{name: quiet, team: a}}
  - {{name: quiet_too, team: a_b}}
  - {{name: {"long-" * 12}name, team: ab, slos: [{AVAILABILITY}]}}
  - {{name: trailing-, team: ab, slos: [{AVAILABILITY}, {LATENCY}]}}
  - {{name: stand-in, team: ab, description: "not zqxsvc-probe_z or ZqxteamProbeZ", slos: [{AVAILABILITY}]}}
  - {{name: two__in-_a-row, team: ab, slos: [{AVAILABILITY}, {LATENCY}]}}
experiments:
  - {{name: checkout-button, service: ab, variants: [control, one-click]}}
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return parse_catalog(CATALOG, "awkward.yaml")


RENDERERS = {
    "alerting": functools.partial(alerting._service_texts, "Generated for a test."),
    "dashboards": dashboarding._service_texts,
    "servicemonitors": deploy._monitor_texts,
    "catalog": deploy._catalog_texts,
}


@pytest.mark.parametrize("part", sorted(RENDERERS))
def test_specialised_text_is_what_the_generator_renders_in_full(catalog, part):
    render = RENDERERS[part]
    specialiser = dashboarding.specialiser(catalog) if part == "dashboards" else Specialiser(catalog, render)
    for service in catalog.services:
        assert specialiser.texts(service) == render(catalog, service), service.name


def test_whole_files_equal_the_plain_dumps(catalog):
    """The catalog ConfigMap's text is PyYAML's dump of the whole model; the ServiceMonitors file its
    dump of every object."""
    assert deploy.catalog_yaml(catalog) == yaml.dump(deploy._plain(catalog), Dumper=deploy._DUMPER, sort_keys=False)
    monitors = [*map(deploy._service_monitor, catalog.services), deploy._notifier_monitor()]
    assert deploy.monitors_yaml(catalog) == yaml.dump_all(monitors, Dumper=deploy._DUMPER, sort_keys=False)


def test_services_of_one_shape_share_one_rendering(catalog):
    calls: list[str] = []

    def render(catalog: Catalog, service) -> tuple[str | None, ...]:
        calls.append(service.name)
        return alerting._service_texts("header", catalog, service)

    specialiser = Specialiser(catalog, render)
    for name in ("a", "ab", "a_b-c"):
        specialiser.texts(catalog.service(name))
    assert calls == [PROBE_SERVICE]
    specialiser.texts(catalog.service("abc"))  # another shape: it has a description
    assert calls == [PROBE_SERVICE, PROBE_SERVICE]
    # A YAML keyword as a name (or its team's) would be quoted where the stand-in is not: in full.
    specialiser.texts(catalog.service("yes"))
    specialiser.texts(catalog.service("b"))
    assert calls == [PROBE_SERVICE, PROBE_SERVICE, "yes", "b"]


def test_a_stand_in_left_in_the_text_means_a_full_rendering(catalog):
    """A spelling of the name that the specialiser does not derive (here upper case) leaves the stand-in
    in the probe's text: every service is then rendered in full, never with a stand-in left in."""
    def render(catalog: Catalog, service) -> tuple[str | None, ...]:
        return (f"job: {service.name}, shout: {service.name.upper()}", None)

    specialiser = Specialiser(catalog, render)
    for service in catalog.services:
        assert specialiser.texts(service) == render(catalog, service)


def test_check_runs_promtool_on_one_service_per_shape(catalog, tmp_path):
    """promtool would run the same tests again for every service of a shape (about 3 s of CPU each):
    `bongsu check` tests the first of each shape, every service rendered on its own, and the
    hand-written tests."""
    from alert_rules.verify import tested_files
    from bongsu.generator import BuildOptions

    alerting.generate(catalog, BuildOptions(out=tmp_path, webhook_token="test"))
    every = sorted(str(p) for p in (tmp_path / "prometheus" / "tests").glob("*.yaml"))
    tested, alike = tested_files(catalog, tmp_path, every)
    names = {path.rsplit("/", 1)[1] for path in tested}
    assert {"bongsu-a.slos.test.yaml", "bongsu-a.test.yaml", "bongsu-yes.slos.test.yaml", "bongsu-b.test.yaml",
            "bongsu-abc.slos.test.yaml", "bongsu-orders.slos.test.yaml", "bongsu-orders_v2.slos.test.yaml",
            "bongsu-quiet.test.yaml"} <= names
    assert any(name.startswith("handwritten-") for name in names)
    # Same shape as `a` (their teams differ only in name and channel): the same tests, other names.
    assert not names & {"bongsu-ab.slos.test.yaml", "bongsu-ab.test.yaml", "bongsu-a_b-c.slos.test.yaml",
                        "bongsu-quiet_too.test.yaml"}
    assert alike == 3
    assert len(every) - len(tested) == 5  # ab and a_b-c: two files each; quiet_too: no SLOs, one
