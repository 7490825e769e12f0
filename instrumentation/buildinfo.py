"""Build identity: which version, source commit and build package is running.

An on-call engineer needs to know whether errors started with a deploy, so every span (resource),
log line and error report carries `service.version`, `vcs.ref.head.revision` and
`bongsu.build.package`, and Prometheus gets `bongsu_build_info{version, revision, package} 1`
(a deploy shows as a change of its labels).

Each value comes from the first source that knows it:
  1. `init()` arguments (`service_version=`, `revision=`, `build_package=`);
  2. environment: `OTEL_SERVICE_VERSION`, `BONGSU_BUILD_REVISION`, `BONGSU_BUILD_PACKAGE`, then
     `OTEL_RESOURCE_ATTRIBUTES` (`service.version`, `vcs.ref.head.revision`, `bongsu.build.package`);
  3. a git checkout holding the app's code (the commit of `HEAD`, read from `.git` without running git);
  4. the installed distribution holding the app's code: its version, `name==version` as the package,
     and for installs from git the commit pip recorded (`direct_url.json` `vcs_info.commit_id`);
  5. "unknown".
The app is the module that called `init()` (or `app_module=`).
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import weakref
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import FrameType
from urllib.parse import unquote, urlsplit

from opentelemetry.sdk.resources import OTELResourceDetector
from prometheus_client import CollectorRegistry, Gauge

from bongsu import conventions

UNKNOWN = "unknown"
VERSION_KEY, REVISION_KEY, PACKAGE_KEY = "service.version", "vcs.ref.head.revision", "bongsu.build.package"
BUILD_KEYS = (VERSION_KEY, REVISION_KEY, PACKAGE_KEY)
_SDK_DIR = str(Path(__file__).resolve().parent) + os.sep

_HELP = "The running build: version, source commit and build package (always 1)."
BUILD_INFO = Gauge(conventions.BUILD_INFO, _HELP, ["version", "revision", "package"], multiprocess_mode="max")
# The same gauge in registries given to instrument_asgi/instrument_wsgi, whose /metrics serve only them.
_injected: weakref.WeakKeyDictionary[CollectorRegistry, Gauge] = weakref.WeakKeyDictionary()
_published: BuildInfo | None = None


@dataclass(frozen=True)
class App:
    """Where the app's own code is: its top-level module name and one of its files."""

    module: str
    file: str | None

    @property
    def top_level(self) -> str:
        return self.module.split(".", 1)[0]


@dataclass(frozen=True)
class BuildInfo:
    version: str
    revision: str
    package: str

    def attributes(self) -> dict[str, str]:
        return {VERSION_KEY: self.version, REVISION_KEY: self.revision, PACKAGE_KEY: self.package}


def caller_app(app_module: str | None = None) -> App:
    """The app: `app_module` if given, else the first caller outside the SDK (the module calling init())."""
    if app_module:
        module = sys.modules.get(app_module)
        return App(app_module, getattr(module, "__file__", None))
    frame: FrameType | None = sys._getframe(1)  # noqa: SLF001 - the only way to find the caller
    while frame is not None and (frame.f_code.co_filename.startswith(_SDK_DIR)
                                 or frame.f_code.co_filename.startswith("<frozen")):
        if frame.f_code.co_name == "current":
            # A middleware initialised the SDK before any init(): the caller is the web server or
            # framework, whose version and package are not the app's.
            return App("", None)
        frame = frame.f_back
    if frame is None:
        return App("__main__", None)
    return App(str(frame.f_globals.get("__name__") or "__main__"), frame.f_code.co_filename)


def detect(app: App, *, version: str | None = None, revision: str | None = None,
           package: str | None = None) -> BuildInfo:
    env = os.environ
    resource = OTELResourceDetector().detect().attributes
    version = version or env.get(conventions.SERVICE_VERSION_OTEL) or _str(resource.get(VERSION_KEY))
    revision = revision or env.get(conventions.BUILD_REVISION) or _str(resource.get(REVISION_KEY))
    package = package or env.get(conventions.BUILD_PACKAGE) or _str(resource.get(PACKAGE_KEY))
    if not revision and app.file and not _installed(app.file):
        revision = git_head(Path(app.file).resolve().parent)
    if not (version and revision and package):
        dist = distribution(app)
        if dist is not None:
            version = version or dist.version
            revision = revision or vcs_commit(dist)
            package = package or f"{dist.metadata['Name']}=={dist.version}"
    return BuildInfo((version or UNKNOWN).strip(), (revision or UNKNOWN).strip(), (package or UNKNOWN).strip())


def publish(build: BuildInfo) -> None:
    """Expose `bongsu_build_info{...} 1`, replacing the series of an earlier init() in this process."""
    global _published
    _published = build
    for gauge in (BUILD_INFO, *_injected.values()):
        gauge.clear()
        gauge.labels(build.version, build.revision, build.package).set(1)


def expose_in(registry: CollectorRegistry) -> None:
    """`bongsu_build_info` in `registry` too (once per registry), kept current by `publish()`."""
    if registry in _injected:
        return
    gauge = _injected[registry] = Gauge(conventions.BUILD_INFO, _HELP, ["version", "revision", "package"],
                                        registry=registry)
    if _published is not None:
        gauge.labels(_published.version, _published.revision, _published.package).set(1)


def _str(value: object) -> str | None:
    return str(value) if value else None


def _installed(file: str) -> bool:
    """Code under site-packages is an installed distribution; a git repo around a venv is not its source."""
    roots = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    path = str(Path(file).resolve())
    return any(path.startswith(str(Path(root).resolve()) + os.sep) for root in roots) or \
        f"{os.sep}site-packages{os.sep}" in path or f"{os.sep}dist-packages{os.sep}" in path


def git_head(start: Path) -> str | None:
    """The commit HEAD points at, in the git checkout holding `start` (worktrees and packed refs included)."""
    for directory in (start, *start.parents):
        marker = directory / ".git"
        if marker.is_dir():
            return _resolve_head(marker)
        if marker.is_file():  # a worktree or submodule: "gitdir: <path>"
            try:
                text = marker.read_text().strip()
            except OSError:
                return None
            if not text.startswith("gitdir:"):
                return None
            git_dir = Path(text.removeprefix("gitdir:").strip())
            return _resolve_head(git_dir if git_dir.is_absolute() else (directory / git_dir).resolve())
    return None


def _resolve_head(git_dir: Path) -> str | None:
    try:
        head = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head if _is_sha(head) else None
    ref = head.removeprefix("ref:").strip()
    common = git_dir
    if (git_dir / "commondir").is_file():  # linked worktree: branches live in the main repository
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    for base in dict.fromkeys((git_dir, common)):
        loose = base / ref
        if loose.is_file():
            sha = loose.read_text().strip()
            return sha if _is_sha(sha) else None
    try:
        packed = (common / "packed-refs").read_text().splitlines()
    except OSError:
        return None  # a branch with no commit yet
    for line in packed:
        sha, _, name = line.partition(" ")
        if name == ref and _is_sha(sha):
            return sha
    return None


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def distribution(app: App) -> metadata.Distribution | None:
    """The installed distribution that holds the app's file (many distributions ship a top-level name
    like `tests`, so the name alone proves nothing)."""
    if not app.file:
        return None
    try:
        target = Path(app.file).resolve()
        for name in metadata.packages_distributions().get(app.top_level, []):
            dist = metadata.distribution(name)
            if _holds(dist, target):
                return dist
    except Exception:  # noqa: BLE001 - broken metadata must not stop the service
        return None
    return None


def _holds(dist: metadata.Distribution, target: Path) -> bool:
    for file in dist.files or ():
        if file.name == target.name and Path(str(dist.locate_file(file))).resolve() == target:
            return True
    try:  # an editable install: PEP 610 records the source folder
        direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    except (ValueError, OSError):
        return False
    url = direct_url.get("url", "") if isinstance(direct_url, dict) else ""
    editable = isinstance(direct_url, dict) and direct_url.get("dir_info", {}).get("editable")
    if editable and url.startswith("file://"):
        source = Path(unquote(urlsplit(url).path)).resolve()
        return source in target.parents
    return False


def vcs_commit(dist: metadata.Distribution) -> str | None:
    """`vcs_info.commit_id` of a distribution pip installed from a VCS URL (PEP 610)."""
    try:
        direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    except (ValueError, OSError):
        return None
    commit = direct_url.get("vcs_info", {}).get("commit_id") if isinstance(direct_url, dict) else None
    return str(commit) if commit else None
