"""The service catalog: parsed once from YAML into a typed model that every generator reads.

Generators (alert rules, routing, dashboards, runbooks, drills) never re-read the YAML and never
invent names of their own: alert names, recording-rule names, dashboard UIDs and burn-rate tiers are
all derived here, so the alert that links to a dashboard and the dashboard agree by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bongsu import conventions
from bongsu.errors import BongsuError

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "examples" / "shop" / "catalog.yaml"

# The OpenTelemetry HTTP semantic conventions' advised buckets, in seconds. The SDK uses these for
# `http_server_request_duration_seconds`; a service may add more (`histogram_buckets`).
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_UNITS_MS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


class CatalogError(BongsuError):
    """A catalog that cannot be used, with every problem located as `file: path: message`."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {where}: {what}" if where else f"{source}: {what}"
                                   for where, what in problems))


class InvalidDuration(BongsuError, ValueError):
    """A duration that does not parse; a ValueError too, so pydantic locates it inside the catalog."""


@dataclass(frozen=True, order=True)
class Duration:
    """A Prometheus-style duration ("30d", "1h30m", "250ms"), kept in milliseconds."""

    ms: int

    @classmethod
    def parse(cls, text: str | int | float) -> Duration:
        if isinstance(text, Duration):
            return text
        if not isinstance(text, str):
            raise InvalidDuration(f"expected a duration like '30d', '5m' or '250ms', got {text!r}")
        match = _DURATION.match(text.strip())
        if not text.strip() or not match or not any(match.groups()):
            raise InvalidDuration(f"malformed duration {text!r}: use units d, h, m, s, ms, like '30d' or '250ms'")
        d, h, m, s, ms = (int(g) if g else 0 for g in match.groups())
        total = (((d * 24 + h) * 60 + m) * 60 + s) * 1000 + ms
        if total <= 0:
            raise InvalidDuration(f"duration {text!r} must be greater than zero")
        return cls(total)

    @property
    def seconds(self) -> float:
        return self.ms / 1000

    def __str__(self) -> str:
        """The shortest Prometheus spelling, e.g. 3 days -> "3d", 90 minutes -> "90m"."""
        for unit, size in _UNITS_MS:
            if self.ms % size == 0:
                return f"{self.ms // size}{unit}"
        raise AssertionError("unreachable: every duration is a whole number of ms")

    def human(self) -> str:
        """Words for people: "30-day", "6-hour"."""
        for _unit, size, word in (("d", 86_400_000, "day"), ("h", 3_600_000, "hour"),
                                 ("m", 60_000, "minute"), ("s", 1000, "second")):
            if self.ms % size == 0:
                return f"{self.ms // size}-{word}"
        return f"{self.ms}-millisecond"


DurationField = Annotated[Duration, BeforeValidator(Duration.parse)]


def camel(name: str) -> str:
    """`order-api` -> `OrderApi`: the spelling used inside alert names."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


@dataclass(frozen=True)
class BurnRateTier:
    """One multi-window burn-rate alert tier (SRE Workbook): alert when both windows burn above `burn`.

    The burn factor is fixed (the Workbook's 14.4, 6, 3, 1); what scales with the SLO window is the
    windows (Pyrra's approach), so every tier spends the same share of any window's budget.
    """

    severity: Literal["page", "ticket"]
    long: Duration
    short: Duration
    burn: float

    def factor(self, window: Duration | None = None) -> float:
        """The burn rate both windows must exceed; the same for every SLO window."""
        return self.burn

    def budget_consumed(self, window: Duration) -> float:
        """Share of the window's budget spent at the threshold burn before the long window fills."""
        return self.burn * self.long.ms / window.ms

    @property
    def windows(self) -> str:
        return f"{self.long}/{self.short}"


# The Workbook's tiers for its 30-day reference window: its two pages, Sloth's 1d/2h ticket and the
# Workbook's 3d/6h ticket (2%, 5%, 10% and 10% of the budget). `SLO.burn_rate_tiers` scales their
# windows to the SLO window.
REFERENCE_WINDOW = Duration.parse("30d")
TIERS: tuple[BurnRateTier, ...] = (
    BurnRateTier("page", Duration.parse("1h"), Duration.parse("5m"), 14.4),
    BurnRateTier("page", Duration.parse("6h"), Duration.parse("30m"), 6.0),
    BurnRateTier("ticket", Duration.parse("1d"), Duration.parse("2h"), 3.0),
    BurnRateTier("ticket", Duration.parse("3d"), Duration.parse("6h"), 1.0),
)
# No window is shorter than this: rate() needs several scrapes in it (`bongsu check` compares it with
# the scrape interval), and generated tests step in whole minutes.
MIN_WINDOW = Duration.parse("5m")
_MINUTE_MS = 60_000


def _scaled(window: Duration, by: float) -> Duration:
    """`window` x `by`, in whole minutes, never under MIN_WINDOW."""
    return Duration(max(MIN_WINDOW.ms, round(window.ms * by / _MINUTE_MS) * _MINUTE_MS))


def scaled_tiers(window: Duration) -> tuple[BurnRateTier, ...]:
    """The reference tiers with windows scaled to `window` (identical at 30d), factors unchanged."""
    by = window.ms / REFERENCE_WINDOW.ms
    tiers = []
    for tier in TIERS:
        long = _scaled(tier.long, by)
        tiers.append(BurnRateTier(tier.severity, long, min(long, _scaled(tier.short, by)), tier.burn))
    return tuple(tiers)


# An SLO per route reads one regex over this many templates at most: a bounded list, not a label
# with unbounded values.
MAX_SLO_ROUTES = 20


class TierSpec(_Strict):
    """A catalog override of one burn-rate tier (`slos[].tiers[]`)."""

    severity: Literal["page", "ticket"]
    long_window: DurationField
    short_window: DurationField | None = Field(
        default=None, description="default: long_window / 12, at least MIN_WINDOW")
    factor: float = Field(gt=0, description="burn rate both windows must exceed (14.4 = 2% of a 30d budget in 1h)")

    @field_validator("long_window", "short_window")
    @classmethod
    def _whole_minutes(cls, value: Duration | None) -> Duration | None:
        if value is not None and value.ms % _MINUTE_MS:
            raise ValueError(f"{value} is not a whole number of minutes; alert windows are whole minutes")
        return value

    @model_validator(mode="after")
    def _short_within_long(self) -> TierSpec:
        if self.short_window is not None and self.short_window > self.long_window:
            raise ValueError(f"short_window {self.short_window} is longer than long_window {self.long_window}; "
                             "the short window is the one that resets the alert quickly")
        return self

    def tier(self) -> BurnRateTier:
        short = self.short_window or min(self.long_window, _scaled(self.long_window, 1 / 12))
        return BurnRateTier(self.severity, self.long_window, short, self.factor)


class SlackSettings(_Strict):
    default_channel: str

    @field_validator("default_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _check_channel(value)


def _check_channel(value: str) -> str:
    # A channel name ("#payments-oncall") or a Slack channel ID ("C0123ABCDEF"), which survives renames.
    if not re.match(r"^(?:[#@]?[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{8,12})$", value):
        raise ValueError(f"{value!r} is not a Slack channel name like '#payments-oncall' or an ID like 'C0123ABCDEF'")
    return value


class Links(_Strict):
    """Where people click through to. Base URLs only; paths are derived."""

    runbook_base_url: str = "https://github.com/bongsu-dev/bongsu/blob/main/runbooks"
    # None (or empty): no Grafana, so alerts and messages carry no dashboard link rather than a dead one.
    grafana_url: str | None = "http://localhost:3000"

    def runbook_url(self, alert: str) -> str:
        """Where `runbooks/<alert>.md` is published; every alert's `runbook_url` annotation."""
        return f"{self.runbook_base_url.rstrip('/')}/{alert}.md"

    def dashboard_url(self, uid: str) -> str | None:
        """A Grafana dashboard by its stable UID (`Service.red_dashboard_uid`, `slo_dashboard_uid`);
        None when no Grafana URL is configured."""
        return f"{self.grafana_url.rstrip('/')}/d/{uid}" if self.grafana_url else None


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,20}$")


class Responders(_Strict):
    """Who may press a team's action buttons (silence, ack, roll back), as stable Slack IDs.

    IDs, never names: a display name can be changed by its owner, an ID cannot.
    """

    users: list[str] = Field(default_factory=list)
    usergroups: list[str] = Field(default_factory=list)

    @field_validator("users", "usergroups")
    @classmethod
    def _ids(cls, value: list[str], info: ValidationInfo) -> list[str]:
        pattern, what = ((_USER_ID, "user ID like 'U0123ABC'") if info.field_name == "users"
                         else (_USERGROUP_ID, "user-group ID like 'S0123ABC'"))
        for index, item in enumerate(value):
            if not isinstance(item, str) or not pattern.match(item):
                raise ValueError(f"{info.field_name}[{index}] {item!r} is not a Slack {what}")
        return value


class Team(_Strict):
    name: str
    slack_channel: str
    responders: Responders = Field(default_factory=Responders)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("slack_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _check_channel(value)

    @property
    def folder_uid(self) -> str:
        """The team's Grafana folder; its services' dashboards live there."""
        return f"bongsu-team-{self.name}"

    @property
    def receiver(self) -> str:
        """The team's Alertmanager receiver: alerts labelled `team="<name>"` route there."""
        return f"team-{self.name}"


# Alertmanager's receiver for alerts naming no known team; the notifier posts those to
# `slack.default_channel`.
DEFAULT_RECEIVER = "default"


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} must be lower-case letters, digits, '-' or '_', starting with a letter")
    return value


class SLO(_Strict):
    name: str
    sli: Literal["http_availability", "http_latency"]
    objective: float = Field(description="target percentage of good requests, 0 < objective < 100")
    window: DurationField = Duration.parse("30d")
    threshold: DurationField | None = Field(default=None, description="latency SLIs only: a bucket boundary")
    min_request_rate: float = Field(
        default=0.05, ge=0,
        description="requests/second over the long window below which burn-rate alerts stay silent")
    description: str = ""
    tiers: list[TierSpec] | None = Field(
        default=None, description="replaces the default tiers (Workbook tiers scaled to the window)")
    routes: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_SLO_ROUTES,
        description="only these `http_route` templates count towards the SLO (default: every route)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("routes")
    @classmethod
    def _route_templates(cls, value: list[str] | None) -> list[str] | None:
        for index, route in enumerate(value or []):
            if not route or any(c in route for c in '"\\\n'):
                raise ValueError(f"routes[{index}] {route!r} must be a route template like '/orders/{{id}}', "
                                 "without quotes, backslashes or line breaks")
        if value is not None and len(set(value)) != len(value):
            raise ValueError("routes lists a route twice")
        return value

    def route_matcher(self) -> str:
        """`,http_route=~"..."` selecting this SLO's routes (empty without `routes`), to splice into a
        selector. PromQL regexes are anchored RE2; each template is matched literally."""
        if not self.routes:
            return ""
        pattern = "|".join(re.escape(route) for route in self.routes).replace("\\", "\\\\")
        return f',http_route=~"{pattern}"'

    @field_validator("tiers")
    @classmethod
    def _distinct_tiers(cls, value: list[TierSpec] | None) -> list[TierSpec] | None:
        if value is not None:
            if not value:
                raise ValueError("an empty tiers list would never alert; leave `tiers` out for the defaults")
            seen: dict[str, int] = {}
            for index, spec in enumerate(value):
                windows = spec.tier().windows
                if windows in seen:
                    raise ValueError(f"tiers[{index}] repeats the {windows} windows of tiers[{seen[windows]}]; "
                                     "each tier needs its own pair of windows (they label the alert)")
                seen[windows] = index
        return value

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: float) -> float:
        if not 0 < value < 100:
            raise ValueError(f"objective {value} must be a percentage above 0 and below 100 "
                             "(100 leaves no error budget to alert on)")
        return value

    @model_validator(mode="after")
    def _threshold_matches_sli(self) -> SLO:
        if self.sli == "http_latency" and self.threshold is None:
            raise ValueError("an http_latency SLO needs `threshold` (a histogram bucket boundary, like 250ms)")
        if self.sli == "http_availability" and self.threshold is not None:
            raise ValueError("`threshold` only applies to http_latency SLOs")
        return self

    @property
    def error_budget(self) -> float:
        """Allowed share of bad requests, e.g. 0.001 for 99.9."""
        return round(1 - self.objective / 100, 10)

    @property
    def burn_rate_tiers(self) -> tuple[BurnRateTier, ...]:
        """The catalog's `tiers`, or the Workbook's scaled to this SLO's window."""
        if self.tiers is not None:
            return tuple(spec.tier() for spec in self.tiers)
        return scaled_tiers(self.window)

    @property
    def recording_windows(self) -> list[Duration]:
        """Every window one of this SLO's tiers reads, shortest first."""
        return sorted({w for tier in self.burn_rate_tiers for w in (tier.long, tier.short)})


class CommandRollback(_Strict):
    """Roll back by running `command` (argv, no shell). `${BONGSU_ROLLBACK_SERVICE}`,
    `${BONGSU_ROLLBACK_FROM}` and `${BONGSU_ROLLBACK_TO}` in it are replaced, and the same names are
    in its environment."""

    kind: Literal["command"]
    command: list[str] = Field(min_length=1, description="argv of the rollback, run without a shell")
    timeout: DurationField = Field(default=Duration.parse("5m"), description="the rollback fails after this")


class KubernetesRollback(_Strict):
    """Roll back a Deployment as `kubectl rollout undo` does: its pod template back to a previous ReplicaSet's."""

    kind: Literal["kubernetes"]
    deployment: str = Field(min_length=1)
    namespace: str = Field(default="default", min_length=1)


Rollback = Annotated[CommandRollback | KubernetesRollback, Field(discriminator="kind")]


class Service(_Strict):
    name: str = Field(description="equals the Prometheus `job` label of its metrics")
    team: str
    description: str = ""
    selector: dict[str, str] | None = Field(
        default=None, description="label matchers selecting the service's metrics; default {job: <name>}")
    histogram_buckets: list[float] = Field(default_factory=list, description="buckets added to the SDK's defaults")
    metrics_sample: str | None = Field(
        default=None, description="a recorded /metrics of the service (path relative to the catalog); "
                                  "`bongsu check` verifies its latency thresholds are exported buckets")
    slos: list[SLO] = Field(default_factory=list)
    rollback: Rollback | None = Field(default=None, description="how to roll the service back (docs/recovery.md)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @property
    def matchers(self) -> dict[str, str]:
        return dict(self.selector) if self.selector else {"job": self.name}

    @property
    def promql_selector(self) -> str:
        """`job="payments"` (without braces), to splice into generated queries."""
        return ",".join(f'{key}="{value}"' for key, value in sorted(self.matchers.items()))

    @property
    def buckets(self) -> tuple[float, ...]:
        return tuple(sorted(set(DEFAULT_BUCKETS) | set(self.histogram_buckets)))

    # Names derived for generators; see the module docstring.
    @property
    def target_down_alert(self) -> str:
        return f"{camel(self.name)}TargetDown"

    @property
    def metrics_absent_alert(self) -> str:
        return f"{camel(self.name)}MetricsAbsent"

    @property
    def kubernetes_name(self) -> str:
        """The name of the service's PrometheusRule (and other objects Bongsu writes for it)."""
        return kubernetes_object_name(f"bongsu-{self.name}")

    @property
    def red_dashboard_uid(self) -> str:
        return f"bongsu-red-{self.name}"

    @property
    def slo_dashboard_uid(self) -> str:
        return f"bongsu-slo-{self.name}"

    def slo_alert(self, slo: SLO) -> str:
        """One alert name per SLO; each tier is a separate rule labelled with its windows."""
        return f"{camel(self.name)}{camel(slo.name)}BudgetBurn"

    def budget_exhausted_alert(self, slo: SLO) -> str:
        """The ticket once the SLO window's whole error budget is spent."""
        return f"{camel(self.name)}{camel(slo.name)}BudgetExhausted"


class Experiment(_Strict):
    """An A/B test the shop runs; the dashboards chart conversion per variant."""

    name: str
    service: str
    variants: list[str] = Field(min_length=2)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @property
    def dashboard_uid(self) -> str:
        return f"bongsu-experiment-{self.name}"


class Catalog(_Strict):
    slack: SlackSettings
    links: Links = Links()
    teams: list[Team]
    services: list[Service]
    experiments: list[Experiment] = Field(default_factory=list)
    platform_team: str | None = Field(
        default=None, description="the team that owns Bongsu's own alerts (alert_rules/handwritten/); "
                                  "the first team when unset")
    source: str = Field(default="<memory>", exclude=True, description="where the catalog was read from")

    @model_validator(mode="after")
    def _cross_references(self) -> Catalog:
        problems: list[str] = []
        _unique(problems, "teams", [t.name for t in self.teams])
        _unique(problems, "services", [s.name for s in self.services])
        teams = {t.name for t in self.teams}
        for i, service in enumerate(self.services):
            if service.team not in teams:
                problems.append(f"services[{i}].team: unknown team {service.team!r}; "
                                f"declared teams: {', '.join(sorted(teams)) or 'none'}")
            _unique(problems, f"services[{i}].slos", [s.name for s in service.slos])
            for j, slo in enumerate(service.slos):
                if slo.threshold is not None and slo.threshold.seconds not in service.buckets:
                    problems.append(
                        f"services[{i}].slos[{j}].threshold: {slo.threshold} is not a histogram bucket "
                        f"boundary of {service.name!r} (buckets: "
                        f"{', '.join(_seconds_text(b) for b in service.buckets)}); "
                        "pick one of those or add it to the service's histogram_buckets")
        problems += _derived_name_clashes(self.services)
        if self.platform_team is not None and self.platform_team not in teams:
            problems.append(f"platform_team: unknown team {self.platform_team!r}; "
                            f"declared teams: {', '.join(sorted(teams)) or 'none'}")
        services = {s.name for s in self.services}
        for i, experiment in enumerate(self.experiments):
            if experiment.service not in services:
                problems.append(f"experiments[{i}].service: unknown service {experiment.service!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def platform_owner(self) -> str | None:
        """Who gets Bongsu's own alerts: `platform_team`, else the first team (every alert has a team)."""
        return self.platform_team or (self.teams[0].name if self.teams else None)

    def team(self, name: str) -> Team | None:
        return next((t for t in self.teams if t.name == name), None)

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"no service named {name!r} in {self.source}")

    def channel_for_team(self, team: str | None) -> str:
        found = self.team(team) if team else None
        return found.slack_channel if found else self.slack.default_channel

    def slos(self) -> list[tuple[Service, SLO]]:
        return [(service, slo) for service in self.services for slo in service.slos]


def kubernetes_object_name(text: str) -> str:
    """A DNS-1123 name for a Kubernetes object: lower case, `-` for anything else, at most 253 chars."""
    return re.sub(r"[^a-z0-9-]", "-", text.lower()).strip("-")[:253]


# Kubernetes objects Bongsu names itself, which no service's objects may take.
RESERVED_KUBERNETES_NAMES = {"bongsu-handwritten": "the hand-written rules' PrometheusRule"}


def _derived_name_clashes(services: list[Service]) -> list[str]:
    """Names derived from different entries that come out equal after camel-casing or Kubernetes
    normalising (`order-api` and `order_api`; `order` + SLO `api-availability` and `order-api` +
    `availability`): one alert, runbook or PrometheusRule would silently overwrite the other's."""
    problems: list[str] = []
    owners: dict[tuple[str, str], tuple[str, str]] = {
        ("Kubernetes object", name): ("", what) for name, what in RESERVED_KUBERNETES_NAMES.items()}

    def claim(kind: str, name: str, where: str, owner: str) -> None:
        first = owners.setdefault((kind, name), (where, owner))
        if first != (where, owner) and first[0] != where:
            other = f"{first[1]} at {first[0]}" if first[0] else first[1]
            problems.append(f"{where}: {owner} derives the {kind} {name!r}, which {other} derives too; "
                            "rename one of them")

    for i, service in enumerate(services):
        where, owner = f"services[{i}].name", f"service {service.name!r}"
        for alert in (service.target_down_alert, service.metrics_absent_alert):
            claim("alert name and runbook", alert, where, owner)
        claim("Kubernetes object", service.kubernetes_name, where, owner)
        for j, slo in enumerate(service.slos):
            for alert in (service.slo_alert(slo), service.budget_exhausted_alert(slo)):
                claim("alert name and runbook", alert, f"services[{i}].slos[{j}].name",
                      f"SLO {slo.name!r} of service {service.name!r}")
    return problems


def _seconds_text(seconds: float) -> str:
    return str(Duration(round(seconds * 1000)))


def _unique(problems: list[str], where: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            problems.append(f"{where}[{index}].name: duplicate name {name!r}")
        seen.add(name)


def _location(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith(("function-", "tagged-union")):
            continue  # pydantic's internal validator names say nothing to a catalog author
        else:
            text += f".{part}" if text else part
    return text


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; unknown keys are errors)"
        elif item["type"] == "missing":
            message = "required key is missing"
        where = _location(item["loc"])
        # Cross-reference problems carry their own locations, one per line.
        if "\n" in message or message.startswith(("teams[", "services[", "experiments[")):
            for line in message.splitlines():
                path, _, what = line.partition(": ")
                found.append((path, what))
        else:
            found.append((where, message))
    return found


# libyaml's parser when present: the pure-Python one takes seconds for a 1,000-service catalog.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_catalog(text: str, source: str = "<memory>") -> Catalog:
    """Parse catalog YAML; raise CatalogError naming the file and the path inside it."""
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError(source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict):
        raise CatalogError(source, [("", "the catalog must be a YAML mapping with slack, teams and services")])
    try:
        return Catalog.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise CatalogError(source, _problems(exc)) from None


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Read and validate a catalog file (the demo shop's when `path` is None)."""
    file = Path(path) if path else DEFAULT_CATALOG
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(str(file), [("", f"cannot read the catalog: {exc.strerror or exc}")]) from None
    return parse_catalog(text, str(file))


# Dashboards that belong to no single team, and the Grafana folder they live in.
OVERVIEW_DASHBOARD_UID = "bongsu-overview"
SELF_HEALTH_DASHBOARD_UID = "bongsu-self-health"
PLATFORM_FOLDER_UID = "bongsu-platform"

# Kubernetes names shared by the parts writing DIR/kubernetes/: the notifier's Deployment, Service and
# Secret (deploy), and the AlertmanagerConfig that calls it with the webhook token (alert rules).
KUBERNETES_NOTIFIER = "bongsu-notifier"
KUBERNETES_NOTIFIER_PORT = 9099
KUBERNETES_WEBHOOK_TOKEN_KEY = conventions.WEBHOOK_TOKEN  # key inside the Secret named KUBERNETES_NOTIFIER
# Labels and the port name a catalog service's Kubernetes Service must carry for its ServiceMonitor.
KUBERNETES_SERVICE_LABEL = "app.kubernetes.io/name"
KUBERNETES_METRICS_PORT = "http"


RATIO_RECORD_PREFIX = "slo:sli_error:ratio_rate"
RATE_RECORD_PREFIX = "slo:requests:rate"


def error_ratio_record(window: Duration) -> str:
    """Recording rule holding an SLO's bad-request ratio over `window`, labelled service and slo."""
    return f"{RATIO_RECORD_PREFIX}{window}"


def request_rate_record(window: Duration) -> str:
    """Recording rule holding a service's request rate over `window` (for low-traffic gating)."""
    return f"{RATE_RECORD_PREFIX}{window}"


# Share of the SLO window's error budget not yet spent, labelled service and slo: 1 untouched, 0 spent.
BUDGET_REMAINING_RECORD = "slo:error_budget_remaining:ratio"


def is_window_record(name: str) -> bool:
    """An SLO recording over some window: which windows exist depends on each SLO's window and tiers."""
    for prefix in (RATIO_RECORD_PREFIX, RATE_RECORD_PREFIX):
        if name.startswith(prefix):
            try:
                Duration.parse(name[len(prefix):])
            except ValueError:
                return False
            return True
    return False


def recording_windows(catalog: Catalog | None = None) -> list[Duration]:
    """Every window some tier of the catalog reads (the 30-day reference tiers' without one), shortest first."""
    if catalog is None:
        return sorted({w for tier in TIERS for w in (tier.long, tier.short)})
    return sorted({w for _, slo in catalog.slos() for w in slo.recording_windows})
