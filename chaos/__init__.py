"""Chaos drills: Chaos Toolkit experiments that prove each page alert fires, is routed, reaches Slack
and resolves, with measured time-to-detect/notify/resolve, a coverage matrix and post-mortem drafts.

This folder owns the Chaos Toolkit extension (`chaos.probes`, `chaos.actions`, the `chaos.control`
control, `discover()` for `chaos discover`), the experiments generated from the catalog
(`chaos/experiments/`), the `bongsu drill` and `bongsu postmortem` commands, and the watchdog that
ends faults when a drill dies (`chaos.expiry`).
"""

from __future__ import annotations

__version__ = "0.1.0"


def discover(discover_system: bool = True) -> dict:
    """What `chaos discover chaos` lists: this extension's probes and actions."""
    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    discovery = initialize_discovery_result("bongsu-chaos", __version__, "bongsu")
    discovery["activities"].extend(discover_probes("chaos.probes"))
    discovery["activities"].extend(discover_actions("chaos.actions"))
    return discovery


__all__ = ["discover"]
