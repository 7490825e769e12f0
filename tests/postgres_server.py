"""A throwaway PostgreSQL for tests and benchmarks: initdb in a temp folder, a free loopback port, stopped at the end.

initdb refuses to run as root, so as root the server runs as the unprivileged `postgres` user
(runuser); otherwise as the current user. Password authentication (scram) on TCP only, so the URL
carries a real secret and tests can check it never leaks.

    with PostgresServer() as pg:
        url = pg.url            # postgresql://bongsu:<password>@127.0.0.1:<port>/bongsu
        pg.create_database("other")
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bongsu.processes import free_port

INSTALL_HINT = "PostgreSQL is missing: sudo apt-get install -y postgresql (./bootstrap.sh test installs it)"


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or ([shutil.which(name)] if shutil.which(name)
                                                                       else [])
    if not found:
        raise RuntimeError(INSTALL_HINT)
    return found[-1]


class PostgresServer:
    user = "bongsu"

    def __init__(self) -> None:
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self.dir = Path(tempfile.mkdtemp(prefix="bongsu-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self._as_other = os.geteuid() == 0

    @property
    def url(self) -> str:
        return self.url_for(self.user)

    def url_for(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", "postgres", "--", *argv] if self._as_other else list(argv)
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
                               f"{' ; log: ' + self.log.read_text()[-2000:] if self.log.exists() else ''}")
        return done

    def start(self) -> PostgresServer:
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_other:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
                  "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions")
        pwfile.unlink()
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=200"
                   " -c shared_buffers=64MB")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                  "start")
        self.create_database(self.user)
        return self

    def create_database(self, name: str) -> str:
        import psycopg

        deadline, last = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url_for("postgres"), autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                return self.url_for(name)
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL on port {self.port} did not accept connections: {last}")

    def stop(self) -> None:
        if self.data.exists():
            try:
                self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
            except RuntimeError:
                pass  # never started, or already gone: the folder goes either way
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
