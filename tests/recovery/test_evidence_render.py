"""The Evidence section, report reply and rollback record as the on-call reads them, within Slack's limits."""

from __future__ import annotations

import json

from bongsu.builds import _from_samples
from notifier.evidence_blocks import evidence_blocks, report_reply, rollback_button, rollback_line
from notifier.recovery_store import RollbackRecord
from notifier.sinks import plain_text

REV_BAD, REV_GOOD = "9b7418633446b6fb8b8a93b9117c1b8d153c7c99", "50fd0a8e1b44aaaaaaaaaaaaaaaaaaaaaaaaaaaa"


def _evidence(**overrides) -> dict:
    fingerprint = {"type": "KeyError", "message": "'amex'", "file": "examples/shop/fees_1_5_0.py", "line": 21,
                   "function": "fee_cents", "source": "rate = NETWORK_FEE_BPS[network(card_number)]", "count": 57,
                   "version": "1.5.0", "revision": REV_BAD, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                   "route": "/charges", "status": 500}
    evidence = {"service": "payments", "since": 0, "until": 4000, "started_at": 3600.0,
                "fingerprints": [fingerprint],
                "reports": [{**fingerprint, "method": "POST", "url": "http://127.0.0.1/charges",
                             "package": "shop-payments==1.5.0+src.9b7418633446", "span_id": "00f067aa0ba902b7",
                             "breadcrumbs": [{"type": "log", "message": "x" * 5000}] * 30,
                             "request": {"body": "y" * 5000}, "frames": [
                                 {"file": "examples/shop/fees_1_5_0.py", "line": 21, "function": "fee_cents",
                                  "source": "rate = NETWORK_FEE_BPS[network(card_number)]", "culprit": True}]}],
                "routes": [{"method": "POST", "route": "/charges", "status": "500", "count": 57}],
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "deploy": {"version": "1.5.0", "revision": REV_BAD, "package": "p", "deployed_at": 3420.0,
                           "previous": {"version": "1.4.2", "revision": REV_GOOD}},
                "rollback": {"from": "1.5.0", "to": "1.4.2"}, "problems": []}
    return {**evidence, **overrides}


def test_evidence_names_error_line_build_commit_and_deploy() -> None:
    blocks = [b.to_dict() for b in evidence_blocks(_evidence(), "https://grafana.example/explore?trace={trace_id}")]
    text = plain_text(blocks)
    assert "deployed 1.5.0 (commit 9b74186) 3 min before this alert; previous 1.4.2 (50fd0a8)" in text
    assert "KeyError: 'amex'" in text and "examples/shop/fees_1_5_0.py:21" in text and "in fee_cents" in text
    assert "rate = NETWORK_FEE_BPS[network(card_number)]" in text and "57x" in text
    assert "POST /charges 500 x57" in text
    assert "<https://grafana.example/explore?trace=4bf92f3577b34da6a3ce929d0e0e4736|" in blocks[0]["text"]["text"]
    assert len(blocks[0]["text"]["text"]) <= 3000


def test_no_deploy_and_no_reports_say_so() -> None:
    text = plain_text([b.to_dict() for b in evidence_blocks(_evidence(
        fingerprints=[], deploy={"version": "1.4.2", "revision": REV_GOOD, "package": "p", "deployed_at": None,
                                 "previous": None}))])
    assert "running 1.4.2 (commit 50fd0a8); no deploy in the hour before this alert" in text
    assert "No error reports" in text


def test_full_report_reply_stays_within_limits() -> None:
    reply = report_reply(_evidence())
    assert len(reply) <= 3900
    assert "Top error report" in reply and "POST" in reply and REV_BAD in reply and "culprit" in reply


def test_rollback_button_confirms_and_disappears_once_claimed() -> None:
    button = rollback_button(_evidence(), "g1", "payments", []).to_dict()
    assert button["text"]["text"] == "Roll back to 1.4.2" and button["confirm"]["confirm"]["text"] == "Roll back"
    assert json.loads(button["value"]) == {"group": "g1", "from": "1.5.0", "to": "1.4.2"}
    record = RollbackRecord("k", "gk", "payments", "U0PAY", "ana", "1.5.0", "1.4.2", 0.0, "running", None, None)
    assert rollback_button(_evidence(), "g1", "payments", [record]) is None
    assert rollback_button(_evidence(rollback=None), "g1", "payments", []) is None
    done = RollbackRecord("k", "gk", "payments", "U0PAY", "ana", "1.5.0", "1.4.2", 0.0, "succeeded", "ok", 4.5)
    assert "from 1.5.0 to 1.4.2 by *ana* (<@U0PAY>)" in rollback_line(done) and "succeeded* after 4.5s" in rollback_line(done)


def test_build_history_finds_the_deploy_and_the_rollback() -> None:
    good, bad = ("1.4.2", REV_GOOD, "p1"), ("1.5.0", REV_BAD, "p2")
    seen = _from_samples({good: set(range(0, 100, 5)), bad: set(range(100, 200, 5))})
    assert (seen.current.version, seen.previous.version, seen.deployed_at) == ("1.5.0", "1.4.2", 100)
    seen = _from_samples({good: set(range(0, 100, 5)) | set(range(150, 200, 5)), bad: set(range(100, 150, 5))})
    assert (seen.current.version, seen.previous.version, seen.deployed_at) == ("1.4.2", "1.5.0", 150)
    seen = _from_samples({good: set(range(0, 100, 5))})
    assert seen.previous is None and seen.deployed_at is None
