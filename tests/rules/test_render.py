"""The YAML emitter reads back exactly, for every generated file and for the awkward scalars."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bongsu.catalog import Catalog
from alert_rules import render, routing, rule_tests, rules

from tests.rules.conftest import options


@pytest.mark.parametrize("value", [
    "plain", "5m", "1h", "true", "No", "null", "~", "=", "=~", "", " leading", "trailing ", "a: b", "#x",
    "it's", 'team="payments"', "line\nbreak", "ends\n", "tab\tand\nlines", "\x07bell", "ünï", "- dash",
    "{{ $value }}", "[x]", "*ref", "&anchor", "!tag", "%", "@", "`", "0.25", "1e5", ".inf",
    0, 1, -3, 0.05, 1e-05, 1e16, 14.4, True, False, None, [], {}, [1, [2, 3]], {"a": {"b": []}},
    {"expr": "a\n  b\n\nc"}, ["x\ny", {"k": "v\nw"}],
])
def test_scalars_and_shapes_round_trip(value: object) -> None:
    document = {"key": value, "list": [value]}
    assert yaml.safe_load(render.dump(document)) == document


def test_every_generated_document_round_trips(catalog: Catalog, tmp_path: Path) -> None:
    for service in catalog.services:
        groups = {"groups": rules.service_groups(catalog, service)}
        assert yaml.safe_load(render.dump(groups, "header")) == groups
        tests = rule_tests.service_tests(catalog, service, "x.yaml")
        assert yaml.safe_load(render.dump(tests)) == tests
    config = routing.alertmanager_config(catalog, options(tmp_path))
    assert yaml.safe_load(render.dump(config)) == config
    assert list(yaml.safe_load_all(render.dump_all([config, {"b": 1}], "h\ni"))) == [config, {"b": 1}]


def test_multiline_promql_is_a_literal_block(catalog: Catalog) -> None:
    text = render.dump({"groups": rules.service_groups(catalog, catalog.service("payments"))})
    assert "    expr: |-\n      (sum(rate(http_server_request_duration_seconds_count" in text
