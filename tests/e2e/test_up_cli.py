"""`bongsu up` as a user runs it: clear one-line errors, and a clean stop that leaves no orphans."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bongsu.observe import wait_for
from bongsu.processes import free_port
from tests.conftest import require_binaries

pytestmark = pytest.mark.e2e
BONGSU = [sys.executable, "-m", "bongsu"]


def test_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    require_binaries()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([*BONGSU, "up", "--port-base", str(port), "--run-dir", str(tmp_path)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"port {port}" in result.stderr and "already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_prometheus_says_how_to_install(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # only the venv: no prometheus
    result = subprocess.run([*BONGSU, "up", "--port-base", "0", "--run-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode != 0
    assert "apt-get install" in result.stderr and "compose/" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_up_runs_until_sigterm_and_leaves_no_orphans(tmp_path: Path) -> None:
    require_binaries()
    up = subprocess.Popen([*BONGSU, "up", "--port-base", str(free_port()), "--run-dir", str(tmp_path)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "stack.json").exists():
            assert up.poll() is None, up.stdout.read()
            assert time.monotonic() < deadline, "the stack did not come up within 120s"
            time.sleep(0.5)
        pids = json.loads((tmp_path / "stack.json").read_text())["pids"]
        assert {"prometheus", "alertmanager", "notifier", "orders", "payments", "load"} <= set(pids)
        assert all(psutil.pid_exists(pid) for pid in pids.values())
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
    finally:
        if up.poll() is None:
            up.kill()

    def alive() -> list[str]:
        found = []
        for name, pid in pids.items():
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    found.append(name)
            except psutil.NoSuchProcess:
                pass
        return found

    # `up` has exited; its children must be gone too (a few seconds for the kernel to reap them).
    wait_for(lambda: not alive(), 10, "every child of `bongsu up` gone after SIGTERM",
             last_seen=lambda: f"still running: {alive()}")
