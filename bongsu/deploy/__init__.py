"""Deployment: the Docker Compose stack's build (compose/ mounts what `bongsu deploy compose` writes)
and the Kubernetes path (DIR/kubernetes/: notifier, ServiceMonitors, Grafana dashboard ConfigMaps),
validated against the Compose Specification and prometheus-operator CRD schemas.

`generate` and `check` are the generator registered in bongsu/build.py; it runs last, so it can
package what the other generators wrote into DIR.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bongsu.build import BuildOptions, Finding
from bongsu.catalog import Catalog
from bongsu.deploy import grafana, kubernetes
from bongsu.deploy.compose import build_for_compose, compose_options

__all__ = ["build_for_compose", "check", "compose_options", "generate"]


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
