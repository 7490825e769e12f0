"""`bongsu deploy`: build for the compose network, and check the compose file and the manifests.

Part of the spine, not of the deploy generator: both commands run every generator."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from bongsu.build import build_for_compose, check_compose
from bongsu.generator import Finding
from bongsu.terminal import BongsuGroup, CatalogOption, console, err, passed_summary, print_finding, read_catalog

app = typer.Typer(help="Deployment: the Docker Compose stack and the Kubernetes manifests.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=BongsuGroup)


@app.command("compose")
def compose_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (compose's `generated` volume).")],
    catalog: CatalogOption = None,
) -> None:
    """`bongsu build` for the compose network: every address is a compose service name."""
    model = read_catalog(catalog)
    written = build_for_compose(model, out)  # a BongsuError becomes one line in bongsu.terminal.BongsuGroup
    console.print(f"[green]wrote {len(written)} files[/] under {out}/ for the compose network")


@app.command("check")
def check_command(
    compose_file: Annotated[Path, typer.Option(help="The compose file to check.")] = Path("compose/docker-compose.yml"),
    catalog: CatalogOption = None,
) -> None:
    """Build for compose into a scratch folder, then check the compose file and everything it mounts."""
    if not compose_file.is_file():
        err.print(f"[bold red]error:[/] no compose file at {compose_file}", highlight=False)
        raise typer.Exit(2)
    model = read_catalog(catalog)
    try:
        import bongsu.deploy.validation  # noqa: F401  # needs jsonschema (the `dev` extra): fail early, clearly
    except ModuleNotFoundError as exc:
        err.print(f"[bold red]error:[/] {exc.name} is not installed: pip install 'bongsu[dev]'", highlight=False)
        raise typer.Exit(2) from None
    with tempfile.TemporaryDirectory(prefix="bongsu-compose-") as scratch:
        findings = check_compose(model, compose_file, Path(scratch))
    _report(findings)


def _report(findings: list[Finding]) -> None:
    failed = [f for f in findings if not f.ok]
    for finding in findings:
        print_finding(finding)
    if failed:
        err.print(f"[bold red]error:[/] {len(failed)} of {len(findings)} checks failed", highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]{passed_summary(findings)}[/]")
