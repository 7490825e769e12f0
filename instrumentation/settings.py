"""Init options merged with the environment, validated once, so a bad value fails at start-up with
its name and source instead of somewhere on the request path."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from instrumentation.errors import ConfigError
from instrumentation.guard import DEFAULT_MAX_SERIES
from instrumentation.red import ADVISED_BUCKETS


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"environment variable {name}={raw!r} must be at least {minimum}")
    return value


def parse_address(value: str, source: str) -> tuple[str, int]:
    """`host:port` -> (host, port), with an error naming where the value came from."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{source}={value!r} is not host:port (for example 127.0.0.1:24224)")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Settings:
    service_name: str | None
    service_version: str | None
    environment: str | None
    instance_id: str | None
    buckets: tuple[float, ...]
    otlp_endpoint: str | None
    otlp_protocol: str
    traces_enabled: bool
    fluent_address: tuple[str, int] | None
    fluent_tag: str
    log_level: str
    log_stream: TextIO
    redact: bool
    redact_patterns: tuple[str, ...]
    max_series: int
    excluded_paths: frozenset[str]
    exemplars: bool
    metrics_token: str | None
    shutdown_timeout: float
    intercept_stdlib: bool
    log_queue_size: int
    span_queue_size: int
    span_batch_size: int
    span_delay_s: float
    export_timeout_s: float
    multiprocess_dir: str | None = field(default=None)


HEALTH_PATHS = frozenset({"/metrics", "/livez", "/readyz"})


def load(
    service_name: str | None = None, *, service_version: str | None = None, environment: str | None = None,
    instance_id: str | None = None, extra_buckets: Sequence[float] = (), otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None, fluent_address: str | None = None, fluent_tag: str | None = None,
    log_level: str | None = None, log_stream: TextIO | None = None, redact: bool = True,
    redact_patterns: Sequence[str] = (), max_series: int = DEFAULT_MAX_SERIES, excluded_paths: Sequence[str] = (),
    exemplars: bool = True, metrics_token: str | None = None, shutdown_timeout: float = 5.0,
    intercept_stdlib: bool = True, log_queue_size: int = 10_000,
) -> Settings:
    """Arguments win over environment variables, which win over defaults."""
    env = os.environ
    buckets = tuple(sorted(set(ADVISED_BUCKETS) | {float(b) for b in extra_buckets}))
    if any(b <= 0 for b in buckets):
        raise ConfigError(f"extra_buckets must be positive seconds, got {list(extra_buckets)}")
    endpoint = otlp_endpoint or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    protocol = (otlp_protocol or env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf").strip()
    if protocol not in ("http/protobuf", "grpc"):
        raise ConfigError(f"OTLP protocol {protocol!r} (OTEL_EXPORTER_OTLP_PROTOCOL or otlp_protocol) "
                          "must be http/protobuf or grpc")
    fluent_raw = fluent_address or env.get("BONGSU_FLUENT_ADDRESS") or ""
    fluent = parse_address(fluent_raw, "fluent_address" if fluent_address else "BONGSU_FLUENT_ADDRESS") \
        if fluent_raw.strip() else None
    level = (log_level or env.get("BONGSU_LOG_LEVEL") or "INFO").upper()
    if level not in ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"log level {level!r} (BONGSU_LOG_LEVEL or log_level) is not a loguru level")
    if max_series < 1:
        raise ConfigError(f"max_series must be at least 1, got {max_series}")
    if shutdown_timeout <= 0:
        raise ConfigError(f"shutdown_timeout must be positive seconds, got {shutdown_timeout}")
    for path in excluded_paths:
        if not path.startswith("/"):
            raise ConfigError(f"excluded path {path!r} must start with '/'")
    queue = _env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1)
    batch = min(_env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1), queue)
    multiprocess_dir = env.get("PROMETHEUS_MULTIPROC_DIR") or env.get("prometheus_multiproc_dir") or None
    return Settings(
        service_name=service_name, service_version=service_version, environment=environment,
        instance_id=instance_id, buckets=buckets, otlp_endpoint=endpoint or None, otlp_protocol=protocol,
        traces_enabled=env.get("OTEL_SDK_DISABLED", "").strip().lower() != "true",
        fluent_address=fluent, fluent_tag=fluent_tag or env.get("BONGSU_FLUENT_TAG") or "bongsu",
        log_level=level, log_stream=log_stream or sys.stdout, redact=redact,
        redact_patterns=tuple(redact_patterns), max_series=max_series,
        excluded_paths=HEALTH_PATHS | frozenset(excluded_paths),
        exemplars=exemplars and multiprocess_dir is None,
        metrics_token=metrics_token or env.get("BONGSU_METRICS_TOKEN") or None,
        shutdown_timeout=shutdown_timeout, intercept_stdlib=intercept_stdlib, log_queue_size=log_queue_size,
        span_queue_size=queue, span_batch_size=batch,
        span_delay_s=_env_int("OTEL_BSP_SCHEDULE_DELAY", 5000) / 1000,
        export_timeout_s=_env_int("OTEL_BSP_EXPORT_TIMEOUT", 10_000, 1) / 1000,
        multiprocess_dir=multiprocess_dir,
    )
