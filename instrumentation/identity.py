"""The one resource every signal carries: service.name, service.version, deployment.environment and
service.instance.id, from init arguments first, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES."""

from __future__ import annotations

import uuid

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource

from instrumentation.settings import Settings

IDENTITY_KEYS = ("service.name", "service.version", "deployment.environment", "service.instance.id")


def build(settings: Settings) -> Resource:
    explicit = {
        "service.name": settings.service_name,
        "service.version": settings.service_version,
        "deployment.environment": settings.environment,
        "service.instance.id": settings.instance_id,
    }
    resource = Resource.create({k: v for k, v in explicit.items() if v})
    defaults = {"service.version": "unknown", "deployment.environment": "development",
                "service.instance.id": _new_instance_id()}
    missing = {k: v for k, v in defaults.items() if not resource.attributes.get(k)}
    return resource.merge(Resource(missing)) if missing else resource


def _new_instance_id() -> str:
    return f"{uuid.uuid4()}"


def renew_instance_id(resource: Resource, explicit: str | None) -> None:
    """After a fork the child is a new instance: give it a new id, in place.

    The resource object is shared by the tracer provider, every tracer made from it and the log sink,
    so replacing its attributes is the one change that reaches them all. OTel resources are meant
    to be immutable; this is the single, deliberate exception (a fork is a new process).
    """
    if explicit:
        return
    attributes = dict(resource.attributes)
    attributes["service.instance.id"] = _new_instance_id()
    resource._attributes = BoundedAttributes(attributes=attributes, immutable=True)  # noqa: SLF001 - see docstring


def identity(resource: Resource) -> dict[str, str]:
    return {k: str(resource.attributes[k]) for k in IDENTITY_KEYS if k in resource.attributes}
