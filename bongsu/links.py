"""Checks that span two parts' output: every dashboard an alert links to was built.

The alert rules part writes `dashboard_url` annotations and the dashboards part writes the dashboards;
neither reads the other's files. The spine, which runs both, checks they meet (`bongsu check`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from bongsu import conventions
from bongsu.catalog import Catalog
from bongsu.generator import BuildOptions, Finding

# libyaml's parser: the pure-Python one takes tens of seconds for a 1,000-service build's rule files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DASHBOARD_LINK = re.compile(r"/d/([A-Za-z0-9_-]+)")


def alert_dashboard_links(rules_dir: Path) -> dict[str, str]:
    """uid -> alert name for every `/d/<uid>` in the rule files' annotations."""
    found: dict[str, str] = {}
    for path in sorted([*rules_dir.glob("*.yaml"), *rules_dir.glob("*.yml")]):
        document = yaml.load(path.read_text(), Loader=_LOADER) or {}
        for group in document.get("groups", []) if isinstance(document, dict) else []:
            for rule in group.get("rules", []):
                for text in (rule.get("annotations") or {}).values():
                    for match in DASHBOARD_LINK.finditer(str(text)):
                        found.setdefault(match.group(1), rule.get("alert", path.name))
    return found


def built_dashboard_uids(dashboards_dir: Path) -> set[str]:
    uids = set()
    for path in sorted(dashboards_dir.glob("*.json")):
        try:
            model = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # the dashboards check names the broken file
        uids.add(model.get("uid") or path.stem if isinstance(model, dict) else path.stem)
    return uids


def check(catalog: Catalog, options: BuildOptions) -> list[Finding]:
    links = alert_dashboard_links(options.out / conventions.RULES_DIR)
    built = built_dashboard_uids(options.out / conventions.DASHBOARDS_DIR)
    missing = [f"{uid} (wanted by the dashboard_url of alert {alert})"
               for uid, alert in sorted(links.items()) if uid not in built]
    return [Finding(f"alerts: {len(links)} dashboards linked from alert annotations exist", not missing,
                    "missing dashboards: " + "; ".join(missing) if missing else "")]
