"""Static checks of compose/docker-compose.yml that Docker would only reveal at `up` time, or never:
schema, pinned images, health gating, named volumes, secrets via .env, and that every address one
service uses to reach another names a service and a port the file defines.

Configs are read the way the containers see them: a volume mount maps a container path back to a
file in compose/ or in the build output the `config` service writes (`generated`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

GENERATED_VOLUME = "generated"
NO_HEALTHCHECK = "x-bongsu-no-healthcheck"  # a service without a healthcheck must say why
SELF_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::"}
_ADDRESS = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://)?(?<![\w.-])(?P<host>[A-Za-z_][A-Za-z0-9_-]*):(?P<port>\d{1,5})\b")
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY", re.IGNORECASE)
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Mount:
    kind: str  # "volume" or "bind"
    source: str  # volume name, or host path relative to the compose folder
    target: str
    read_only: bool
    subpath: str = ""


@dataclass(frozen=True)
class Reference:
    service: str  # who connects
    host: str
    port: int
    where: str  # which setting or file says so


def _default(match: re.Match[str]) -> str:
    """`${VAR:-default}` or `${VAR-default}` -> default; other forms have none."""
    rest = match.group("rest")
    return rest.split("-", 1)[1] if rest.startswith((":-", "-")) else ""


class ComposeFile:
    """The parsed compose file, plus the build output its `generated` volume would hold."""

    def __init__(self, path: Path, generated: Path | None = None) -> None:
        self.path = path.resolve()
        self.folder = self.path.parent
        self.generated = generated
        self.document = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.services: dict[str, dict[str, Any]] = self.document.get("services", {})

    def mounts(self, service: str) -> list[Mount]:
        found = []
        for entry in self.services[service].get("volumes", []):
            if isinstance(entry, str):
                parts = _INTERPOLATION.sub(_default, entry).split(":")
                source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
                kind = "bind" if source.startswith((".", "/", "$", "~")) else "volume"
                if len(parts) == 1:
                    kind = "anonymous"
                found.append(Mount(kind, source, target, len(parts) > 2 and "ro" in parts[2].split(",")))
            else:
                found.append(Mount(entry.get("type", "volume"), entry.get("source", ""), entry["target"],
                                   bool(entry.get("read_only")), entry.get("volume", {}).get("subpath", "")))
        return found

    def host_path(self, source: str) -> Path:
        """A bind source as a path, with `${VAR:-default}` taking its default."""
        return (self.folder / _INTERPOLATION.sub(_default, source)).resolve()

    def to_host(self, service: str, container_path: str, read_only: bool = False) -> Path | None:
        """Where `container_path` in `service` comes from on this machine, if a mount provides it."""
        wanted = PurePosixPath(container_path)
        for mount in sorted(self.mounts(service), key=lambda m: -len(m.target)):
            target = PurePosixPath(mount.target)
            if read_only and not mount.read_only:
                continue
            if wanted != target and target not in wanted.parents:
                continue
            rest = wanted.relative_to(target)
            if mount.kind == "bind":
                return self.host_path(mount.source) / rest if str(rest) != "." else self.host_path(mount.source)
            if mount.kind == "volume" and mount.source == GENERATED_VOLUME and self.generated:
                return self.generated / mount.subpath / rest
        return None

    def read_files(self, service: str) -> list[Path]:
        """Config files the service reads: read-only bind mounts and read-only views of `generated`."""
        files: list[Path] = []
        for mount in self.mounts(service):
            if not mount.read_only:
                continue
            if mount.kind == "bind":
                source = self.host_path(mount.source)
                files += [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
            elif mount.source == GENERATED_VOLUME and self.generated:
                root = self.generated / mount.subpath
                files += sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))
        return files

    def exposed(self, service: str) -> set[int]:
        definition = self.services[service]
        ports = {int(str(p).split("/")[0]) for p in definition.get("expose", [])}
        for published in definition.get("ports", []):
            target = published.get("target") if isinstance(published, dict) else str(published).split(":")[-1]
            ports.add(int(str(target).split("/")[0]))
        return ports


def image_problems(compose: ComposeFile) -> list[str]:
    problems = []
    for name, service in compose.services.items():
        image = service.get("image")
        if image is None and "build" not in service:
            problems.append(f"services.{name}: neither image nor build")
            continue
        if image is not None and (problem := _unpinned(image)):
            problems.append(f"services.{name}.image {image!r}: {problem}")
        build = service.get("build")
        if build:
            context = compose.folder / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
            if not dockerfile.is_file():
                problems.append(f"services.{name}.build: {dockerfile} does not exist")
                continue
            for match in _FROM.finditer(dockerfile.read_text(encoding="utf-8")):
                if problem := _unpinned(match.group("image")):
                    problems.append(f"{dockerfile.name}: FROM {match.group('image')}: {problem}")
    return problems


def _unpinned(image: str) -> str:
    if "@sha256:" in image:
        return ""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if not tag:
        return "no tag: pin a version"
    if tag == "latest" or not re.search(r"\d", tag):
        return f"tag {tag!r} is not a version: pin one"
    return ""


def health_problems(compose: ComposeFile) -> list[str]:
    """Long-running services have a healthcheck or say why not; every dependency waits on a condition
    that the dependency can actually reach."""
    problems = []
    one_shot = {name for name, s in compose.services.items() if s.get("restart") == "no"}
    healthy = {name for name, s in compose.services.items() if "healthcheck" in s
               and not s["healthcheck"].get("disable")}
    for name, service in compose.services.items():
        if name not in one_shot and name not in healthy and not str(service.get(NO_HEALTHCHECK, "")).strip():
            problems.append(f"services.{name}: no healthcheck, and no {NO_HEALTHCHECK} saying why")
        if name in healthy and service.get(NO_HEALTHCHECK):
            problems.append(f"services.{name}: has a healthcheck and {NO_HEALTHCHECK}")
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            problems.append(f"services.{name}.depends_on: use the long form with a condition")
            continue
        for target, rule in depends.items():
            condition = (rule or {}).get("condition")
            if target not in compose.services:
                problems.append(f"services.{name}.depends_on: {target!r} is not a service")
            elif condition is None:
                problems.append(f"services.{name}.depends_on.{target}: no condition")
            elif condition == "service_healthy" and target not in healthy:
                problems.append(f"services.{name}.depends_on.{target}: service_healthy, but {target} has no healthcheck")
            elif condition == "service_completed_successfully" and target not in one_shot:
                problems.append(f"services.{name}.depends_on.{target}: waits for completion of a long-running service")
            elif condition == "service_started" and target in healthy:
                problems.append(f"services.{name}.depends_on.{target}: {target} has a healthcheck; wait for service_healthy")
            elif condition == "service_started" and target in one_shot:
                problems.append(f"services.{name}.depends_on.{target}: wait for service_completed_successfully")
    return problems


def volume_problems(compose: ComposeFile) -> list[str]:
    problems = []
    declared = set(compose.document.get("volumes", {}) or {})
    used: set[str] = set()
    for name in compose.services:
        for mount in compose.mounts(name):
            if mount.kind == "anonymous":
                problems.append(f"services.{name}.volumes: {mount.target} is an anonymous volume; name it")
            elif mount.kind == "volume":
                used.add(mount.source)
                if mount.source not in declared:
                    problems.append(f"services.{name}.volumes: volume {mount.source!r} is not declared")
            elif mount.kind == "bind":
                source = compose.host_path(mount.source)
                if not source.exists():
                    problems.append(f"services.{name}.volumes: bind source {mount.source} does not exist")
                if not mount.read_only:
                    problems.append(f"services.{name}.volumes: bind mount {mount.source} is writable; "
                                    "state belongs in a named volume")
    problems += [f"volumes.{name}: declared but never mounted" for name in sorted(declared - used)]
    return problems


def secret_problems(compose: ComposeFile, env_example: Path) -> list[str]:
    """Secrets only as `${VAR}` from .env; every variable the file uses is in .env.example, without values."""
    problems = []
    text = compose.path.read_text(encoding="utf-8")
    example = _env_file(env_example) if env_example.is_file() else None
    if example is None:
        return [f"{env_example.name} is missing: it documents every variable the compose file reads"]
    for name, service in compose.services.items():
        environment = service.get("environment", {}) or {}
        items = environment.items() if isinstance(environment, dict) else (
            tuple(e.split("=", 1)) if "=" in e else (e, "") for e in environment)
        for key, value in items:
            if _SECRET_NAME.search(key) and not _INTERPOLATION.fullmatch(str(value)):
                problems.append(f"services.{name}.environment.{key}: a secret must come from .env as ${{{key}}}")
    for match in _INTERPOLATION.finditer(text):
        if match.group("name") not in example:
            problems.append(f"${{{match.group('name')}}} is used but not listed in {env_example.name}")
    for key, value in example.items():
        if _SECRET_NAME.search(key) and value:
            problems.append(f"{env_example.name}: {key} has a value; leave secrets empty in the example")
    return problems


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def references(compose: ComposeFile) -> list[Reference]:
    """Every host:port a service is configured to reach: its environment, command, healthcheck, and the
    config files it reads."""
    found: list[Reference] = []
    for name, service in compose.services.items():
        for key in ("environment", "command", "entrypoint", "healthcheck"):
            if key in service:
                found += _scan(service[key], name, f"services.{name}.{key}")
        for file in compose.read_files(name):
            if file.suffix in (".yml", ".yaml"):
                documents = [d for d in yaml.safe_load_all(file.read_text(encoding="utf-8")) if d is not None]
                found += _scan(documents, name, _relative(file, compose))
    return found


def _relative(file: Path, compose: ComposeFile) -> str:
    for root, label in ((compose.folder, "compose"), (compose.generated, "generated")):
        if root and file.is_relative_to(root):
            return f"{label}/{file.relative_to(root)}"
    return str(file)


def _scan(value: object, service: str, where: str) -> list[Reference]:
    found: list[Reference] = []
    if isinstance(value, dict):
        host, port = value.get("host"), value.get("port")
        if isinstance(host, str) and str(port).isdigit() and host not in SELF_HOSTS:
            found.append(Reference(service, host, int(str(port)), where))
        for item in value.values():
            found += _scan(item, service, where)
    elif isinstance(value, list):
        for item in value:
            found += _scan(item, service, where)
    elif isinstance(value, str):
        for match in _ADDRESS.finditer(value):
            if match.group("host") not in SELF_HOSTS:
                found.append(Reference(service, match.group("host"), int(match.group("port")), where))
    return found


def reachability_problems(compose: ComposeFile) -> list[str]:
    problems = []
    for ref in references(compose):
        if ref.host not in compose.services:
            problems.append(f"{ref.where}: {ref.service} reaches {ref.host}:{ref.port}, but no service is "
                            f"named {ref.host!r}")
        elif ref.port not in compose.exposed(ref.host):
            problems.append(f"{ref.where}: {ref.service} reaches {ref.host}:{ref.port}, but {ref.host} exposes "
                            f"{sorted(compose.exposed(ref.host)) or 'no ports'}")
    return problems


def config_flag(compose: ComposeFile, service: str, flag: str = "--config.file") -> Path | None:
    """The host file behind a service's `--config.file=...` (as the container would see it)."""
    for arg in compose.services[service].get("command", []) or []:
        if str(arg).startswith(f"{flag}="):
            return compose.to_host(service, str(arg).split("=", 1)[1])
    return None


def mounted_path_problems(compose: ComposeFile) -> list[str]:
    """Every absolute path a service's command or config files name inside one of its config mounts
    (bind or `generated`) exists there, e.g. `--config.file` and Grafana's dashboard provider paths."""
    problems = []
    for name, service in compose.services.items():
        candidates = [(str(arg).split("=", 1)[-1], f"services.{name}.command")
                      for arg in service.get("command", []) or [] if "/" in str(arg)]
        for file in compose.read_files(name):
            if file.suffix in (".yml", ".yaml"):
                for document in yaml.safe_load_all(file.read_text(encoding="utf-8")):
                    candidates += [(text, _relative(file, compose)) for text in _strings(document)]
        for text, where in candidates:
            if not text.startswith("/"):
                continue
            host = compose.to_host(name, text, read_only=True)
            if host is not None and not host.exists():
                problems.append(f"{where}: {name} reads {text}, which its mounts do not provide "
                                f"(looked for {_relative(host, compose)})")
    return problems


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []
