"""Build identity: version, commit and package from init arguments, the environment, a real git
checkout (loose refs, packed refs, a linked worktree) and a real pip install from git (direct_url.json);
on every span (OTLP resource, decoded), every log line and the `bongsu_build_info` metric."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import instrumentation
from tests.sdk.apps import starlette_app
from tests.sdk.conftest import run_python, sample

BUILD_ENV = ("OTEL_SERVICE_VERSION", "BONGSU_BUILD_REVISION", "BONGSU_BUILD_PACKAGE", "OTEL_RESOURCE_ATTRIBUTES")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}

# Runs in a fresh interpreter: imports the app (which calls init()) and prints what the SDK saw.
PROBE = """
import json, sys
sys.path.insert(0, {path!r})
import {module} as app
from instrumentation import lifecycle
from prometheus_client import REGISTRY
state = lifecycle.current()
metric = [s.labels for m in REGISTRY.collect() if m.name == "bongsu_build_info" for s in m.samples if s.value == 1]
print(json.dumps({{"resource": dict(state.resource.attributes), "identity": state.identity, "metric": metric}}))
"""
APP = "import io\nimport instrumentation\ninstrumentation.init(service_name='buildapp', log_stream=io.StringIO(){extra})\n"


@pytest.fixture(autouse=True)
def _clean_build_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in BUILD_ENV:
        monkeypatch.delenv(name, raising=False)


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV},
                            timeout=60)
    assert result.returncode == 0, f"git {' '.join(args)} failed: {result.stderr}"
    return result.stdout.strip()


def _repo(root: Path, package: str = "buildapp", init_extra: str = "") -> Path:
    """A git repository with a package whose module calls init(), two commits deep."""
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "app.py").write_text(APP.format(extra=init_extra))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "first")
    (root / package / "extra.py").write_text("X = 1\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "second")
    return root


def _probe(path: Path, module: str = "buildapp.app", env: dict[str, str] | None = None) -> dict:
    return json.loads(run_python(PROBE.format(path=str(path), module=module), env).strip().splitlines()[-1])


def test_a_git_checkout_gives_the_commit_of_head(tmp_path):
    repo = _repo(tmp_path / "checkout")
    head = _git(repo, "rev-parse", "HEAD")
    seen = _probe(repo)
    assert seen["resource"]["vcs.ref.head.revision"] == head
    assert seen["resource"]["service.version"] == "unknown"  # git gives no version; no distribution either
    assert seen["resource"]["bongsu.build.package"] == "unknown"
    assert seen["identity"]["vcs.ref.head.revision"] == head
    assert seen["metric"] == [{"version": "unknown", "revision": head, "package": "unknown"}]

    # Packed refs (after `git gc` / `git pack-refs`) and a detached HEAD resolve too.
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert _probe(repo)["resource"]["vcs.ref.head.revision"] == head
    first = _git(repo, "rev-parse", "HEAD~1")
    _git(repo, "checkout", "-q", first)
    assert _probe(repo)["resource"]["vcs.ref.head.revision"] == first


def test_a_linked_worktree_gives_its_own_branch_commit(tmp_path):
    repo = _repo(tmp_path / "main")
    _git(repo, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "wt"), "HEAD~1")
    (tmp_path / "wt" / "buildapp" / "more.py").write_text("Y = 2\n")
    _git(tmp_path / "wt", "add", "-A")
    _git(tmp_path / "wt", "commit", "-q", "-m", "on the feature branch")
    feature = _git(tmp_path / "wt", "rev-parse", "HEAD")
    assert feature != _git(repo, "rev-parse", "HEAD")
    assert _probe(tmp_path / "wt")["resource"]["vcs.ref.head.revision"] == feature


def test_a_pip_install_from_git_gives_version_commit_and_package(tmp_path):
    source = _repo(tmp_path / "source", package="gitapp")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "gitapp"\nversion = "1.5.0"\n[tool.setuptools]\npackages = ["gitapp"]\n')
    _git(source, "add", "-A")
    _git(source, "commit", "-q", "-m", "packaged")
    commit = _git(source, "rev-parse", "HEAD")
    target = tmp_path / "venv" / "lib" / "site-packages"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), f"git+file://{source}"],
        capture_output=True, text=True, timeout=300, env={**os.environ, **GIT_ENV})
    assert install.returncode == 0, install.stderr[-3000:]
    direct_url = json.loads(next(target.glob("gitapp-1.5.0.dist-info")).joinpath("direct_url.json").read_text())
    assert direct_url["vcs_info"]["commit_id"] == commit
    # The source repository moves on; the installed build must still report what was installed.
    (source / "gitapp" / "later.py").write_text("Z = 3\n")
    _git(source, "add", "-A")
    _git(source, "commit", "-q", "-m", "later")

    seen = _probe(target, module="gitapp.app")
    assert seen["resource"]["service.version"] == "1.5.0"
    assert seen["resource"]["vcs.ref.head.revision"] == commit
    assert seen["resource"]["bongsu.build.package"] == "gitapp==1.5.0"
    assert seen["metric"] == [{"version": "1.5.0", "revision": commit, "package": "gitapp==1.5.0"}]


def test_environment_beats_git_and_arguments_beat_environment(tmp_path):
    repo = _repo(tmp_path / "checkout")
    env = {"OTEL_SERVICE_VERSION": "2.0.0", "BONGSU_BUILD_PACKAGE": "registry.example/app:2.0.0",
           "OTEL_RESOURCE_ATTRIBUTES": "vcs.ref.head.revision=feedbeef,deployment.environment=prod"}
    seen = _probe(repo, env=env)
    assert seen["metric"] == [{"version": "2.0.0", "revision": "feedbeef", "package": "registry.example/app:2.0.0"}]
    assert seen["resource"]["deployment.environment"] == "prod"
    # OTEL_RESOURCE_ATTRIBUTES alone, and BONGSU_BUILD_REVISION over it.
    seen = _probe(repo, env={"OTEL_RESOURCE_ATTRIBUTES": "service.version=3.1,bongsu.build.package=app-3.1.whl",
                             "BONGSU_BUILD_REVISION": "abc123"})
    assert seen["metric"] == [{"version": "3.1", "revision": "abc123", "package": "app-3.1.whl"}]

    explicit = _repo(tmp_path / "explicit", init_extra=", service_version='9.9', revision='0ff1ce',"
                                                      " build_package='app:9.9'")
    seen = _probe(explicit, env=env)
    assert seen["metric"] == [{"version": "9.9", "revision": "0ff1ce", "package": "app:9.9"}]


def test_identity_is_on_every_span_log_line_and_the_info_metric(sdk, otlp):
    handle = sdk(service_version="1.5.0", revision="abc1234def", build_package="payments==1.5.0",
                 otlp_endpoint=otlp.endpoint)
    client = TestClient(instrumentation.instrument_asgi(starlette_app()))
    assert client.get("/items/7").status_code == 200
    instrumentation.shutdown(timeout=5)
    spans = otlp.wait_for(lambda s: any(x.name == "GET /items/{item_id}" for x in s))
    resource = next(s for s in spans if s.name == "GET /items/{item_id}").resource
    assert resource["service.version"] == "1.5.0"
    assert resource["vcs.ref.head.revision"] == "abc1234def"
    assert resource["bongsu.build.package"] == "payments==1.5.0"
    line = next(x for x in handle.lines() if x["message"] == "item 7")
    assert (line["service.version"], line["vcs.ref.head.revision"], line["bongsu.build.package"]) == \
        ("1.5.0", "abc1234def", "payments==1.5.0")
    assert sample("bongsu_build_info", version="1.5.0", revision="abc1234def", package="payments==1.5.0") == 1

    # A re-init with another build replaces the series: one build per process at a time.
    sdk(service_version="1.5.1", revision="bcd2345", build_package="payments==1.5.1")
    assert sample("bongsu_build_info", version="1.5.1", revision="bcd2345", package="payments==1.5.1") == 1
    assert sample("bongsu_build_info", version="1.5.0", revision="abc1234def", package="payments==1.5.0") == 0
