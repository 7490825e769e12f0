"""Hand-written rules and their promtool tests, kept in `alert_rules/handwritten/` beside the generated ones.

`<name>.rules.yaml` is a Prometheus rule file; `<name>.test.yaml` is a promtool test file whose
`rule_files` name rule files in the same folder, so `promtool test rules` also works in place. The
build copies both into the build folder (prefixed `handwritten-`) and points the tests at the copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bongsu.errors import BongsuError

HANDWRITTEN = Path(__file__).resolve().parent / "handwritten"
PREFIX = "handwritten-"


class HandwrittenError(BongsuError, ValueError):
    """A hand-written file that cannot be used; names the file."""


@dataclass(frozen=True)
class Handwritten:
    rule_files: list[Path]
    test_files: list[Path]

    def groups(self) -> list[dict]:
        return [group for path in self.rule_files for group in _read(path).get("groups", [])]

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


def load(folder: Path = HANDWRITTEN) -> Handwritten:
    rule_files = sorted(folder.glob("*.rules.yaml"))
    for path in rule_files:
        groups = _read(path).get("groups")
        if not isinstance(groups, list):
            raise HandwrittenError(f"alert_rules/handwritten/{path.name}: needs a `groups:` list")
    return Handwritten(rule_files, sorted(folder.glob("*.test.yaml")))


def built_name(source: Path) -> str:
    return PREFIX + source.name


def relocated_test(source: Path) -> dict:
    """The test file with its `rule_files` pointing at the copies under `prometheus/rules/`."""
    data = _read(source)
    data["rule_files"] = [f"../rules/{PREFIX}{Path(name).name}" for name in data.get("rule_files", [])]
    return data
