"""Faults Bongsu makes outside the shop end by themselves: the watchdog continues a paused process at
its deadline even when the process that paused it is gone, and disarming stops the watchdog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chaos import expiry


def _state(pid: int) -> str:
    """The kernel's one-letter process state: T when stopped, Z when exited; "gone" once reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_paused_process_is_continued_after_the_drill_died(tmp_path: Path) -> None:
    victim = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        pid_file = tmp_path / "stop-victim.pid"
        # A short-lived "drill" process pauses the victim, arms the watchdog and dies without undoing it.
        drill = subprocess.run(
            [sys.executable, "-c",
             "import os, signal, sys; from pathlib import Path; from chaos import expiry; "
             f"expiry.arm(Path({str(pid_file)!r}), 2, ['resume', '{victim.pid}']); "
             f"os.killpg({victim.pid}, signal.SIGSTOP); os._exit(9)"],
            cwd=Path(__file__).resolve().parents[2], timeout=60)
        assert drill.returncode == 9
        assert _wait_for(lambda: _state(victim.pid) == "T", 5), "the drill did not pause the victim"
        assert _wait_for(lambda: _state(victim.pid) != "T", 30), "the watchdog never continued the victim"
        assert _wait_for(lambda: not pid_file.exists(), 10)
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()


def test_disarm_stops_the_watchdog(tmp_path: Path) -> None:
    pid_file = tmp_path / "w.pid"
    pid = expiry.arm(pid_file, 300, ["resume", "999999"])
    expiry.disarm(pid_file)  # at once: its command line may still be empty right after exec
    assert not pid_file.exists()
    assert _wait_for(lambda: _state(pid) in ("Z", "gone"), 10)


def test_restore_puts_the_backup_back(tmp_path: Path) -> None:
    config, backup = tmp_path / "prometheus.yml", tmp_path / "prometheus.yml.bongsu-drill-backup"
    config.write_text("changed")
    backup.write_text("original")
    # Nothing listens on port 1: the reload fails, but the file must be back regardless.
    with pytest.raises(httpx.ConnectError):
        expiry.restore(backup, config, "http://127.0.0.1:1")
    assert config.read_text() == "original" and not backup.exists()
    assert expiry.restore(backup, config, "http://127.0.0.1:1") is False
