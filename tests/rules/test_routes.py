"""An SLO over some routes: its rules read only those `http_route` templates, and the generated tests
prove it (a route outside the SLO fails every request in every scenario)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bongsu.catalog import MAX_SLO_ROUTES, CatalogError, parse_catalog
from alert_rules import generate

from tests.rules.conftest import options, promtool_test

CATALOG = """
slack: {default_channel: "#alerts"}
teams: [{name: web, slack_channel: "#web"}]
services:
  - name: shop
    team: web
    slos:
      - {name: checkout, sli: http_availability, objective: 99.9, routes: ["/checkout", "/orders/{id}"]}
      - {name: checkout-latency, sli: http_latency, threshold: 500ms, objective: 99, window: 7d,
         routes: ["/checkout"]}
"""


def test_route_slos_select_their_routes_and_the_tests_prove_it(tmp_path: Path) -> None:
    generate(parse_catalog(CATALOG), options(tmp_path))
    rule_file = tmp_path / "prometheus" / "rules" / "bongsu-shop.yaml"
    text = rule_file.read_text()
    assert r'http_route=~"/checkout|/orders/\\{id\\}"' in text
    test_file = tmp_path / "prometheus" / "tests" / "bongsu-shop.slos.test.yaml"
    result = promtool_test(test_file)
    assert result.returncode == 0, result.stdout + result.stderr
    # Drop the route selection, as a generator bug would: the generated tests must notice.
    rule_file.write_text(text.replace(',http_route=~"/checkout"', ""))
    result = promtool_test(test_file)
    assert result.returncode != 0 and "ShopCheckoutLatencyBudget" in result.stdout + result.stderr


@pytest.mark.parametrize(("routes", "words"), [
    ("[]", "at least 1 item"),
    (str([f"/r{i}" for i in range(MAX_SLO_ROUTES + 1)]), f"at most {MAX_SLO_ROUTES} items"),
    ('["/a", "/a"]', "lists a route twice"),
    ("['/a\\\\b']", "without quotes, backslashes"),
])
def test_bad_route_lists_are_located(routes: str, words: str) -> None:
    data = yaml.safe_load(CATALOG)
    data["services"][0]["slos"][0]["routes"] = yaml.safe_load(routes)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(yaml.safe_dump(data), "c.yaml")
    assert "c.yaml: services[0].slos[0].routes" in str(caught.value) and words in str(caught.value)
