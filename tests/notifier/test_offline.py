"""Item 6: without SLACK_BOT_TOKEN, the terminal and notifications.jsonl get every delivery (the demo path)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

from tests.notifier.conftest import AlertmanagerProcess, NotifierProcess, alert


def test_offline_delivery_to_terminal_and_json_lines(tmp_path):
    notifier = NotifierProcess(tmp_path, None, name="notifier-offline")
    am = AlertmanagerProcess(tmp_path, notifier.url)
    journal = notifier.state.parent / "notifications.jsonl"
    try:
        notifier.start()
        am.start()
        starts = datetime.now(timezone.utc) - timedelta(minutes=4)
        am.send(alert("OfflineCheck", "#t-offline", starts=starts, team="payments"))
        deadline = time.monotonic() + 60
        while not (journal.exists() and journal.read_text().count("\n") >= 1):
            assert time.monotonic() < deadline, "no notifications.jsonl line"
            time.sleep(0.2)
        am.send(alert("OfflineCheck", "#t-offline", starts=starts, resolved=True, team="payments"))
        while journal.read_text().count("\n") < 3:
            assert time.monotonic() < deadline, f"expected post, update, reply: {journal.read_text()}"
            time.sleep(0.2)
        time.sleep(1)
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        assert [r["call"] for r in records] == ["post", "update", "post"]
        root, update, reply = records
        assert root["channel"] == "#t-offline" and root["thread_ts"] is None and root["blocks"]
        assert update["ts"] == root["ts"] and update["text"].startswith("[RESOLVED] OfflineCheck")
        assert reply["thread_ts"] == root["ts"] and reply["text"].startswith(":white_check_mark: Resolved after")
        terminal = notifier.logs()
        assert "── #t-offline · new message" in terminal and "FIRING: OfflineCheck (1 alert)" in terminal
        assert "OfflineCheck is burning" in terminal and "[Acknowledge]" in terminal
        assert f"── #t-offline · message {root['ts']} updated" in terminal
        deliveries = notifier.deliveries()
        assert [(d["status"], d["state"], d["ts"]) for d in deliveries] == [
            ("firing", "delivered", root["ts"]), ("resolved", "delivered", reply["ts"])]
    finally:
        am.stop()
        notifier.stop()
