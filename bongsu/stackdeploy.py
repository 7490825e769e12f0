"""Deploying a build of a demo shop service on a running local stack, from any process.

The stack (bongsu/stack.py) owns its children, so another process (`bongsu stack deploy`, the
notifier running a rollback command) asks it: it writes `<run_dir>/deploys/<service>.request.json`
and waits for `<service>.done.json` with the same request id. The stack's watcher restarts the
service on the requested build and answers. A deploy is a real restart: the old process stops, a
new one starts with the build's code and identity, and must become healthy.
"""

from __future__ import annotations

from typing import Any

import json
import os
import time
import uuid
from pathlib import Path

DEPLOYS = "deploys"


class DeployError(RuntimeError):
    """The deploy was refused or failed; the message says why in one line."""


def _folder(run_dir: Path) -> Path:
    return run_dir / DEPLOYS


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    staged = path.with_name(path.name + f".{uuid.uuid4().hex[:8]}.tmp")
    staged.write_text(json.dumps(data))
    os.replace(staged, path)


def request_deploy(stack_file: Path, service: str, version: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """Ask the stack described by `stack_file` to run `version` of `service`; wait for its answer."""
    try:
        description = json.loads(Path(stack_file).read_text())
    except (OSError, ValueError) as exc:
        raise DeployError(f"cannot read the stack description {stack_file}: {exc}") from None
    run_dir = Path(description["run_dir"])
    if service not in description.get("builds", {}):
        raise DeployError(f"the stack at {stack_file} runs no deployable build of {service!r}; deployable: "
                          f"{', '.join(description.get('builds', {})) or 'none'}")
    request_id = uuid.uuid4().hex
    folder = _folder(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(folder / f"{service}.request.json", {"id": request_id, "version": version})
    done = folder / f"{service}.done.json"
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            answer: dict[str, Any] | None = json.loads(done.read_text())
        except (OSError, ValueError):
            answer = None
        if answer and answer.get("id") == request_id:
            if not answer.get("ok"):
                raise DeployError(answer.get("error") or "the stack could not deploy it")
            return answer
        if answer:
            last = f"an answer to another request ({answer.get('version')})"
        time.sleep(0.2)
    raise DeployError(f"the stack did not deploy {service} {version} within {timeout_s:.0f}s ({last}); "
                      f"is it running? see {run_dir / 'logs'}")


def pending_requests(run_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """(service, request) for every deploy request waiting in the stack's folder."""
    found = []
    for path in sorted(_folder(run_dir).glob("*.request.json")):
        try:
            request = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        path.unlink(missing_ok=True)
        found.append((path.name.removesuffix(".request.json"), request))
    return found


def answer(run_dir: Path, service: str, request: dict[str, Any], ok: bool, error: str = "", **detail: object) -> None:
    _write_atomically(_folder(run_dir) / f"{service}.done.json",
                      {"id": request.get("id"), "version": request.get("version"), "ok": ok, "error": error,
                       "at": time.time(), **detail})
