"""Chaos Toolkit actions: real faults in the demo stack, each of which ends by itself.

- latency and error faults through the shop's `/fault` API (they expire after `duration_s`);
- pausing a service process (SIGSTOP of its process group: it holds its port but answers nothing)
  and continuing it;
- making a scrape target unreachable by pointing Prometheus' job at a closed loopback port and
  reloading it, then restoring the original file.

The last two arm a watchdog (chaos.expiry) that undoes them after `duration_s` if the drill dies.
"""


import os
import signal
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from chaoslib.exceptions import ActivityFailed

from chaos import expiry, marks, prometheus
from chaos.stackfile import StackFile, stack_from

__all__ = ["inject_fault", "clear_fault", "stop_service", "start_service", "make_target_unreachable",
           "restore_target"]

# Nothing listens on port 1 of the loopback (binding it needs root): scrapes fail at once.
UNREACHABLE = "127.0.0.1:1"


def _fault_call(stack: StackFile, service: str, method: str, body: dict | None = None) -> dict:
    url = f"{stack.url(service)}/fault"
    try:
        response = httpx.request(method, url, json=body, timeout=10,
                                 headers={"Authorization": f"Bearer {stack.fault_token}"})
    except httpx.HTTPError as exc:
        raise ActivityFailed(f"{method} {url} failed: {exc}") from None
    if response.status_code == 401:
        raise ActivityFailed(f"{url} refused the fault token (401): set BONGSU_FAULT_TOKEN or use the stack.json "
                             "of the running stack")
    if response.status_code >= 400:
        raise ActivityFailed(f"{method} {url} answered {response.status_code}: {response.text.strip()[:300]}")
    return response.json()


def inject_fault(service: str, error_rate: float = 0.0, latency_ms: int = 0, duration_s: int = 300,
                 configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Make `service` answer `error_rate` of its requests with 500 and delay each by `latency_ms`;
    the service clears the fault by itself after `duration_s`."""
    stack = stack_from(configuration)
    answer = _fault_call(stack, service, "POST",
                         {"error_rate": error_rate, "latency_ms": latency_ms, "duration_s": duration_s})
    at = marks.mark("injected")
    return {"service": service, "injected_at": at, "error_rate": error_rate, "latency_ms": latency_ms,
            "duration_s": duration_s, "fault": answer}


def clear_fault(service: str, configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Clear any latency or error fault in `service` (safe to call when there is none)."""
    stack = stack_from(configuration)
    answer = _fault_call(stack, service, "DELETE")
    return {"service": service, "cleared_at": marks.mark("cleared"), "fault": answer}


def _state_dir(stack: StackFile) -> Path:
    return (stack.run_dir or Path(tempfile.gettempdir())) / "chaos"


def _pid(stack: StackFile, service: str) -> int:
    pid = stack.pids.get(service)
    if not pid:
        raise ActivityFailed(f"{stack.path} has no process id for {service!r} (pids: {', '.join(stack.pids)})")
    return pid


def stop_service(service: str, duration_s: int = 300, configuration: dict | None = None,
                 secrets: dict | None = None) -> dict:
    """Pause `service`'s process group (SIGSTOP): its port stays open but nothing answers, like a hung
    process. A watchdog continues it after `duration_s` if `start_service` is never called."""
    stack = stack_from(configuration)
    pid = _pid(stack, service)
    expiry.arm(_state_dir(stack) / f"stop-{service}.pid", duration_s, ["resume", str(pid)])
    try:
        os.killpg(pid, signal.SIGSTOP)
    except ProcessLookupError:
        raise ActivityFailed(f"{service} (process group {pid}) is not running") from None
    return {"service": service, "injected_at": marks.mark("injected"), "pid": pid, "duration_s": duration_s}


def start_service(service: str, configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Continue a service paused by `stop_service` and disarm its watchdog."""
    stack = stack_from(configuration)
    pid = _pid(stack, service)
    expiry.resume(pid)
    expiry.disarm(_state_dir(stack) / f"stop-{service}.pid")
    return {"service": service, "cleared_at": marks.mark("cleared"), "pid": pid}


def _backup(config: Path) -> Path:
    return config.with_name(config.name + ".bongsu-drill-backup")


def make_target_unreachable(service: str, duration_s: int = 300, configuration: dict | None = None,
                            secrets: dict | None = None) -> dict:
    """Point Prometheus' scrape job `service` at a closed loopback port and reload, so the target is
    down while the service itself keeps running. A watchdog restores the file after `duration_s`."""
    stack = stack_from(configuration)
    config = Path(prometheus.config_file(stack.prometheus))
    backup = _backup(config)
    if not backup.exists():  # a backup left by an unfinished drill is the original: keep it
        backup.write_bytes(config.read_bytes())
    expiry.arm(_state_dir(stack) / f"target-{service}.pid", duration_s,
               ["restore", str(backup), str(config), stack.prometheus])
    document = yaml.safe_load(backup.read_text())
    jobs = [job for job in document.get("scrape_configs", []) if job.get("job_name") == service]
    if not jobs:
        restore_target(service, configuration)
        raise ActivityFailed(f"Prometheus ({config}) has no scrape job named {service!r}")
    for job in jobs:
        job["static_configs"] = [{**group, "targets": [UNREACHABLE]} for group in job.get("static_configs", [])]
    staged = config.with_name(config.name + ".bongsu-drill-staged")
    staged.write_text(yaml.safe_dump(document, sort_keys=False))
    os.replace(staged, config)
    try:
        prometheus.reload(stack.prometheus)
    except (ActivityFailed, httpx.HTTPError):
        restore_target(service, configuration)
        raise
    return {"service": service, "injected_at": marks.mark("injected"), "target": UNREACHABLE,
            "duration_s": duration_s}


def restore_target(service: str, configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Put back Prometheus' original configuration for the job and reload (safe when nothing changed)."""
    stack = stack_from(configuration)
    config = Path(prometheus.config_file(stack.prometheus))
    restored = expiry.restore(_backup(config), config, stack.prometheus)
    expiry.disarm(_state_dir(stack) / f"target-{service}.pid")
    return {"service": service, "cleared_at": marks.mark("cleared") if restored else time.time(),
            "restored": restored}
