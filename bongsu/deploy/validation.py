"""All checks of the compose stack in one place: `bongsu deploy check` and tests/deploy run these.

The compose file is checked together with what the `config` service would write, built into a scratch
folder exactly as in the container (bongsu.build.check_compose runs the build, then these checks), so Prometheus' and Alertmanager's configs are validated
by the real promtool and amtool at the paths the containers read them from.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bongsu.binaries import MissingBinary, find
from bongsu.deploy import compose_checks as checks
from bongsu.deploy.schemas import CheckUnavailable, compose_problems
from bongsu.generator import Finding


def check_compose_folder(compose_file: Path, generated: Path) -> list[Finding]:
    """Check `compose_file` against `generated`, a folder bongsu.build.build_for_compose has filled."""
    compose = checks.ComposeFile(compose_file, generated)
    findings = [_schema(compose)]
    named: list[tuple[str, Callable[[], list[str]]]] = [
        ("images pinned to versions (compose file and Dockerfile FROM lines)", lambda: checks.image_problems(compose)),
        ("healthchecks, and depends_on conditions each dependency can meet", lambda: checks.health_problems(compose)),
        ("named volumes only; bind mounts are read-only configs", lambda: checks.volume_problems(compose)),
        ("secrets only from .env; .env.example lists every variable, without values",
         lambda: checks.secret_problems(compose, compose.folder / ".env.example")),
        ("every address a service reaches names a defined service and exposed port",
         lambda: checks.reachability_problems(compose)),
        ("every file a service reads from its mounts exists", lambda: checks.mounted_path_problems(compose)),
    ]
    for name, run in named:
        problems = run()
        findings.append(Finding(f"compose: {name}", not problems, "\n".join(problems)))
    findings.append(_tool(compose, "prometheus", "promtool", ["check", "config"]))
    findings.append(_tool(compose, "alertmanager", "amtool", ["check-config"]))
    return findings


def _schema(compose: checks.ComposeFile) -> Finding:
    name = "compose: against the Compose Specification (compose-spec parser)"
    try:
        problems = compose_problems(compose.path.read_text(encoding="utf-8"))
    except CheckUnavailable as exc:
        return Finding(name, True, str(exc), checked=False)
    return Finding(name, not problems, "\n".join(problems))


def _tool(compose: checks.ComposeFile, service: str, tool: str, args: list[str]) -> Finding:
    name = f"compose: {tool} {' '.join(args)} on {service}'s --config.file as mounted"
    if service not in compose.services:
        return Finding(name, False, f"the compose file has no {service} service")
    config = checks.config_flag(compose, service)
    if config is None or not config.is_file():
        return Finding(name, False, f"{service}'s --config.file is not provided by its mounts ({config})")
    try:
        binary = find(tool)
    except MissingBinary as exc:
        return Finding(name, False, str(exc))
    result = subprocess.run([str(binary), *args, str(config)], capture_output=True, text=True, timeout=120)
    return Finding(name, result.returncode == 0, (result.stdout + result.stderr).strip() if result.returncode else "")
