"""Discovery entry for `chaos discover chaostoolkit-bongsu`: the probes and actions of `chaos`."""

from chaos import discover

__all__ = ["discover"]
