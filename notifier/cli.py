"""`bongsu notifier serve`: flags and env vars in, one clear line out for every user mistake."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from bongsu import conventions

app = typer.Typer(help="The Slack notifier: Alertmanager webhooks in, living Slack threads out.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {value!r} must be HOST:PORT, like 127.0.0.1:9095")
    return host, int(port)


def bind(host: str, port: int) -> socket.socket:
    """Bind before starting, so a taken port is one clear line and not a server traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on connections of sockets that say so,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = " (another process is using it)" if exc.errno == 98 else ""
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@app.command("serve")
def serve(
    listen: Annotated[str, typer.Option(help="HOST:PORT to listen on, e.g. 127.0.0.1:9095.")],
    state: Annotated[Path, typer.Option(help="SQLite outbox file; notifications.jsonl goes beside it offline.")],
    catalog: Annotated[Optional[Path], typer.Option("--catalog", "-c",
                                                    help="Service catalog YAML (default: the demo shop's).")] = None,
    store: Annotated[Optional[str], typer.Option(
        "--store", envvar=conventions.NOTIFIER_STORE, show_envvar=True,
        help="Shared outbox for replicas: postgresql://USER:PASSWORD@HOST:PORT/DB (default: SQLite at --state).")]
    = None,
) -> None:
    """Receive Alertmanager webhooks on POST /alertmanager and deliver them to Slack (or the terminal)."""
    import uvicorn

    from bongsu.catalog import CatalogError, load_catalog
    from instrumentation import ConfigError
    from notifier.app import create_app
    from notifier.logs import configure_logging
    from notifier.settings import Settings
    from notifier.redaction import redact_url
    from notifier.store import StoreError
    from notifier.store_url import open_store

    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise fail(str(exc)) from None
    try:
        settings = Settings.from_env(state)
    except ValueError as exc:
        raise fail(str(exc)) from None
    settings.store = store
    if settings.webhook_token is None:
        raise fail("BONGSU_WEBHOOK_TOKEN is not set: the webhook endpoint needs a bearer token "
                   "(set the same token in Alertmanager's webhook http_config)")
    try:
        model = load_catalog(catalog)
    except CatalogError as exc:
        raise fail(f"the catalog has {len(exc.problems)} problem(s):\n{exc}") from None
    try:
        outbox = open_store(store or state)
    except StoreError as exc:
        raise fail(str(exc)) from None
    if not outbox.writable():
        raise fail(f"the store {redact_url(store) if store else state} is not writable")
    if settings.offline:
        try:
            with open(settings.journal, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise fail(f"cannot write {settings.journal}: {exc.strerror}") from None
    try:
        sock = bind(host, port)
    except OSError as exc:
        outbox.close()
        raise fail(str(exc)) from None
    try:
        configure_logging()
    except ConfigError as exc:
        sock.close()
        outbox.close()
        raise fail(str(exc)) from None
    application = create_app(settings, model, store=outbox)
    config = uvicorn.Config(application, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
