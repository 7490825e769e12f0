"""How every `bongsu` command talks to a person: results on stdout, and a user's mistake or a missing
prerequisite (a BongsuError) as one red line on stderr with its exit code, never a traceback. Any
other exception is a bug in Bongsu and keeps its traceback."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from typer import _click
from typer.core import TyperGroup

from bongsu.errors import BongsuError

if TYPE_CHECKING:  # the catalog model is imported when a command reads one, not at start-up
    from bongsu.catalog import Catalog
    from bongsu.generator import Finding

# soft_wrap: lines are never hard-wrapped at the width, so located messages and paths stay whole.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

CatalogOption = Annotated[
    Optional[Path],
    typer.Option("--catalog", "-c", help="Service catalog YAML (default: the demo shop's)."),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` as one error and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


class BongsuGroup(TyperGroup):
    """The command group that turns a BongsuError, and only that, into one clean line and its exit code."""

    def invoke(self, ctx: _click.Context) -> Any:  # typer vendors click as typer._click
        try:
            return super().invoke(ctx)
        except BongsuError as exc:
            raise fail(str(exc), exc.exit_code) from None


def read_catalog(path: Optional[Path]) -> Catalog:
    """The catalog at `path` (the demo's when None), or exit 2 listing every located problem."""
    from bongsu.catalog import CatalogError, load_catalog

    try:
        return load_catalog(path)
    except CatalogError as exc:
        raise fail(f"the catalog has {len(exc.problems)} problem(s):\n{exc}") from None


def print_finding(finding: Finding) -> None:
    """One check's line; a failure or a check that could not run also says why, each on one unwrapped line
    (a path wrapped at the terminal's width can be neither copied nor grepped)."""
    mark = "[yellow]not checked[/]" if not finding.checked else "[green]ok[/]  " if finding.ok else "[red]FAIL[/]"
    console.print(f"{mark} {finding.check}", highlight=False, soft_wrap=True)
    if finding.detail and (not finding.ok or not finding.checked):
        console.print(f"      {finding.detail}", highlight=False, markup=False, soft_wrap=True)


def passed_summary(findings: list[Finding]) -> str:
    """`all 9 checks passed`, or `8 checks passed, 1 not checked` when some could not run."""
    unchecked = sum(not f.checked for f in findings)
    if not unchecked:
        return f"all {len(findings)} checks passed"
    return f"{len(findings) - unchecked} checks passed, {unchecked} not checked (see above)"
