"""The `bongsu` command line. Thin: parse flags, call the parts, turn user mistakes into one clear line."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from bongsu.binaries import MissingBinary
from bongsu.build import BuildOptions, build, check
from bongsu.catalog import Duration
from bongsu.terminal import CatalogOption, console, fail, passed_summary, print_finding, read_catalog

app = typer.Typer(
    name="bongsu",
    help="Bongsu: observability and alerting for Python services, generated from one service catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("build")
def build_command(
    catalog: CatalogOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    notifier_url: Annotated[Optional[str], typer.Option(
        help="Notifier webhook URL for Alertmanager (env BONGSU_NOTIFIER_URL).")] = None,
) -> None:
    """Write Prometheus, Alertmanager, Grafana and Kubernetes files for the catalog."""
    model = read_catalog(catalog)
    options = BuildOptions(out=out)
    if notifier_url:
        options.notifier_url = notifier_url
    try:
        written = build(model, options)
    except ValueError as exc:  # generators raise ValueError for catalog lint failures
        raise fail(str(exc)) from None
    console.print(f"[green]wrote {len(written)} files[/] under {out}/")


@app.command("check")
def check_command(catalog: CatalogOption = None) -> None:
    """Build into a scratch folder and validate everything with the real promtool and amtool."""
    model = read_catalog(catalog)
    with tempfile.TemporaryDirectory(prefix="bongsu-check-") as scratch:
        try:
            findings = check(model, BuildOptions(out=Path(scratch)))
        except ValueError as exc:
            raise fail(str(exc)) from None
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
    from bongsu.stack import Stack, StackError

    settings = _stack_settings(catalog, port_base, scrape_interval, evaluation_interval, run_dir)
    try:
        with Stack(settings, console) as stack:
            stack.print_endpoints()
            stack.wait_until_interrupted()
    except (StackError, MissingBinary) as exc:
        raise fail(str(exc), 3) from None


@app.command("demo")
def demo_command(
    catalog: CatalogOption = None,
    port_base: Annotated[int, typer.Option(help="First of the ports the stack uses; 0 picks free ports.")] = 0,
    run_dir: Annotated[Optional[Path], typer.Option(help="Where configs, data and logs go.")] = None,
) -> None:
    """The main job: a real incident, from fault to firing to notification to resolution."""
    from bongsu.demo import DemoFailed, run_demo
    from bongsu.stack import StackError

    settings = _stack_settings(catalog, port_base, "5s", "5s", run_dir)
    try:
        run_demo(settings, console)
    except (StackError, MissingBinary) as exc:
        raise fail(str(exc), 3) from None
    except DemoFailed as exc:
        raise fail(f"demo step failed: {exc}", 1) from None


def _stack_settings(catalog: Optional[Path], port_base: int, scrape: str, evaluation: str,
                    run_dir: Optional[Path]):
    from bongsu.stack import StackSettings

    model = read_catalog(catalog)
    try:
        intervals = Duration.parse(scrape), Duration.parse(evaluation)
    except ValueError as exc:
        raise fail(str(exc)) from None
    return StackSettings(catalog=model, port_base=port_base, scrape_interval=intervals[0],
                         evaluation_interval=intervals[1], run_dir=run_dir)


# Parts that add their own sub-commands; each is skipped only when its package is not installed.
for _module, _name in (("notifier.cli", "notifier"), ("dashboards.cli", "dashboards"), ("chaos.cli", None),
                       ("bongsu.deploy.cli", "deploy"), ("alert_rules.cli", "runbooks")):
    try:
        _part = importlib.import_module(_module)
    except ModuleNotFoundError as _exc:
        # The part is not in this checkout, or its extra (e.g. `bongsu[notifier]`) is not installed.
        _ours = _exc.name and _exc.name.split(".")[0] in {"bongsu", "instrumentation", "notifier",
                                                          "dashboards", "alert_rules", "chaos"}
        if _ours and not _module.startswith(_exc.name):
            raise
        continue
    if _name:
        app.add_typer(_part.app, name=_name)
    else:
        _part.register(app)


def main() -> None:
    app()
