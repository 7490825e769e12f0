"""Upload dashboards to a running Grafana through its HTTP API, idempotently, by UID.

Folders are created when missing; a dashboard whose JSON and folder already match is left alone (no
new version in Grafana's history); otherwise it is overwritten by UID. The token comes from the
environment (GRAFANA_TOKEN), is sent only as a bearer header and never printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from bongsu.errors import BongsuError

from dashboards.boards import to_json
from dashboards.panels import Board

TOKEN_ENV = "GRAFANA_TOKEN"
_VOLATILE = ("id", "version")  # Grafana owns these; they never make a dashboard "different"


class PushError(BongsuError, RuntimeError):
    """Grafana refused or could not be reached; the message names the dashboard and the fix."""


@dataclass(frozen=True)
class Pushed:
    uid: str
    title: str
    folder_uid: str
    outcome: str  # created | updated | unchanged
    url: str


def _explain(response: httpx.Response, doing: str, grafana_url: str) -> PushError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    said = body.get("message") or response.reason_phrase
    code = response.status_code
    if code == 401:
        return PushError(f"Grafana at {grafana_url} rejected the token while {doing} (401 Unauthorized: {said}). "
                         f"Set {TOKEN_ENV} to a valid service account token.")
    if code == 403:
        return PushError(f"the token may not do this: {doing} (403 Forbidden: {said}). Give its service account "
                         "the Editor role, or write access to the folder.")
    if code == 412:
        reason = body.get("status", "precondition failed")
        hint = ("another dashboard with the same title exists in that folder under a different UID; rename or "
                "delete it" if reason == "name-exists" else
                "the dashboard was changed in Grafana meanwhile; push again" if reason == "version-mismatch" else
                "Grafana will not overwrite it (e.g. a plugin or provisioned dashboard)")
        return PushError(f"Grafana refused {doing} (412 {reason}: {said}): {hint}.")
    return PushError(f"Grafana answered {code} while {doing}: {said}")


def _same(existing: dict, wanted: dict) -> bool:
    strip = lambda model: {k: v for k, v in model.items() if k not in _VOLATILE}  # noqa: E731 - a one-line key filter reads best inline
    return strip(existing) == strip(wanted)


def push(boards: Sequence[Board], grafana_url: str, token: str, *, client: httpx.Client | None = None,
         message: str = "bongsu dashboards push") -> list[Pushed]:
    """Make Grafana hold exactly these dashboards in their folders; return what happened to each."""
    if not token:
        raise PushError(f"no Grafana token: set {TOKEN_ENV} to a service account token with the Editor role")
    base = grafana_url.rstrip("/")
    http = client or httpx.Client(timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        return _push(http, base, headers, boards, message)
    except httpx.HTTPError as exc:
        raise PushError(f"cannot reach Grafana at {grafana_url}: {exc}") from None
    finally:
        if client is None:
            http.close()


def _push(http: httpx.Client, base: str, headers: dict, boards: Sequence[Board], message: str) -> list[Pushed]:
    folders = {board.folder_uid: board.folder_title for board in boards}
    for uid, title in folders.items():
        found = http.get(f"{base}/api/folders/{uid}", headers=headers)
        if found.status_code == 404:
            made = http.post(f"{base}/api/folders", headers=headers, json={"uid": uid, "title": title})
            if made.status_code != 200:
                raise _explain(made, f"creating folder {title!r} ({uid})", base)
        elif found.status_code != 200:
            raise _explain(found, f"reading folder {uid}", base)
    results = []
    for board in boards:
        model = to_json(board)
        doing = f"saving dashboard {board.dashboard.title!r} ({board.uid})"
        current = http.get(f"{base}/api/dashboards/uid/{board.uid}", headers=headers)
        if current.status_code == 200:
            body = current.json()
            if (_same(body.get("dashboard", {}), model)
                    and body.get("meta", {}).get("folderUid") == board.folder_uid):
                results.append(Pushed(board.uid, board.dashboard.title, board.folder_uid, "unchanged",
                                      base + body.get("meta", {}).get("url", f"/d/{board.uid}")))
                continue
        elif current.status_code != 404:
            raise _explain(current, f"reading dashboard {board.uid}", base)
        saved = http.post(f"{base}/api/dashboards/db", headers=headers, json={
            "dashboard": {**model, "id": None}, "folderUid": board.folder_uid, "overwrite": True,
            "message": message})
        if saved.status_code != 200:
            raise _explain(saved, doing, base)
        outcome = "updated" if current.status_code == 200 else "created"
        results.append(Pushed(board.uid, board.dashboard.title, board.folder_uid, outcome,
                              base + saved.json().get("url", f"/d/{board.uid}")))
    return results
