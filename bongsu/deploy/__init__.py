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
