"""Child processes on loopback: start, wait until healthy, stop without orphans.

Used by the local stack, the test suite and the benchmarks, so that every real Prometheus and
Alertmanager is started and stopped the same way.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bongsu.binaries import find
from bongsu.errors import EXIT_PREREQUISITE, BongsuError


def _die_with_parent() -> None:
    """Linux: have the kernel SIGTERM this child if its parent dies, even by SIGKILL (no orphans)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class ProcessError(BongsuError):
    exit_code = EXIT_PREREQUISITE

    """A child could not start, did not become healthy, or a port it needs is taken."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class Child:
    """One supervised process with its own log file and an HTTP health URL."""

    name: str
    argv: Sequence[str]
    log_path: Path
    health_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                list(self.argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env}, cwd=self.cwd,
                start_new_session=True,  # its own process group: Ctrl-C reaches us, we stop it
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            raise ProcessError(f"{self.name}: cannot start {self.argv[0]}: {exc.strerror}") from None
        finally:
            log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                code = self.process.returncode if self.process else "?"
                raise ProcessError(f"{self.name} exited with code {code} during start-up; "
                                   f"last log lines ({self.log_path}):\n{self.log_tail()}")
            if self.health_url is None:
                return
            try:
                if httpx.get(self.health_url, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ProcessError(f"{self.name} did not become healthy at {self.health_url} within {timeout:.0f}s; "
                           f"see {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the whole process group, then SIGKILL what is left after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL, as a crash would: no cleanup runs in the child."""
        if self.alive and self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def _require_free(name: str, port: int) -> None:
    if not port_is_free(port):
        raise ProcessError(f"port {port} for {name} is already in use on 127.0.0.1; stop whatever holds it "
                           "or choose other ports (--port-base)")


def prometheus(config: Path, port: int, data_dir: Path, log_path: Path) -> Child:
    """A real Prometheus on 127.0.0.1:`port` (not yet started)."""
    _require_free("prometheus", port)
    return Child(
        "prometheus",
        [str(find("prometheus")), f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
         f"--web.external-url=http://127.0.0.1:{port}/", "--storage.tsdb.retention.time=2d"],
        log_path, health_url=f"http://127.0.0.1:{port}/-/ready",
    )


def alertmanager(config: Path, port: int, data_dir: Path, log_path: Path,
                 cluster_port: int | None = None, peers: Sequence[str] = ()) -> Child:
    """A real Alertmanager on 127.0.0.1:`port`; clustering off unless `cluster_port` is given."""
    _require_free("alertmanager", port)
    cluster = ([f"--cluster.listen-address=127.0.0.1:{cluster_port}"]
               + [f"--cluster.peer={peer}" for peer in peers]) if cluster_port else ["--cluster.listen-address="]
    return Child(
        "alertmanager",
        [str(find("alertmanager")), f"--config.file={config}", f"--storage.path={data_dir}",
         f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url=http://127.0.0.1:{port}/", *cluster],
        log_path, health_url=f"http://127.0.0.1:{port}/-/ready",
    )
