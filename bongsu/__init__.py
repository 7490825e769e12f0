"""Bongsu's spine: the service catalog model, the build that runs every generator, the local stack
and the `bongsu` command line. Generators live in their own top-level packages and read the model."""

from bongsu.catalog import Catalog, CatalogError, Duration, load_catalog, parse_catalog

__all__ = ["Catalog", "CatalogError", "Duration", "load_catalog", "parse_catalog"]
