"""Fixtures for the deployment checks: a compose build, a full build, and disposable copies of
compose/ to break on purpose."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bongsu.build import BuildOptions, build, build_for_compose
from bongsu.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose"
WEBHOOK_TOKEN = "test-webhook-token-7f3a9c"


@pytest.fixture(scope="session")
def compose_out(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Path:
    """What the compose stack's `config` service writes into the `generated` volume."""
    out = tmp_path_factory.mktemp("compose-generated")
    build_for_compose(catalog, out)
    return out


@pytest.fixture(scope="session")
def build_out(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Path:
    """A plain `bongsu build` (every generator), with a known webhook token to look for leaks."""
    out = tmp_path_factory.mktemp("build")
    build(catalog, BuildOptions(out=out, webhook_token=WEBHOOK_TOKEN))
    return out


@pytest.fixture
def compose_copy(tmp_path: Path) -> Callable[[Callable[[dict], None] | None], Path]:
    """Copy compose/ (and the catalog it mounts) to a scratch tree, apply `edit` to the parsed compose
    file, and return the copied compose file's path."""

    def make(edit: Callable[[dict], None] | None = None) -> Path:
        folder = tmp_path / "compose"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(COMPOSE, folder, ignore=shutil.ignore_patterns(".env"))
        (tmp_path / "examples" / "shop").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "examples" / "shop" / "catalog.yaml", tmp_path / "examples" / "shop" / "catalog.yaml")
        path = folder / "docker-compose.yml"
        if edit:
            document = yaml.safe_load(path.read_text())
            edit(document)
            path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    return make
