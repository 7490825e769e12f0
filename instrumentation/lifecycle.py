"""`init()` and `shutdown()`: build every signal once per process around one resource, keep it right
after a fork, and tear it down within a bounded time."""

from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import Info

from instrumentation import buildinfo, errorreports
from instrumentation import identity as identity_mod
from instrumentation import logs, propagation, settings as settings_mod, tracing
from instrumentation.fluent import FluentShipper
from instrumentation.redaction import Redactor
from instrumentation.red import RedMetrics
from instrumentation.serverspan import ServerSpans
from instrumentation.settings import Settings
from instrumentation.spanqueue import BoundedSpanProcessor

TRACER_NAME = "bongsu.instrumentation"


@dataclass
class State:
    settings: Settings
    resource: Resource
    provider: TracerProvider | None
    processor: BoundedSpanProcessor | None
    red: RedMetrics
    shipper: FluentShipper | None
    spans: ServerSpans
    handler_id: int = -1
    build: buildinfo.BuildInfo | None = None
    _identity: dict[str, str] = field(default_factory=dict)
    _identity_pid: int = -1

    @property
    def identity(self) -> dict[str, str]:
        """service.* attributes of this process. A forked worker is a new instance: the OTel SDK renews
        the provider's service.instance.id after a fork, and the first record in the child picks it up."""
        if self._identity_pid != os.getpid():
            if self.provider is not None:
                self.resource = self.provider.resource
            elif self._identity_pid != -1:
                self.resource = identity_mod.build(self.settings, self.build)
            self._identity = identity_mod.identity(self.resource)
            self._identity_pid = os.getpid()
            if _target_info is not None:
                _target_info.info({k.replace(".", "_"): v for k, v in self._identity.items()})
        return self._identity


_state: State | None = None
_red: RedMetrics | None = None  # prometheus-client metrics live for the process, across re-inits
_target_info: Info | None = None
_lock = threading.RLock()
_hooks_installed = False


def current() -> State:
    """The initialised state; initialises with defaults if a middleware is used before `init()`."""
    state = _state
    return state if state is not None else init()


def init(service_name: str | None = None, **options: Any) -> State:
    """Set up metrics, traces and logs for this process; calling it again returns the same state."""
    global _state, _red, _target_info, _hooks_installed
    with _lock:
        if _state is not None:
            return _state
        app = buildinfo.caller_app(options.pop("app_module", None))
        reports = errorreports.load_options(options)
        build = buildinfo.detect(app,
                                 version=options.get("service_version"), revision=options.pop("revision", None),
                                 package=options.pop("build_package", None))
        settings = settings_mod.load(service_name, **options)
        resource = identity_mod.build(settings, build)
        buildinfo.publish(build)

        provider, processor = (tracing.build(settings, resource) if settings.traces_enabled else (None, None))
        if provider is not None:
            _set_global_provider(provider)
        propagation.instrument_http_clients()

        if _red is None:
            _red = RedMetrics(settings.buckets, settings.max_series, settings.exemplars)
        elif _red.buckets != settings.buckets:
            logger.warning("init: HTTP histogram buckets are fixed for the life of the process; keeping {}",
                           _red.buckets)
        if _target_info is None and settings.multiprocess_dir is None:
            _target_info = Info("target", "The service identity shared by every signal (OTel resource).")

        shipper = None
        if settings.fluent_address is not None:
            host, port = settings.fluent_address
            shipper = FluentShipper(host, port, settings.fluent_tag, settings.log_queue_size)
        state = State(settings, resource, provider, processor, _red, shipper,
                      ServerSpans(provider, processor, TRACER_NAME), build=build)
        state.identity  # noqa: B018 - computes it now, and sets target_info
        redactor = Redactor(settings.redact_patterns) if settings.redact else None
        sink = logs.JsonSink(settings.log_stream, lambda: state.identity, redactor,
                             shipper.ship if shipper is not None else None)
        state.handler_id = logs.configure(sink, settings.log_level, settings.intercept_stdlib)
        errorreports.start(reports, app, redactor or str, lambda: dict(state.resource.attributes), provider,
                           settings.log_level, settings.max_series)
        _state = state
        if not _hooks_installed:
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
            atexit.register(shutdown)  # flush at interpreter exit, bounded like any shutdown
            _hooks_installed = True
        logger.debug("bongsu instrumentation initialised: traces to {}, logs to {}",
                     settings.otlp_endpoint or "nowhere (no OTEL_EXPORTER_OTLP_ENDPOINT)",
                     f"{settings.fluent_address[0]}:{settings.fluent_address[1]}" if settings.fluent_address
                     else "stdout only")
        return _state


def _set_global_provider(provider: TracerProvider) -> None:
    """The OTel API allows one global provider per process; re-init after shutdown reuses the slot."""
    current_global = trace.get_tracer_provider()
    if isinstance(current_global, _Delegating):
        current_global.target = provider
    else:
        trace.set_tracer_provider(_Delegating(provider))


class _Delegating(trace.TracerProvider):
    """The global provider: forwards to the live SDK provider, so `shutdown()` + `init()` (tests,
    reloads) swap the target instead of hitting the OTel API's set-once rule."""

    def __init__(self, target: TracerProvider) -> None:
        self.target = target

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return self.target.get_tracer(*args, **kwargs)


def _after_fork_in_child() -> None:
    """Worker threads do not survive a fork: restart the exporters' threads in the child."""
    state = _state
    if state is None:
        return
    try:
        if state.processor is not None:
            state.processor.after_fork()
        if state.shipper is not None:
            state.shipper.after_fork()
    except Exception:  # noqa: BLE001 - a fork hook must never break the child
        pass


def shutdown(timeout: float | None = None) -> bool:
    """Flush spans and logs, then stop; returns within `timeout` (default: init's shutdown_timeout)
    even when a backend hangs. True when everything queued was delivered."""
    global _state
    with _lock:
        state = _state
        if state is None:
            return True
        _state = None
    budget = timeout if timeout is not None else state.settings.shutdown_timeout
    deadline = time.monotonic() + budget
    delivered = True
    if state.processor is not None:
        # Spans first, with most of the budget; logs get the rest.
        delivered = state.processor.shutdown(max(0.0, (deadline - time.monotonic()) * 0.6))
    # Error reports next (their log lines go to the shipper), with half of what is left.
    delivered = errorreports.stop(max(0.0, (deadline - time.monotonic()) * 0.5)) and delivered
    if state.shipper is not None:
        delivered = state.shipper.close(max(0.0, deadline - time.monotonic())) and delivered
    try:
        logger.remove(state.handler_id)
    except ValueError:
        pass
    propagation.uninstrument_http_clients()
    return delivered
