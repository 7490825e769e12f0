"""The notifier serves the repository's runbooks, so the local stack's runbook links open a page."""

from __future__ import annotations

import httpx


def test_a_runbook_opens_as_a_page_and_nothing_else_does(stack):
    notifier, _ = stack
    page = httpx.get(f"{notifier.url}/runbooks/BongsuRuleEvaluationFailures.md", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text
    assert "<h1>" in page.text and "BongsuRuleEvaluationFailures" in page.text
    for bad in ("NoSuchAlert.md", "..%2Fpyproject.toml", "%2Fetc%2Fpasswd.md", "README", ".hidden.md"):
        assert httpx.get(f"{notifier.url}/runbooks/{bad}", timeout=10).status_code == 404, bad
