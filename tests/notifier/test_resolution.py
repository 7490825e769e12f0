"""A resolved message reports the alert's value at resolution (from the real Prometheus), not the value
the firing description was rendered with."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx

from bongsu.observe import wait_for
from notifier.resolution import value_expression
from tests.notifier.conftest import alert

# sum(up) of the test Prometheus (it scrapes itself) is 1, so this is 7 while it "fires".
EXPR = 'sum(up{job="prometheus"}) * 7 > 1\nand on() vector(1) > 0'


def test_the_value_is_the_expression_up_to_its_first_comparison():
    assert value_expression(EXPR) == 'sum(up{job="prometheus"}) * 7'
    burn = ('slo:sli_error:ratio_rate1h{service="payments",slo="availability"} / 0.001 > 14.4\n'
            'and on(service, slo)\nslo:sli_error:ratio_rate5m{service="payments",slo="availability"} / 0.001 > 14.4')
    assert value_expression(burn) == 'slo:sli_error:ratio_rate1h{service="payments",slo="availability"} / 0.001'
    assert value_expression('max(x{a=">"}) >= 2') == 'max(x{a=">"})'
    assert value_expression("absent(up)") == "absent(up)"


def test_resolved_message_shows_the_value_at_resolution(stack, slack):
    notifier, am = stack
    channel, name = "#t-resolution", "ResolutionValueCheck"
    # The value is read at the alert's end: let the test Prometheus hold a sample of `up` first.
    prometheus = notifier.child.env["PROMETHEUS_URL"]
    wait_for(lambda: httpx.get(f"{prometheus}/api/v1/query", params={"query": 'sum(up{job="prometheus"})'},
                               timeout=5).json()["data"]["result"], 60, "a sample of up in the test Prometheus")
    t0 = datetime.now(timezone.utc) - timedelta(minutes=5)
    firing = alert(name, channel, starts=t0, expr=EXPR)
    firing["annotations"]["description"] = "Burning 15.73x faster than sustainable."
    am.send(firing)
    slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, "the firing message")
    resolved = alert(name, channel, starts=t0, expr=EXPR, resolved=True)
    resolved["annotations"]["description"] = "Burning 15.73x faster than sustainable."
    am.send(resolved)
    slack.wait_for(lambda s: s.roots(channel)[0]["text"].startswith("[RESOLVED] "), 60, "the resolved update")
    blocks = json.dumps(slack.roots(channel)[0]["blocks"])
    assert "Value at resolution: *7*" in blocks, blocks
    assert "While firing: Burning 15.73x faster than sustainable." in blocks, blocks
