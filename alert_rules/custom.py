"""Hand-written rules and their promtool tests, kept in `alert_rules/handwritten/` beside the generated ones.

`<name>.rules.yaml` is a Prometheus rule file; `<name>.test.yaml` is a promtool test file whose
`rule_files` name rule files in the same folder, so `promtool test rules` also works in place. The
build copies both into the build folder (prefixed `handwritten-`) and points the tests at the copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bongsu.catalog import Links
from bongsu.errors import BongsuError

HANDWRITTEN = Path(__file__).resolve().parent / "handwritten"
PREFIX = "handwritten-"


class HandwrittenError(BongsuError, ValueError):
    """A hand-written file that cannot be used; names the file."""


@dataclass(frozen=True)
class Handwritten:
    rule_files: list[Path]
    test_files: list[Path]
    # The catalog's owner of Bongsu's own alerts: its `team` label on every alert that has none.
    owner: str | None = None
    # The catalog's links: the `runbook_url` of every alert that has none (runbooks/<alert>.md where
    # this catalog publishes them: the notifier's /runbooks/ in the local stack).
    links: Links | None = None

    def groups(self) -> list[dict]:
        return [group for path in self.rule_files for group in self.groups_of(path)]

    def groups_of(self, path: Path) -> list[dict]:
        """The file's groups, each alert labelled with the owner's team unless it names one."""
        groups = _read(path).get("groups", [])
        for group in groups:
            for rule in group.get("rules", []):
                if "alert" in rule and self.owner and "team" not in (rule.get("labels") or {}):
                    rule["labels"] = {**(rule.get("labels") or {}), "team": self.owner}
                if "alert" in rule and self.links and "runbook_url" not in (rule.get("annotations") or {}):
                    rule["annotations"] = {**(rule.get("annotations") or {}),
                                           "runbook_url": self.links.runbook_url(rule["alert"])}
        return groups

    def added(self, path: Path) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
        """Per alert of a rule file, the (labels, annotations) the build adds to it."""
        written = {rule["alert"]: rule for group in _read(path).get("groups", []) for rule in group.get("rules", [])
                   if "alert" in rule}
        built = {rule["alert"]: rule for group in self.groups_of(path) for rule in group.get("rules", [])
                 if "alert" in rule}
        return {name: ({k: v for k, v in built[name].get("labels", {}).items()
                        if k not in (rule.get("labels") or {})},
                       {k: v for k, v in built[name].get("annotations", {}).items()
                        if k not in (rule.get("annotations") or {})})
                for name, rule in written.items()}

    def alert_names(self) -> list[str]:
        return [rule["alert"] for group in self.groups() for rule in group.get("rules", []) if "alert" in rule]


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HandwrittenError(f"{path.name}: cannot read hand-written rules: {exc}") from None
    if not isinstance(data, dict):
        raise HandwrittenError(f"{path.name}: expected a mapping (`groups:` for rules, `tests:` for tests)")
    return data


def load(folder: Path = HANDWRITTEN, owner: str | None = None, links: Links | None = None) -> Handwritten:
    rule_files = sorted(folder.glob("*.rules.yaml"))
    for path in rule_files:
        groups = _read(path).get("groups")
        if not isinstance(groups, list):
            raise HandwrittenError(f"alert_rules/handwritten/{path.name}: needs a `groups:` list")
    return Handwritten(rule_files, sorted(folder.glob("*.test.yaml")), owner, links)


def built_name(source: Path) -> str:
    return PREFIX + source.name


def relocated_test(source: Path, handwritten: Handwritten | None = None) -> dict:
    """The test file with its `rule_files` pointing at the copies under `prometheus/rules/`, expecting
    the labels and annotations the build adds (the owner's `team`, the catalog's `runbook_url`)."""
    data = _read(source)
    added: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    if handwritten is not None:
        for name in data.get("rule_files", []):
            added.update(handwritten.added(source.parent / name))
    data["rule_files"] = [f"../rules/{PREFIX}{Path(name).name}" for name in data.get("rule_files", [])]
    for test in data.get("tests", []) or []:
        for case in test.get("alert_rule_test", []) or []:
            labels, annotations = added.get(case.get("alertname"), ({}, {}))
            for expected in case.get("exp_alerts", []) or []:
                expected["exp_labels"] = {**(expected.get("exp_labels") or {}), **labels}
                if "exp_annotations" in expected or annotations:
                    expected["exp_annotations"] = {**(expected.get("exp_annotations") or {}), **annotations}
    return data
