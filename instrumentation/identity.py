"""The one resource every signal carries: service.name, service.version, deployment.environment,
service.instance.id and the build identity (vcs.ref.head.revision, bongsu.build.package), from init
arguments first, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (build identity: buildinfo.py)."""

from __future__ import annotations

import uuid

from opentelemetry.sdk.resources import Resource

from instrumentation.buildinfo import PACKAGE_KEY, REVISION_KEY, BuildInfo
from instrumentation.settings import Settings

IDENTITY_KEYS = ("service.name", "service.version", "deployment.environment", "service.instance.id",
                 REVISION_KEY, PACKAGE_KEY)


def build(settings: Settings, build_info: BuildInfo | None = None) -> Resource:
    explicit = {
        **(build_info.attributes() if build_info is not None else {}),
        "service.name": settings.service_name,
        "service.version": settings.service_version or (build_info.version if build_info is not None else None),
        "deployment.environment": settings.environment,
        "service.instance.id": settings.instance_id,
    }
    resource = Resource.create({k: v for k, v in explicit.items() if v})
    # service.instance.id comes from the SDK's own detector (a UUID, renewed after a fork).
    defaults = {"service.version": "unknown", "deployment.environment": "development",
                "service.instance.id": str(uuid.uuid4())}
    missing = {k: v for k, v in defaults.items() if not resource.attributes.get(k)}
    return resource.merge(Resource(missing)) if missing else resource


def identity(resource: Resource) -> dict[str, str]:
    return {k: str(resource.attributes[k]) for k in IDENTITY_KEYS if k in resource.attributes}
