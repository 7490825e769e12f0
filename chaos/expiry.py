"""Faults that undo themselves: a detached watchdog process per fault.

The shop's fault API expires faults by itself. The faults Bongsu makes outside the shop (a paused
service process, an unreachable scrape target) get a watchdog instead: a separate process in its own
session that undoes the fault at its deadline, so the fault ends even when the drill process is
killed. Undoing it normally disarms the watchdog.

    python -m chaos.expiry --after SECONDS --pid-file FILE resume PGID
    python -m chaos.expiry --after SECONDS --pid-file FILE restore BACKUP CONFIG PROMETHEUS_URL
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def arm(pid_file: Path, after_s: float, command: list[str]) -> int:
    """Start the watchdog for one fault; its pid goes to `pid_file`. Returns the pid."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    disarm(pid_file)
    child = subprocess.Popen(
        [sys.executable, "-m", "chaos.expiry", "--after", f"{after_s:g}", "--pid-file", str(pid_file), *command],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, cwd=Path(__file__).resolve().parent.parent,
    )
    pid_file.write_text(str(child.pid))
    return child.pid


def disarm(pid_file: Path) -> None:
    """Stop the watchdog recorded in `pid_file`, if it is still ours and alive."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    if b"chaos.expiry" in _cmdline(pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    pid_file.unlink(missing_ok=True)


def _cmdline(pid: int) -> bytes:
    """The process' command line; read again briefly when empty, as it is for a moment after exec."""
    for _ in range(40):
        try:
            found = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""
        if found:
            return found
        time.sleep(0.05)
    return b""


def resume(pgid: int) -> None:
    """Continue a process group paused with SIGSTOP."""
    try:
        os.killpg(pgid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def restore(backup: Path, config: Path, prometheus_url: str) -> bool:
    """Put Prometheus' configuration back from `backup` and reload it. False if nothing to restore."""
    if not backup.exists():
        return False
    os.replace(backup, config)
    httpx.post(f"{prometheus_url.rstrip('/')}/-/reload", timeout=30)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Undo a drill's fault at its deadline.")
    parser.add_argument("--after", type=float, required=True)
    parser.add_argument("--pid-file", type=Path, required=True)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("resume").add_argument("pgid", type=int)
    restore_args = sub.add_parser("restore")
    restore_args.add_argument("backup", type=Path)
    restore_args.add_argument("config", type=Path)
    restore_args.add_argument("prometheus_url")
    args = parser.parse_args(argv)
    time.sleep(args.after)
    if args.what == "resume":
        resume(args.pgid)
    else:
        try:
            restore(args.backup, args.config, args.prometheus_url)
        except httpx.HTTPError:
            pass  # the file is back; Prometheus picks it up on its next reload or restart
    args.pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
