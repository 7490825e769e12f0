"""Find the real Prometheus and Alertmanager binaries, or say exactly how to install them."""

from __future__ import annotations

import shutil
from pathlib import Path

from bongsu.errors import PrerequisiteMissing

# Debian's packages: `prometheus` (prometheus, promtool) and `prometheus-alertmanager`
# (/usr/bin/prometheus-alertmanager, amtool).
_CANDIDATES: dict[str, tuple[tuple[str, ...], str]] = {
    "prometheus": (("prometheus",), "prometheus"),
    "promtool": (("promtool",), "prometheus"),
    "alertmanager": (("alertmanager", "prometheus-alertmanager"), "prometheus-alertmanager"),
    "amtool": (("amtool",), "prometheus-alertmanager"),
}


class MissingBinary(PrerequisiteMissing):
    """A required server or tool is not installed; the message carries the fix."""


def find(tool: str) -> Path:
    names, package = _CANDIDATES[tool]
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise MissingBinary(
        f"{tool} is not installed. Install it with `sudo apt-get install -y {package}` "
        f"(or run ./bootstrap.sh, which does), or use the Docker stack in compose/.")
