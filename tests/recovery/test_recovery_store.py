"""The recovery tables' contract on every store backend (SQLite and a throwaway PostgreSQL)."""

from __future__ import annotations

import time

from notifier import recovery_store
from notifier.otlp_logs import reports
from notifier.recovery_store import RollbackRecord
from tests.notifier.conftest import postgres, postgres_url, store  # noqa: F401 - the backends' fixtures
from tests.recovery.otlp import error_record, export_request


def test_reports_rank_by_count_and_expire(store) -> None:  # noqa: F811 - pytest fixture injected by name
    keyerror, _ = reports(export_request([error_record(count=5)]))
    typeerror, _ = reports(export_request([error_record("TypeError", "bad", function="other", count=1)]))
    now = time.time()
    store.add_reports(keyerror + typeerror, now=now)
    store.add_reports(keyerror, now=now)
    tops = store.top_reports("payments", now - 60, now + 60)
    assert [(t.report.exception_type, t.count) for t in tops] == [("KeyError", 10), ("TypeError", 1)]
    assert store.top_reports("orders", now - 60, now + 60) == []
    store.add_reports(typeerror, now=now + recovery_store.RETENTION_S + 1)
    assert store.report_count() == 1  # everything older than the retention is gone


def test_evidence_and_rollback_records(store) -> None:  # noqa: F811 - pytest fixture injected by name
    assert store.evidence("g") is None
    store.set_evidence("g", {"rollback": {"from": "1.5.0", "to": "1.4.2"}})
    store.set_evidence("g", {"rollback": None})
    assert store.evidence("g") == {"rollback": None}
    record = RollbackRecord("k1", "g", "payments", "U1", "ana", "1.5.0", "1.4.2", time.time(), "running", None, None)
    assert store.claim_rollback(record) is True
    assert store.claim_rollback(record) is False  # one record per key, on every replica
    store.finish_rollback("k1", True, "done")
    [saved] = store.rollbacks("g")
    assert (saved.outcome, saved.detail, saved.user_name) == ("succeeded", "done", "ana") and saved.finished_at
    assert store.rollbacks("other") == [] and len(store.rollbacks()) == 1
