"""`bongsu runbooks ...`: draft the runbooks a catalog's alerts still lack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from alert_rules import runbooks
from alert_rules.scaffold import scaffold

app = typer.Typer(help="Runbooks for the catalog's alerts.", no_args_is_help=True)
console = Console()


@app.command("scaffold")
def scaffold_command(
    catalog: Annotated[Optional[Path], typer.Option("--catalog", "-c", help="Service catalog YAML.")] = None,
    folder: Annotated[Optional[Path], typer.Option(
        "--dir", help="Runbook folder (default: BONGSU_RUNBOOKS_DIR or the repository's runbooks/).")] = None,
) -> None:
    """Write a filled-in draft for every alert without a runbook; existing runbooks are left alone."""
    from bongsu.terminal import read_catalog

    model = read_catalog(catalog)
    written = scaffold(model, folder or runbooks.folder())
    for path in written:
        console.print(f"drafted {path}", highlight=False)
    console.print(f"[green]{len(written)} draft(s) written[/]; finish them before `bongsu check` counts on them")
