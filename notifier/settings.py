"""Runtime settings from the environment, with every secret hidden from repr and logs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# Alertmanager sends every alert of a group in one request; 500 alerts with rich annotations stay
# well under this, while a runaway or hostile body is cut off before it is read into memory.
MAX_WEBHOOK_BYTES = 4 * 1024 * 1024
MAX_INTERACTION_BYTES = 256 * 1024
# One OTLP export of error reports: the SDK sends few records per request, each capped in size.
MAX_LOGS_BYTES = 1024 * 1024
REPO_RUNBOOKS = Path(__file__).resolve().parent.parent / "runbooks"


@dataclass
class Settings:
    """Everything the service needs; tests build one directly, the CLI builds it from env vars."""

    state: Path
    store: str | None = None  # postgresql://... for replicas; None: SQLite at `state`
    webhook_token: SecretStr | None = None
    slack_token: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    signing_secret: SecretStr | None = None
    alertmanager_url: str | None = None
    prometheus_url: str | None = None
    runbooks_dir: Path = REPO_RUNBOOKS
    # Slack allows about one message per second per channel; pacing below that keeps us off 429s.
    channel_interval: float = 1.0
    retry_base: float = 0.5
    retry_cap: float = 8.0
    slack_timeout: float = 6.0
    graph_timeout: float = 10.0
    max_webhook_bytes: int = MAX_WEBHOOK_BYTES
    max_logs_bytes: int = MAX_LOGS_BYTES
    # Evidence on the page (docs/recovery.md): how far back to look for a deploy, where trace ids link.
    deploy_lookback_s: float = 3600.0
    trace_url_template: str | None = None  # e.g. http://tempo:3200/trace/{trace_id}
    # A replica that stops renewing its delivery leases (kill -9, partition) loses its lanes after
    # this long; another replica then takes them over. Keep it above slack_timeout.
    lease_ttl: float = 8.0
    # Delivered history older than this is pruned from the outbox (BONGSU_NOTIFIER_RETENTION, e.g. "14d").
    retention_s: float = 7 * 86400.0

    @property
    def offline(self) -> bool:
        """No bot token: render to the terminal and a JSON-lines file instead of Slack."""
        return self.slack_token is None

    @property
    def pace(self) -> float:
        """Seconds between messages to one channel: Slack's limit, or none for the terminal."""
        return 0.0 if self.offline else self.channel_interval

    @property
    def journal(self) -> Path:
        return self.state.parent / "notifications.jsonl"

    @classmethod
    def from_env(cls, state: Path, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def secret(name: str) -> SecretStr | None:
            value = env.get(name, "").strip()
            return SecretStr(value) if value else None

        return cls(
            state=state,
            webhook_token=secret("BONGSU_WEBHOOK_TOKEN"),
            slack_token=secret("SLACK_BOT_TOKEN"),
            slack_api_url=env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL,
            signing_secret=secret("SLACK_SIGNING_SECRET"),
            alertmanager_url=env.get("ALERTMANAGER_URL", "").strip() or None,
            prometheus_url=env.get("PROMETHEUS_URL", "").strip() or None,
            runbooks_dir=Path(env.get("BONGSU_RUNBOOKS_DIR", "").strip() or REPO_RUNBOOKS),
            retention_s=_retention(env.get("BONGSU_NOTIFIER_RETENTION", "").strip()),
            trace_url_template=env.get("BONGSU_TRACE_URL_TEMPLATE", "").strip() or None,
        )


def _retention(text: str) -> float:
    """A duration like "7d" or "12h"; ValueError naming the variable when it is not one."""
    if not text:
        return 7 * 86400.0
    from bongsu.catalog import Duration

    try:
        seconds = Duration.parse(text).ms / 1000
    except ValueError:
        raise ValueError(f"BONGSU_NOTIFIER_RETENTION={text!r} is not a duration like '7d' or '12h'") from None
    if seconds < 60:
        raise ValueError(f"BONGSU_NOTIFIER_RETENTION={text!r} is under a minute; keep at least '1h' of history")
    return seconds
