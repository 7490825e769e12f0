"""Bongsu's spine: the service catalog model, the build that runs every generator, the local stack
and the `bongsu` command line. Generators live in their own top-level packages and read the model.

The catalog names below are loaded on first use, so `bongsu --help` does not pay for the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bongsu.catalog import Catalog, CatalogError, Duration, load_catalog, parse_catalog

__all__ = ["Catalog", "CatalogError", "Duration", "load_catalog", "parse_catalog"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from bongsu import catalog

        return getattr(catalog, name)
    raise AttributeError(f"module 'bongsu' has no attribute {name!r}")
