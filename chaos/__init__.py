"""Chaos drills: Chaos Toolkit experiments that prove each page alert fires, is routed, reaches Slack
and resolves, with measured time-to-detect/notify/resolve, a coverage matrix and post-mortem drafts.

This folder owns the Chaos Toolkit extension (`chaos.probes`, `chaos.actions`, the `chaos.control`
control, `discover()` for `chaos discover`), the experiments generated from the catalog
(`chaos/experiments/`), the `bongsu drill` and `bongsu postmortem` commands, and the watchdog that
ends faults when a drill dies (`chaos.expiry`).

The public API is imported lazily: the fault watchdog and `chaos discover` import this package and
should not pay for chaoslib's runner or matplotlib.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Functions named like their module (chaos.experiments.experiments, chaos.measure.measure) are not
# re-exported: once the submodule is imported its name would shadow the function here.
_EXPORTS = {
    "DrillResult": "chaos.drill", "run_drill": "chaos.drill", "write_postmortem": "chaos.postmortem",
    "read_stack_file": "chaos.stackfile",
}


def discover(discover_system: bool = True) -> dict:
    """What `chaos discover chaostoolkit-bongsu` lists: this extension's probes and actions."""
    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    discovery = initialize_discovery_result("bongsu-chaos", __version__, "bongsu")
    discovery["activities"].extend(discover_probes("chaos.probes"))
    discovery["activities"].extend(discover_actions("chaos.actions"))
    return discovery


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'chaos' has no attribute {name!r}")


__all__ = ["discover", *_EXPORTS]
