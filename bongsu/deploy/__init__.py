"""Deployment: the Docker Compose stack's build (compose/ mounts what `bongsu deploy compose` writes)
and the Kubernetes path (DIR/kubernetes/: notifier, ServiceMonitors, Grafana dashboard ConfigMaps),
validated against the Compose Specification and prometheus-operator CRD schemas.

`GENERATOR` is registered in bongsu/build.py as a packager: it runs after every other generator and
packages what they wrote into DIR (dashboard ConfigMaps, Grafana data sources) without importing them.
The compose build and its checks (`bongsu deploy`) run every generator, so the runner (bongsu/build.py)
and the spine's command line (bongsu/deploy_cli.py) drive them; validation.py checks the built folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bongsu.catalog import Catalog
from bongsu.deploy import grafana, kubernetes
from bongsu.deploy.compose import compose_options
from bongsu.generator import BuildOptions, Finding, Generator, Stage

__all__ = ["GENERATOR", "check", "compose_options", "generate"]


def generate(catalog: Catalog, options: BuildOptions) -> list[Path]:
    """DIR/kubernetes/ and the compose stack's Grafana data sources (DIR/compose/grafana/)."""
    written = kubernetes.write(catalog, options)
    written.append(grafana.write(options.out, kubernetes.header(Path(catalog.source).name)))
    return written


def check(catalog: Catalog, options: BuildOptions) -> Iterable[Finding]:
    # Validation needs jsonschema (the `dev` extra); building must work on a base install without it.
    try:
        from bongsu.deploy.manifests import check_folder
        from bongsu.deploy.schemas import SchemasMissing, schemas_dir
    except ModuleNotFoundError as exc:
        return [Finding("kubernetes manifests against CRD schemas", False,
                        f"{exc.name} is not installed: pip install 'bongsu[dev]'")]
    try:
        schemas = schemas_dir()
    except SchemasMissing as exc:
        return [Finding("kubernetes manifests against CRD schemas", False, str(exc))]
    return check_folder(options.out / "kubernetes", schemas)


GENERATOR = Generator("deploy", generate, check, Stage.PACKAGE)
