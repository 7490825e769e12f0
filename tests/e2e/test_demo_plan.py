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
    # The demo runs the bad-deploy drill (#11b): the page, its evidence, Roll back, the resolution.
    assert "1. PaymentsAvailabilityBudgetBurn fires (at most " in text
    assert "payments runs 1.4.2 again" in text and "PaymentsAvailabilityBudgetBurn resolves" in text
