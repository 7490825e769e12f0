"""The runner registers each generator under its part's own name and runs the packager last."""

from __future__ import annotations

from bongsu.build import generators
from bongsu.generator import Stage


def test_generators_are_registered_under_their_true_names_in_build_order() -> None:
    registered = generators()
    assert [g.name for g in registered] == ["prometheus", "alert_rules", "dashboards", "deploy"]
    assert [g.stage for g in registered] == [Stage.GENERATE] * 3 + [Stage.PACKAGE]
    assert {g.generate.__module__ for g in registered} == {
        "bongsu.scrape_config", "alert_rules.build", "dashboards.build", "bongsu.deploy"}
    assert all(g.check is not None for g in registered)
