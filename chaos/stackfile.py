"""Where the stack under drill lives: URLs, tokens and process ids, read from its `stack.json`.

`bongsu up` (and the Stack behind `bongsu drill` and the tests) writes `<run_dir>/stack.json`.
Experiments name it through the configuration key `bongsu_stack` (env `BONGSU_STACK`), so the same
experiment file drives any stack. Tokens may instead come from `BONGSU_FAULT_TOKEN` and
`BONGSU_WEBHOOK_TOKEN`, which take precedence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from chaoslib.exceptions import ActivityFailed

from bongsu import conventions
from bongsu.errors import BongsuError

from chaos.settings import ChaosSettings

STACK_ENV = conventions.STACK


class StackFileError(BongsuError, ActivityFailed):
    """The stack description is missing or unusable: a BongsuError for the CLI, and an ActivityFailed
    so Chaos Toolkit records the drill step as failed rather than crashed."""


@dataclass(frozen=True)
class StackFile:
    path: Path
    urls: dict[str, str]
    fault_token: str
    webhook_token: str
    pids: dict[str, int] = field(default_factory=dict)
    catalog: str | None = None
    run_dir: Path | None = None

    def url(self, name: str) -> str:
        try:
            return self.urls[name].rstrip("/")
        except KeyError:
            raise StackFileError(f"{self.path}: the stack has no {name!r}; it has "
                                 f"{', '.join(sorted(self.urls))}") from None

    @property
    def prometheus(self) -> str:
        return self.url("prometheus")

    @property
    def alertmanager(self) -> str:
        return self.url("alertmanager")

    @property
    def notifier(self) -> str:
        return self.url("notifier")


def read_stack_file(path: Path | str) -> StackFile:
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StackFileError(f"cannot read the stack description {file}: {exc.strerror or exc}; start a stack "
                             f"with `bongsu up` and point {STACK_ENV} at its stack.json") from None
    except json.JSONDecodeError as exc:
        raise StackFileError(f"{file}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("urls"), dict):
        raise StackFileError(f"{file}: not a stack description (no `urls` mapping)")
    settings = ChaosSettings()
    return StackFile(
        path=file, urls=data["urls"],
        fault_token=settings.fault_token or data.get("fault_token", ""),
        webhook_token=settings.webhook_token or data.get("webhook_token", ""),
        pids={k: int(v) for k, v in (data.get("pids") or {}).items()},
        catalog=data.get("catalog"), run_dir=Path(data["run_dir"]) if data.get("run_dir") else None,
    )


def stack_from(configuration: dict | None) -> StackFile:
    """The stack an activity acts on: configuration `bongsu_stack`, else env `BONGSU_STACK`."""
    path = (configuration or {}).get("bongsu_stack") or ChaosSettings().stack
    if not path:
        raise StackFileError(
            f"no stack to drill: set {STACK_ENV} (or the configuration key bongsu_stack) to the stack.json "
            "that `bongsu up` writes in its run folder (it prints the folder at start). The drill reads from it "
            "which Prometheus, Alertmanager, notifier and shop to act on and the tokens to use; "
            "`bongsu drill` sets it for you")
    return read_stack_file(path)
