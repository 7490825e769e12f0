"""The `bongsu` command line. Thin: parse flags, call the parts, turn user mistakes into one clear line.

It answers at once: every part (the build, the stack, the notifier, matplotlib for previews, Chaos
Toolkit) is imported only by the command that uses it. The parts' own sub-commands are listed from the
table below and loaded when one of them runs (docs/benchmarks.md has the start-up times).
"""

from __future__ import annotations

import importlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from bongsu.terminal import BongsuGroup, CatalogOption, console, fail, passed_summary, print_finding, read_catalog

if TYPE_CHECKING:
    from bongsu.stack import StackSettings


@dataclass(frozen=True)
class Part:
    """A sub-command another package provides: `module.attribute` is a Typer app (a group of commands)
    or a command function; `extra` is the install extra it needs; `help` is its one-line summary,
    listed without importing it (tests/e2e/test_cli_startup.py keeps it equal to the part's own)."""

    module: str
    attribute: str
    extra: str
    help: str


PARTS: dict[str, Part] = {
    "notifier": Part("notifier.cli", "app", "notifier",
                     "The Slack notifier: Alertmanager webhooks in, living Slack threads out."),
    "dashboards": Part("dashboards.cli", "app", "dashboards",
                       "Grafana dashboards: push them to a Grafana, or preview them as PNGs."),
    "drill": Part("chaos.cli", "drill_command", "chaos",
                  "Run chaos drills: inject a fault, prove the page fires, reaches Slack and resolves, in time."),
    "postmortem": Part("chaos.cli", "postmortem_command", "chaos",
                       "Write a Markdown post-mortem draft from a drill journal or a time window."),
    "deploy": Part("bongsu.deploy_cli", "app", "dev",
                   "Deployment: the Docker Compose stack and the Kubernetes manifests."),
    "runbooks": Part("alert_rules.cli", "app", "all", "Runbooks for the catalog's alerts."),
    "rollback": Part("bongsu.recovery_cli", "rollback_command", "all",
                     "Roll SERVICE back as its catalog `rollback` says, to --to or the previous build."),
    "stack": Part("bongsu.recovery_cli", "stack_app", "all",
                  "Drive a running local stack (`bongsu up`, `bongsu demo`)."),
}
_OURS = {"bongsu", "instrumentation", "notifier", "dashboards", "alert_rules", "chaos"}


def load_part(name: str) -> TyperCommand | TyperGroup:
    """The part's real click command; a missing extra is one clear error, never a traceback."""
    part = PARTS[name]
    try:
        target = getattr(importlib.import_module(part.module), part.attribute)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in _OURS and not part.module.startswith(exc.name):
            raise  # a bug in the part, not a missing install
        raise fail(escape(f"`bongsu {name}` needs {exc.name}, which is not installed: "
                          f"pip install -c constraints.txt 'bongsu[{part.extra}]'")) from None
    # Mounted exactly as `app.add_typer(target, name=...)` / `app.command(name)(target)` would, so a
    # part with one command stays a group (`bongsu notifier serve`).
    holder = typer.Typer(pretty_exceptions_enable=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    holder.command("_")(lambda: None)  # two entries, so Typer builds a group to take ours from
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    command = group.commands[name]
    assert isinstance(command, (TyperCommand, TyperGroup))
    return command


class LazyGroup(BongsuGroup):
    """Lists the parts from PARTS and imports one only when it runs (or its own --help is asked).

    A BongsuGroup, so a BongsuError raised in any command, a lazily loaded part's included, is one
    clean line with its exit code."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *PARTS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in PARTS or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # `bongsu --help`: the summary is enough
            return TyperCommand(cmd_name, help=PARTS[cmd_name].help)
        self.commands[cmd_name] = load_part(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="bongsu",
    cls=LazyGroup,
    help="Bongsu: observability and alerting for Python services, generated from one service catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: Typer's rich help imports a Markdown parser (~0.1 s) before printing a line.
    rich_markup_mode=None,
)


@app.command("build")
def build_command(
    catalog: CatalogOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    notifier_url: Annotated[Optional[str], typer.Option(
        help="Notifier webhook URL for Alertmanager (env BONGSU_NOTIFIER_URL).")] = None,
) -> None:
    """Write Prometheus, Alertmanager, Grafana and Kubernetes files for the catalog."""
    from bongsu.build import BuildOptions, build

    model = read_catalog(catalog)
    options = BuildOptions(out=out)
    if notifier_url:
        options.notifier_url = notifier_url
    written = build(model, options)
    console.print(f"[green]wrote {len(written)} files[/] under {out}/")


@app.command("check")
def check_command(catalog: CatalogOption = None) -> None:
    """Build into a scratch folder and validate everything with the real promtool and amtool."""
    from bongsu.build import BuildOptions, check

    model = read_catalog(catalog)
    with tempfile.TemporaryDirectory(prefix="bongsu-check-") as scratch:
        findings = check(model, BuildOptions(out=Path(scratch)))
    failed = [f for f in findings if not f.ok]
    for finding in findings:
        print_finding(finding)
    if failed:
        raise fail(f"{len(failed)} of {len(findings)} checks failed", 1)
    console.print(f"[green]{passed_summary(findings)}[/]")


@app.command("up")
def up_command(
    catalog: CatalogOption = None,
    port_base: Annotated[int, typer.Option(
        help="First of the ports the stack uses (Prometheus, Alertmanager, notifier, then the shop); "
             "0 picks free ports.")] = 9090,
    scrape_interval: Annotated[str, typer.Option(help="Prometheus scrape interval.")] = "5s",
    evaluation_interval: Annotated[str, typer.Option(help="Rule evaluation interval.")] = "5s",
    run_dir: Annotated[Optional[Path], typer.Option(help="Where configs, data and logs go.")] = None,
) -> None:
    """Run Prometheus, Alertmanager, the notifier, the demo shop and load on loopback until Ctrl-C."""
    from bongsu.stack import Stack

    settings = _stack_settings(catalog, port_base, scrape_interval, evaluation_interval, run_dir)
    with Stack(settings, console) as stack:
        stack.print_endpoints()
        stack.wait_until_interrupted()


@app.command("demo")
def demo_command(
    catalog: CatalogOption = None,
    port_base: Annotated[int, typer.Option(help="First of the ports the stack uses; 0 picks free ports.")] = 0,
    run_dir: Annotated[Optional[Path], typer.Option(help="Where configs, data and logs go.")] = None,
) -> None:
    """The main job: a real incident, from fault to firing to notification to resolution."""
    from bongsu.demo import run_demo

    settings = _stack_settings(catalog, port_base, "5s", "5s", run_dir)
    run_demo(settings, console)


def _stack_settings(catalog: Optional[Path], port_base: int, scrape: str, evaluation: str,
                    run_dir: Optional[Path]) -> StackSettings:
    from bongsu.catalog import Duration
    from bongsu.stack import StackSettings

    model = read_catalog(catalog)
    intervals = Duration.parse(scrape), Duration.parse(evaluation)
    return StackSettings(catalog=model, port_base=port_base, scrape_interval=intervals[0],
                         evaluation_interval=intervals[1], run_dir=run_dir)


def main() -> None:
    app()
