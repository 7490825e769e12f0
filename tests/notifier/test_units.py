"""Fast checks of the pure parts: payload keys, routing, rendering limits, signatures, runbooks, CLI errors."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bongsu.catalog import load_catalog
from notifier import GroupView, PayloadError, group_message, parse_notification, sign
from bongsu.cli import app
from notifier.render import change_note
from notifier.routing import channel_for, silence_matchers
from notifier.runbooks import runbook_excerpt
from notifier.settings import Settings
from notifier.signature import rejection
from tests.slack_server import SlackServer


def _notification(status: str = "firing", count: int = 1, labels: dict | None = None, starts: str = "2026-12-01T10:00:00Z",
                  **group: str) -> dict:
    common = {"alertname": "UnitCheck", "severity": "page", **(labels or {})}
    return {"version": "4", "groupKey": '{}:{alertname="UnitCheck"}', "status": status, "receiver": "r",
            "groupLabels": {"alertname": "UnitCheck", **group}, "commonLabels": {**common, **group},
            "commonAnnotations": {"summary": "unit"}, "externalURL": "http://am:9093", "truncatedAlerts": 0,
            "alerts": [{"status": status, "labels": {**common, **group, "instance": f"host-{i}"},
                        "annotations": {"summary": "unit"}, "startsAt": starts,
                        "endsAt": "2026-12-01T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prom/graph?g0.expr=up", "fingerprint": f"fp{i:04d}"}
                       for i in range(count)]}


def _parse(data: dict):
    return parse_notification(json.dumps(data).encode())


def test_state_key_ignores_order_and_endsAt_but_not_status_or_refire():
    first = _parse(_notification(count=3))
    shuffled = _notification(count=3)
    shuffled["alerts"].reverse()
    for a in shuffled["alerts"]:
        a["endsAt"] = "2026-12-01T11:00:00Z"  # Prometheus moves endsAt on every resend
    assert _parse(shuffled).state_key() == first.state_key()
    assert _parse(_notification("resolved", count=3)).state_key() != first.state_key()
    assert _parse(_notification(count=3, starts="2026-12-01T12:00:00Z")).state_key() != first.state_key()
    assert _parse(_notification(count=2)).state_key() != first.state_key()


def test_payload_errors_name_the_place():
    with pytest.raises(PayloadError, match=r"alerts\[0\]\.fingerprint"):
        broken = _notification()
        del broken["alerts"][0]["fingerprint"]
        _parse(broken)
    with pytest.raises(PayloadError, match="version"):
        _parse({**_notification(), "version": "3"})
    with pytest.raises(PayloadError, match="alerts"):
        _parse({**_notification(), "alerts": []})


def test_channel_order_label_then_team_then_default():
    catalog = load_catalog(None)
    assert channel_for(_parse(_notification(slack_channel="#x", team="payments")), catalog) == "#x"
    assert channel_for(_parse(_notification(team="payments")), catalog) == "#payments-oncall"
    assert channel_for(_parse(_notification(team="nobody")), catalog) == catalog.slack.default_channel
    assert channel_for(_parse(_notification()), catalog) == catalog.slack.default_channel
    assert [(m["name"], m["value"]) for m in silence_matchers(_parse(_notification(team="payments")))] == [
        ("alertname", "UnitCheck"), ("team", "payments")]


@pytest.mark.parametrize("count", [1, 50, 300, 2000])
def test_messages_stay_inside_block_kit_limits(count):
    wide = {f"label_{i}": "v" * 300 for i in range(15)}
    n = _parse(_notification(count=count, labels=wide))
    message = group_message(GroupView(n, "gid", runbook_excerpt="x" * 5000, runbook_url="http://r",
                                      dashboard_url="http://d", acked_by="a" * 500, acked_at=time.time()))
    assert SlackServer.block_kit_error(message.blocks) is None
    assert message.text.startswith(f"[FIRING] UnitCheck ({count} alert")
    text = json.dumps(message.blocks)
    if count >= 300:
        assert "more" in message.blocks[-3]["text"]["text"] or "more" in text


def test_change_notes():
    one = _parse(_notification(count=1))
    two = _parse(_notification(count=2))
    assert change_note(one, two).startswith(":heavy_plus_sign: 1 joined: `instance=host-1`")
    left = _notification(count=2)
    left["alerts"][1]["status"] = "resolved"
    assert ":heavy_minus_sign: 1 resolved: `instance=host-1`" in change_note(two, _parse(left))
    resolved = _parse(_notification("resolved", count=2))
    assert change_note(two, resolved) == ":white_check_mark: Resolved after 30m."
    assert change_note(resolved, _parse(_notification(starts="2026-12-01T11:00:00Z"))).startswith(":repeat: Firing again")


def test_signature_checks():
    body, now = b"payload=%7B%7D", 1_800_000_000
    good = sign("s3cret", str(now), body)
    assert rejection("s3cret", str(now), good, body, now=now) is None
    assert rejection("s3cret", str(now), good, body, now=now + 299) is None
    assert rejection("s3cret", str(now), good, body, now=now + 301).startswith("stale")
    assert rejection("s3cret", str(now), good, body + b"x", now=now) == "signature mismatch"
    assert rejection("other", str(now), good, body, now=now) == "signature mismatch"
    assert rejection("s3cret", None, good, body, now=now).startswith("unsigned")
    assert rejection(None, str(now), good, body, now=now).startswith("no signing secret")
    for reason in filter(None, [rejection("s3cret", "x", good, body), rejection("s3cret", str(now), "v0=1", body, now=now)]):
        assert "s3cret" not in reason and good not in reason


def test_runbook_excerpt(tmp_path: Path):
    (tmp_path / "PaymentsTargetDown.md").write_text(
        "---\ntitle: x\n---\n# PaymentsTargetDown\n\nPrometheus cannot scrape payments.\n"
        "Orders fail at checkout.\n\n## Meaning\nCustomers cannot pay.\nMore.\n")
    assert runbook_excerpt(tmp_path, "PaymentsTargetDown") == (
        "Prometheus cannot scrape payments.\nOrders fail at checkout.")
    (tmp_path / "Bare.md").write_text("# Bare\n\n## Meaning\nOnly sections.\nSecond.\n")
    assert runbook_excerpt(tmp_path, "Bare") == "Only sections.\nSecond."
    assert runbook_excerpt(tmp_path, "Missing") is None
    assert runbook_excerpt(tmp_path, "../../etc/passwd") is None


def test_settings_hide_secrets():
    settings = Settings.from_env(Path("s.sqlite"), {"SLACK_BOT_TOKEN": "fake-bot-secret-value",
                                                    "BONGSU_WEBHOOK_TOKEN": "hook-secret",
                                                    "SLACK_SIGNING_SECRET": "sign-secret"})
    shown = repr(settings) + str(settings)
    assert "fake-bot-secret-value" not in shown and "hook-secret" not in shown and "sign-secret" not in shown
    assert not settings.offline and Settings.from_env(Path("s"), {}).offline


def test_cli_reports_user_mistakes_in_one_line(tmp_path: Path):
    runner = CliRunner()
    env = {"BONGSU_WEBHOOK_TOKEN": "t", "SLACK_BOT_TOKEN": ""}
    state = str(tmp_path / "state.sqlite")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["notifier", "serve", "--listen", f"127.0.0.1:{port}", "--state", state], env=env)
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "file").write_text("")
    result = runner.invoke(app, ["notifier", "serve", "--listen", "127.0.0.1:1", "--state", str(tmp_path / "file" / "s.db")],
                           env=env)
    assert result.exit_code == 2 and "cannot open the state file" in result.output
    result = runner.invoke(app, ["notifier", "serve", "--listen", "nohost", "--state", state], env=env)
    assert result.exit_code == 2 and "must be HOST:PORT" in result.output
    result = runner.invoke(app, ["notifier", "serve", "--listen", "127.0.0.1:1", "--state", state],
                           env={"BONGSU_WEBHOOK_TOKEN": ""})
    assert result.exit_code == 2 and "BONGSU_WEBHOOK_TOKEN is not set" in result.output
    result = runner.invoke(app, ["notifier", "serve", "--listen", "127.0.0.1:1", "--state", state,
                                 "--catalog", str(tmp_path / "nope.yaml")], env=env)
    assert result.exit_code == 2 and "cannot read the catalog" in result.output


def test_webhook_answers_503_when_the_outbox_cannot_be_written(tmp_path: Path):
    """Alertmanager retries only on 5xx: a state that is not on disk must never get a 2xx."""
    import asyncio

    import httpx
    from pydantic import SecretStr

    from notifier import create_app, open_store

    settings = Settings(state=tmp_path / "state.sqlite", webhook_token=SecretStr("t"))
    store = open_store(settings.state)
    app = create_app(settings, load_catalog(None), store=store)
    body, auth = json.dumps(_notification()).encode(), {"Authorization": "Bearer t"}

    async def scenario() -> None:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://notifier") as client:
            store._db.execute("PRAGMA query_only=ON")  # the disk refuses writes, as a full one would
            refused = await client.post("/alertmanager", content=body, headers=auth)
            assert refused.status_code == 503 and "retry" in refused.json()["error"]
            assert (await client.get("/readyz")).status_code == 503
            store._db.execute("PRAGMA query_only=OFF")
            accepted = await client.post("/alertmanager", content=body, headers=auth)
            assert accepted.status_code == 200 and accepted.json() == {"status": "accepted"}

    asyncio.run(scenario())


def test_an_over_limit_body_in_alertmanagers_field_order_is_salvaged_with_a_count():
    """Alertmanager writes `alerts` before groupKey and the labels: both ends of the body are read."""
    import asyncio

    from starlette.requests import Request

    from notifier.oversize import read_body, salvage

    data = _notification(count=400)
    ordered = {"receiver": data["receiver"], "status": data["status"], "alerts": data["alerts"],
               **{k: v for k, v in data.items() if k not in {"receiver", "status", "alerts"}}}
    raw = json.dumps(ordered).encode()

    async def read():
        chunks = [raw[i:i + 4096] for i in range(0, len(raw), 4096)]

        async def receive():
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}
        return await read_body(Request({"type": "http", "headers": []}, receive), limit=len(raw) // 3)

    body = asyncio.run(read())
    assert body.cut and body.alerts_seen == 400
    kept = salvage(body)
    assert kept.group_key == data["groupKey"] and kept.status == "firing"
    assert 50 < len(kept.alerts) < 200 and len(kept.alerts) + kept.truncated_alerts == 400


def test_credentials_in_urls_are_masked_in_text_links_and_log_lines():
    from notifier.redaction import link_without_credentials, redact_text, redact_url

    assert redact_url("http://admin:hunter2@am:9093") == "http://admin:***@am:9093"
    assert redact_url("postgresql://bongsu@db/x") == "postgresql://***@db/x"
    assert redact_text("GET http://u:p4ss@h/x failed; http://tok@h2 too") == "GET http://u:***@h/x failed; http://***@h2 too"
    assert link_without_credentials("http://admin:hunter2@am:9093/#/silences") == "http://am:9093/#/silences"
    view_data = _notification()
    view_data["externalURL"] = "http://admin:hunter2@am:9093"
    message = group_message(GroupView(notification=_parse(view_data), group_id="g1"))
    assert "hunter2" not in json.dumps(message.blocks) and "hunter2" not in message.text


def test_a_failed_silence_names_alertmanager_without_its_credentials():
    from notifier.silences import SilenceError, create_silence

    try:
        create_silence("http://admin:hunter2@127.0.0.1:9", [{"name": "alertname", "value": "X", "isRegex": False,
                                                              "isEqual": True}], 60, "UALICE", "test", timeout=2)
    except SilenceError as exc:
        assert "hunter2" not in str(exc) and "http://admin:***@127.0.0.1:9" in str(exc)
    else:
        raise AssertionError("port 9 answered a silence")


def test_a_silence_matches_the_group_labels_and_its_routes_matchers():
    from notifier.routing import silence_matchers

    data = _notification(team="payments")
    data["groupKey"] = '{}/{team="payments"}/{severity=~"^(?:page)$",env!="dev"}:{alertname="UnitCheck", team="payments"}'
    matchers = [(m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in silence_matchers(_parse(data))]
    assert matchers == [("alertname", "UnitCheck", False, True), ("team", "payments", False, True),
                        ("severity", "^(?:page)$", True, True), ("env", "dev", False, False)]


def test_catalog_responders_are_slack_ids_with_located_errors(tmp_path: Path):
    import yaml

    from bongsu.catalog import DEFAULT_CATALOG, CatalogError

    document = yaml.safe_load(DEFAULT_CATALOG.read_text())
    document["teams"][1]["responders"] = {"users": ["UALICE", "alice"], "usergroups": ["#oncall"]}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    text = str(caught.value)
    assert "teams[1].responders.users: users[1] 'alice' is not a Slack user ID" in text
    assert "teams[1].responders.usergroups: usergroups[0] '#oncall' is not a Slack user-group ID" in text
    document["teams"][1]["responders"] = {"users": ["UALICE"], "usergroups": ["SONCALL"]}
    path.write_text(yaml.safe_dump(document))
    team = load_catalog(path).teams[1]
    assert team.responders.users == ["UALICE"] and team.responders.usergroups == ["SONCALL"]
    demo = {team.name: team for team in load_catalog(None).teams}  # payments names its on-call since #11b
    assert demo["storefront"].responders.users == [], "no responders: nobody may act"


def test_serve_names_an_unreachable_store_without_its_password_and_a_bad_retention(tmp_path: Path):
    runner = CliRunner()
    state = str(tmp_path / "state.sqlite")
    result = runner.invoke(app, ["notifier", "serve", "--listen", "127.0.0.1:1", "--state", state, "--store",
                                 "postgresql://bongsu:sekrit@127.0.0.1:1/db"], env={"BONGSU_WEBHOOK_TOKEN": "t"})
    assert result.exit_code == 2 and "cannot open the store postgresql://bongsu:***@127.0.0.1:1/db" in result.output
    assert "sekrit" not in result.output
    result = runner.invoke(app, ["notifier", "serve", "--listen", "127.0.0.1:1", "--state", state],
                           env={"BONGSU_WEBHOOK_TOKEN": "t", "BONGSU_NOTIFIER_RETENTION": "soon"})
    assert result.exit_code == 2 and "BONGSU_NOTIFIER_RETENTION='soon' is not a duration" in result.output
