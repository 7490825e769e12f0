"""`bongsu check` for dashboards: every query parses and reads a metric that exists, every panel is a
time series, and every dashboard a catalog service or a link points to is there (links from alert
rules, another part's output, are checked by the spine: bongsu/links.py).

It reads the built files, not the Python that made them, so a hand-edited or hand-written dashboard
is held to the same rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from bongsu.generator import BuildOptions, Finding
from bongsu.catalog import Catalog

from dashboards.inventory import is_known
from dashboards.panels import DATASOURCE_UID
from dashboards.promql import Interval, expand, metric_names, panel_queries, variable_query_metrics, variable_values

# libyaml's parser: the pure-Python one is slow on a large catalog's provisioning file (a provider per dashboard).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_DASHBOARD_LINK = re.compile(r"/d/([A-Za-z0-9_-]+)")
# A representative refresh: 1h range, 15s steps. Only the text matters here, not the numbers.
_CHECK_INTERVAL = Interval(step_s=15, range_s=3600, scrape_interval_s=15)


def _query_problem(expr: str, values: Mapping[str, str]) -> str | None:
    try:
        names = metric_names(expand(expr, values, _CHECK_INTERVAL))
    except KeyError as exc:
        return str(exc.args[0])
    except ValueError as exc:
        return f"is not valid PromQL ({exc})"
    unknown = sorted(name for name in names if not is_known(name))
    if unknown:
        return (f"reads {', '.join(unknown)}, which no SDK or notifier metric (docs/contracts.md), "
                "recording rule (bongsu/catalog.py) or standard series provides")
    return None


def dashboard_problems(dashboard: Mapping) -> tuple[int, list[str]]:
    """(queries checked, problems) for one dashboard's JSON model."""
    values = variable_values(dashboard)
    problems: list[str] = []
    checked = 0
    titles = [p.get("title") for p in dashboard.get("panels", []) if p.get("type") != "row"]
    for title in sorted({t for t in titles if titles.count(t) > 1}):
        problems.append(f"panel title {title!r} is used {titles.count(title)} times; titles select panels "
                        "(preview, incident-only lists), so each must be unique")
    for panel in dashboard.get("panels", []):
        if panel.get("type") not in ("timeseries", "row"):
            problems.append(f"panel {panel.get('title')!r} is a {panel.get('type')!r} panel; "
                            "Bongsu dashboards use time series panels only")
    for panel, target in panel_queries(dashboard):
        checked += 1
        problem = _query_problem(target["expr"], values)
        if problem:
            problems.append(f"panel {panel.get('title')!r} query {target.get('refId')}: {problem}")
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            checked += 1
            try:
                unknown = sorted(n for n in variable_query_metrics(variable.get("query", "")) if not is_known(n))
            except ValueError as exc:
                problems.append(f"variable ${variable['name']}: query is not valid PromQL ({exc})")
                continue
            if unknown:
                problems.append(f"variable ${variable['name']}: reads unknown metric {', '.join(unknown)}")
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            checked += 1
            problem = _query_problem(annotation["expr"], values)
            if problem:
                problems.append(f"annotation {annotation.get('name')!r}: {problem}")
    return checked, problems


def _linked_uids(dashboard: Mapping) -> set[str]:
    links = [*dashboard.get("links", []), *(link for p in dashboard.get("panels", []) for link in p.get("links", []))]
    return {m.group(1) for link in links for m in _DASHBOARD_LINK.finditer(link.get("url", ""))}


def check(catalog: Catalog, options: BuildOptions) -> Iterable[Finding]:
    folder = options.out / "grafana" / "dashboards"
    files = sorted(folder.glob("*.json"))
    if not files:
        return [Finding("dashboards: built", False, f"no dashboards in {folder}; run `bongsu build` first")]
    findings: list[Finding] = []
    models: dict[str, dict] = {}
    for path in files:
        try:
            model = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            findings.append(Finding(f"dashboards: {path.name}", False, f"not valid JSON: {exc}"))
            continue
        models[model.get("uid") or path.stem] = model
        checked, problems = dashboard_problems(model)
        findings.append(Finding(f"dashboards: {path.stem}: {checked} queries parse and read existing metrics",
                                not problems, "\n".join(problems)))
    wanted: dict[str, list[str]] = {}
    for service in catalog.services:
        for uid in (service.red_dashboard_uid, service.slo_dashboard_uid):
            wanted.setdefault(uid, []).append(f"alert annotations of {service.name}")
    for uid, model in sorted(models.items()):
        for linked in sorted(_linked_uids(model)):
            wanted.setdefault(linked, []).append(f"a link on {uid}")
    missing = [f"{uid} (wanted by {', '.join(who)})" for uid, who in sorted(wanted.items()) if uid not in models]
    findings.append(Finding(f"dashboards: {len(wanted)} linked dashboard UIDs exist", not missing,
                            "missing dashboards: " + "; ".join(missing) if missing else ""))
    findings.append(_provisioning(options.out / "grafana" / "provisioning", {path.stem for path in files}))
    return findings


def _provisioning(folder: Path, dashboards: set[str]) -> Finding:
    """Every dashboard file has a file provider, and the data source the dashboards default to exists."""
    name = "dashboards: Grafana provisioning covers every dashboard"
    try:
        providers = yaml.load((folder / "dashboards" / "bongsu.yaml").read_text(), Loader=_LOADER)["providers"]
        sources = yaml.safe_load((folder / "datasources" / "bongsu.yaml").read_text())["datasources"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        return Finding(name, False, f"cannot read the provisioning files in {folder}: {exc}")
    provided = {Path(p.get("options", {}).get("path", "")).stem for p in providers}
    problems = [f"no provider for {uid}.json" for uid in sorted(dashboards - provided)]
    problems += [f"provider for {uid}.json, which does not exist" for uid in sorted(provided - dashboards)]
    if DATASOURCE_UID not in {s.get("uid") for s in sources}:
        problems.append(f"no data source with UID {DATASOURCE_UID}, which every dashboard defaults to")
    return Finding(name, not problems, "; ".join(problems))
