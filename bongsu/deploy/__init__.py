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
    # Validation needs the `dev` extra (jsonschema and the schema packages); building must work on a
    # base install without it, and the check then says what it could not check.
    try:
        from bongsu.deploy.manifests import check_folder
    except ModuleNotFoundError as exc:
        return [Finding("kubernetes manifests against CRD and core-kind schemas", True,
                        f"{exc.name} is not installed: pip install -c constraints.txt 'bongsu[dev]'", checked=False)]
    return check_folder(options.out / "kubernetes")


GENERATOR = Generator("deploy", generate, check, Stage.PACKAGE)
