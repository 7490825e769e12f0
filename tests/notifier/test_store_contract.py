"""The store contract (notifier/store.py), run against every backend through the `store` fixture."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notifier.payload import parse_notification
from notifier.store import LeaseLost, Store, StoreError, open_store


def _state(status: str = "firing", group: str = "ContractCheck", starts: str = "2026-12-01T10:00:00Z",
           fingerprint: str = "fp1"):
    data = {"version": "4", "groupKey": f'{{}}:{{alertname="{group}"}}', "status": status, "receiver": "r",
            "groupLabels": {"alertname": group}, "commonLabels": {"alertname": group},
            "commonAnnotations": {}, "externalURL": "http://am:9093", "truncatedAlerts": 0,
            "alerts": [{"status": status, "labels": {"alertname": group}, "annotations": {}, "startsAt": starts,
                        "endsAt": "2026-12-01T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                        "generatorURL": "", "fingerprint": fingerprint}]}
    return parse_notification(json.dumps(data).encode())


def test_the_backend_implements_the_interface(store: Store):
    assert isinstance(store, Store)
    assert store.instance and store.writable()


def test_accept_is_idempotent_per_group_state_and_keeps_the_group_channel(store: Store):
    firing, resolved = _state(), _state("resolved")
    first = store.accept(firing, "#a")
    assert first is not None
    assert store.accept(firing, "#b") is None, "the same state twice is a duplicate"
    ids = store.accept_many([(firing, "#a", 1.0), (resolved, "#b", 2.0)])
    assert ids[0] is None and ids[1] is not None
    group = store.group(firing.group_key)
    assert group.channel == "#a" and group.root_ts is None and group.last is None
    assert store.group_by_id(group.group_id).group_key == firing.group_key
    assert store.group_by_id("nope") is None
    with pytest.raises(KeyError):
        store.group("{}:{unknown}")
    store.claim_lanes(30)
    assert store.pending_groups() == [firing.group_key]
    assert store.queue_depth() == 2


def test_delivery_steps_finish_and_report_in_order(store: Store):
    firing = _state(group="Steps")
    store.accept(firing, "#steps")
    store.claim_lanes(30)
    item = store.next_pending(firing.group_key)
    assert item.kind == "alert" and item.status == "firing" and item.steps == {}
    store.save_steps(item.id, {"post": {"sent": True}})
    assert store.next_pending(firing.group_key).steps == {"post": {"sent": True}}
    store.set_root(firing.group_key, "#steps", "C0STEPS01", "1.000001")
    store.finish(item, state="delivered", channel="#steps", ts="1.000001", thread_ts="1.000001")
    assert store.next_pending(firing.group_key) is None
    group = store.group(firing.group_key)
    assert group.channel_id == "C0STEPS01" and group.root_ts == "1.000001"
    assert group.last.status == "firing"
    refresh = store.enqueue_refresh(firing.group_key, "note")
    assert store.next_pending(firing.group_key).id == refresh
    shown = store.deliveries()
    assert [d["status"] for d in shown] == ["firing"] and shown[0]["ts"] == "1.000001"
    assert shown[0]["alerts"] == [{"fingerprint": "fp1", "status": "firing", "labels": {"alertname": "Steps"}}]
    resolved = _state("resolved", group="Steps")
    store.accept(resolved, "#steps")
    assert [d["state"] for d in store.deliveries(include_undelivered=True)] == ["delivered", "pending"]


def test_ack_silence_and_channel_are_remembered(store: Store):
    firing = _state(group="Buttons")
    store.accept(firing, "#buttons")
    store.claim_lanes(30)
    store.ack(firing.group_key, "UALICE")
    store.silence(firing.group_key, "UBOB", 2_000_000_000.0, "sil-1")
    store.set_channel(firing.group_key, "#fallback", None)
    group = store.group(firing.group_key)
    assert (group.acked_by, group.silenced_by, group.silenced_until, group.silence_id, group.channel) == (
        "UALICE", "UBOB", 2_000_000_000.0, "sil-1", "#fallback")
    assert group.acked_at is not None


def test_record_action_is_true_only_for_the_first_caller(store: Store):
    firing = _state(group="Clicks")
    store.accept(firing, "#clicks")
    assert store.record_action(firing.group_key, "silence", "g1:incident", "UALICE", {"duration_s": 3600})
    assert not store.record_action(firing.group_key, "silence", "g1:incident", "UBOB", {"duration_s": 60})
    assert store.record_action(firing.group_key, "ack", "g1:incident", "UBOB", {}), "keys are per kind"
    recorded = store.action("silence", "g1:incident")
    assert (recorded.user_id, recorded.detail, recorded.outcome) == ("UALICE", {"duration_s": 3600}, None)
    store.set_action_outcome("silence", "g1:incident", "done", {"silence_id": "s-1"})
    recorded = store.action("silence", "g1:incident")
    assert recorded.outcome == "done" and recorded.detail == {"duration_s": 3600, "silence_id": "s-1"}
    assert store.action("silence", "other") is None
    with pytest.raises(KeyError):
        store.set_action_outcome("silence", "other", "done")


def test_a_second_process_on_the_same_sqlite_file_is_refused(tmp_path: Path):
    state = tmp_path / "state.sqlite"
    held = open_store(state)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import sys\nfrom notifier.store import open_store, StoreError\n"
             "try:\n    open_store(sys.argv[1])\nexcept StoreError as e:\n    print(e); sys.exit(3)", str(state)],
            capture_output=True, text=True, timeout=60)
        assert probe.returncode == 3, probe.stdout + probe.stderr
        assert "in use by another notifier process" in probe.stdout and "postgresql://" in probe.stdout
    finally:
        held.close()
    open_store(state).close()  # free again once the holder closed it
    with pytest.raises(StoreError, match="cannot open the state file"):
        open_store(tmp_path / "state.sqlite" / "below-a-file.sqlite")


def test_replicas_share_lanes_through_leases_and_a_lost_lease_fences_writes(postgres_url: str):
    """Two replicas on one PostgreSQL: disjoint lanes, takeover of an expired lease with a new epoch,
    and the old owner can no longer write."""
    first, second = open_store(postgres_url), open_store(postgres_url)
    try:
        assert first.instance == second.instance, "step ids must agree across replicas"
        for group in ("LaneA", "LaneB"):
            first.accept(_state(group=group), f"#{group.lower()}")
        assert first.accept(_state(group="LaneA"), "#lanea") is None
        assert second.accept(_state(group="LaneA"), "#lanea") is None, "de-duplicated across replicas"
        held_first = first.claim_lanes(0.5, limit=1)
        held_second = second.claim_lanes(30)
        assert len(held_first) == 1 and len(held_second) == 1 and set(held_first).isdisjoint(held_second)
        lane = next(iter(held_first))
        key = '{}:{alertname="LaneA"}' if lane == "#lanea" else '{}:{alertname="LaneB"}'
        item = first.next_pending(key)
        assert item is not None and second.next_pending(key) is None, "only the lane's owner delivers it"
        first.save_steps(item.id, {"post": {"sent": True}})

        deadline = time.monotonic() + 30
        while lane not in (taken := second.claim_lanes(30)):
            assert time.monotonic() < deadline, f"lane {lane} not taken over; second holds {taken}"
            time.sleep(0.1)
        assert taken[lane] == held_first[lane] + 1, "a new owner means a new epoch"
        with pytest.raises(LeaseLost):
            first.save_steps(item.id, {"post": {"sent": True, "ts": "1.1"}})
        with pytest.raises(LeaseLost):
            first.finish(item, state="delivered", channel=lane, ts="1.1", thread_ts="1.1")
        resumed = second.next_pending(key)
        assert resumed.id == item.id and resumed.steps == {"post": {"sent": True}}, "in-flight step is kept"
        assert lane not in first.claim_lanes(30), "the old owner does not get the lane back while it is held"
        second.release_lanes()
        assert lane in first.claim_lanes(30)
    finally:
        first.close()
        second.close()
