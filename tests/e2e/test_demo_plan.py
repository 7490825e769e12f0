"""`bongsu demo` says how long it takes and what it waits for, instead of "Press Ctrl-C to stop"."""

from __future__ import annotations

from bongsu.catalog import load_catalog
from bongsu.demo import DEMO_DRILL, plan
from chaos.experiments import experiments


def test_the_plan_names_every_wait_with_its_bound():
    experiment = experiments(load_catalog())[DEMO_DRILL]
    text = plan(experiment)
    assert "ends by itself" in text and "Press Ctrl-C to stop" not in text
    for step in experiment["method"]:
        if step["type"] == "probe":
            assert f"{step['name']} (at most {step['provider']['arguments']['timeout_s'] / 60:g} min)" in text
    assert "PaymentsAvailabilityBudgetBurn fires (at most 5 min)" in text
