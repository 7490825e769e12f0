"""`bongsu rollback` and `bongsu stack deploy`: recovery from a terminal (docs/recovery.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import httpx
import typer

from bongsu import conventions
from bongsu.terminal import CatalogOption, console, fail, read_catalog

stack_app = typer.Typer(help="Drive a running local stack (`bongsu up`, `bongsu demo`).", no_args_is_help=True)


@stack_app.command("deploy")
def stack_deploy_command(
    service: Annotated[str, typer.Argument(help="A demo shop service with builds (payments).")],
    version: Annotated[str, typer.Argument(help="The build to run, e.g. 1.5.0 or 1.4.2.")],
    stack: Annotated[Optional[Path], typer.Option(help="The running stack's stack.json (env BONGSU_STACK).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the new build to be healthy.")] = 120.0,
) -> None:
    """Restart SERVICE on build VERSION in the running local stack, and wait until it is healthy."""
    from bongsu.stackdeploy import DeployError, request_deploy

    stack_file = stack or (Path(os.environ[conventions.STACK]) if os.environ.get(conventions.STACK) else None)
    if stack_file is None:
        raise fail("which stack? pass --stack RUN/stack.json or set BONGSU_STACK")
    try:
        answer = request_deploy(stack_file, service, version, timeout)
    except DeployError as exc:
        raise fail(str(exc), 1) from None
    console.print(f"deployed {service} {version} (revision {answer.get('revision', '?')[:12]}, "
                  f"package {answer.get('package')})", highlight=False)


def rollback_command(
    service: Annotated[str, typer.Argument(help="The catalog service to roll back.")],
    to: Annotated[Optional[str], typer.Option("--to", help="Version to go back to (default: the one before the "
                                                            "running one, from bongsu_build_info).")] = None,
    catalog: CatalogOption = None,
    prometheus: Annotated[Optional[str], typer.Option(help="Prometheus URL (env PROMETHEUS_URL) for the build "
                                                           "history.")] = None,
) -> None:
    """Roll SERVICE back as its catalog `rollback` says, to --to or the previous build."""
    from bongsu.builds import history
    from bongsu.rollback import RollbackError, run_rollback

    model = read_catalog(catalog)
    entry = model.service(service) if service in {s.name for s in model.services} else None
    if entry is None:
        raise fail(f"no service {service!r} in {model.source}; services: {', '.join(s.name for s in model.services)}")
    url = prometheus or os.environ.get(conventions.PROMETHEUS_URL)
    current = previous = None
    if url:
        try:
            seen = history(url, entry.promql_selector)
        except httpx.HTTPError as exc:
            raise fail(f"cannot read the build history from Prometheus at {url}: {exc}", 1) from None
        current, previous = seen.current, seen.previous
    elif to is None:
        raise fail("which version? pass --to VERSION, or --prometheus URL (PROMETHEUS_URL) to roll back to the "
                   "previous build")
    target = to or (previous.version if previous else None)
    if target is None:
        raise fail(f"no previous build of {service} in the last hour of bongsu_build_info; pass --to VERSION", 1)
    from_version = current.version if current else "unknown"
    try:
        outcome = run_rollback(entry, from_version, target)
    except RollbackError as exc:
        raise fail(str(exc)) from None
    if not outcome.ok:
        raise fail(f"rollback of {service} from {from_version} to {target} failed: {outcome.detail}", 1)
    console.print(f"rolled {service} back from {from_version} to {target} "
                  f"({outcome.finished_at - outcome.started_at:.1f}s): {outcome.detail}", highlight=False)
