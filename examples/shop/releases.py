"""The builds of the demo shop that the local stack can deploy, each with an honest build identity.

A build is the service's shared source plus the modules of its version. Its identity is derived
from those files, never typed in:
- version: the release name (1.4.2, 1.5.0);
- revision (`vcs.ref.head.revision`): a content hash of the build's own source, the SHA-1 over the
  sorted `path blob-id` lines where each blob id is the file's git blob hash (`git hash-object`),
  so it changes exactly when the build's code changes and two builds never share one;
- package (`bongsu.build.package`): the artifact name, `shop-payments==1.5.0+src.<first 12 of
  the revision>`, a PEP 440 local version naming that source build.
The stack hands the identity to the SDK through the standard `OTEL_SERVICE_VERSION` and
`OTEL_RESOURCE_ATTRIBUTES` variables, and the build's version through `SHOP_BUILD`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bongsu import conventions

SHOP = Path(__file__).resolve().parent
BUILD_ENV = "SHOP_BUILD"
# service -> version -> the modules that differ between builds (the rest is shared source)
BUILDS: dict[str, dict[str, tuple[str, ...]]] = {
    "payments": {"1.4.2": ("fees_1_4_2",), "1.5.0": ("fees_1_5_0",)},
}
SHARED: dict[str, tuple[str, ...]] = {"payments": ("payments", "faults", "releases")}
CURRENT = {"payments": "1.4.2"}  # what the stack starts; the last good release


# The bad build's bug, for the bad-deploy drill: what the page must name (exception and code line).
BUGS = {("payments", "1.5.0"): ("KeyError", "fees_1_5_0", "rate = NETWORK_FEE_BPS[network(card_number)]")}


@dataclass(frozen=True)
class Bug:
    exception_type: str
    file: str  # relative to the repository
    line: int


def known_bug(service: str, version: str) -> Bug | None:
    """Where the build's known bug raises, read from its source (so the line is never stale)."""
    found = BUGS.get((service, version))
    if found is None:
        return None
    exception_type, module, source = found
    lines = (SHOP / f"{module}.py").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == source)
    return Bug(exception_type, f"examples/shop/{module}.py", line)


class UnknownBuild(ValueError):
    """No such build of that service; the message lists the ones there are."""


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class Build:
    service: str
    version: str

    @property
    def modules(self) -> tuple[str, ...]:
        return (*SHARED.get(self.service, ()), *BUILDS[self.service][self.version])

    @cached_property
    def revision(self) -> str:
        lines = sorted(f"examples/shop/{m}.py {_blob_id((SHOP / f'{m}.py').read_bytes())}" for m in self.modules)
        return hashlib.sha1("\n".join(lines).encode()).hexdigest()

    @property
    def package(self) -> str:
        return f"shop-{self.service}=={self.version}+src.{self.revision[:12]}"

    def environment(self) -> dict[str, str]:
        """What a process of this build is started with."""
        return {BUILD_ENV: self.version, conventions.SERVICE_VERSION_OTEL: self.version,
                "OTEL_RESOURCE_ATTRIBUTES": f"service.version={self.version},"
                                            f"vcs.ref.head.revision={self.revision},"
                                            f"bongsu.build.package={self.package}"}


def build(service: str, version: str) -> Build:
    versions = BUILDS.get(service)
    if versions is None:
        raise UnknownBuild(f"the demo shop has no builds of {service!r}; it has builds of {', '.join(BUILDS)}")
    if version not in versions:
        raise UnknownBuild(f"{service} has no build {version!r}; builds: {', '.join(versions)}")
    return Build(service, version)


def running(service: str) -> Build:
    """The build this process was started as (env SHOP_BUILD), else the current release."""
    return build(service, os.environ.get(BUILD_ENV) or CURRENT[service])
