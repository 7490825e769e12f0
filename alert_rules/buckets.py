"""`bongsu check`: are the latency SLOs' thresholds among the buckets each service really exports?

The catalog model checks thresholds against `histogram_buckets` (what the catalog says the service adds
to the SDK's defaults); a service started without those `extra_buckets` still exports none of them, and
its latency SLO is silently blind. A recorded `/metrics` (`services[].metrics_sample`) settles it.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bongsu.generator import Finding
from bongsu.catalog import Catalog, Service

from alert_rules.rules import REQUESTS


def exported_buckets(text: str) -> set[float]:
    """Upper bounds of the request histogram's buckets in a /metrics text (+Inf left out)."""
    found: set[float] = set()
    for family in text_string_to_metric_families(text):
        if family.name != REQUESTS:
            continue
        for sample in family.samples:
            if sample.name == f"{REQUESTS}_bucket" and sample.labels.get("le") not in (None, "+Inf"):
                found.add(float(sample.labels["le"]))
    return found


def _sample_path(catalog: Catalog, service: Service) -> Path:
    assert service.metrics_sample is not None
    path = Path(service.metrics_sample)
    return path if path.is_absolute() else Path(catalog.source).resolve().parent / path


def problems(catalog: Catalog) -> list[str]:
    found: list[str] = []
    for i, service in enumerate(catalog.services):
        if service.metrics_sample is None:
            continue
        path = _sample_path(catalog, service)
        where = f"{catalog.source}: services[{i}].metrics_sample"
        try:
            buckets = exported_buckets(path.read_text(encoding="utf-8"))
        except OSError as exc:
            found.append(f"{where}: cannot read {path}: {exc.strerror or exc}")
            continue
        except ValueError as exc:
            found.append(f"{where}: {path} is not Prometheus text format: {exc}")
            continue
        if not buckets:
            found.append(f"{where}: {path} has no {REQUESTS}_bucket series; record /metrics after a request")
            continue
        listed = ", ".join(f"{b:g}s" for b in sorted(buckets))
        for j, slo in enumerate(service.slos):
            if slo.threshold is not None and slo.threshold.seconds not in buckets:
                found.append(f"{catalog.source}: services[{i}].slos[{j}].threshold: {slo.threshold} is not among "
                             f"the buckets {service.name} exports ({path.name}: {listed}); its latency SLO would be "
                             "blind: pass the bucket to the SDK (`init(extra_buckets=...)`) or pick one of those")
    return found


def findings(catalog: Catalog) -> list[Finding]:
    sampled = sum(s.metrics_sample is not None for s in catalog.services)
    found = problems(catalog)
    return [Finding(f"latency thresholds are exported buckets ({sampled} recorded /metrics)", not found,
                    "\n".join(found))]
