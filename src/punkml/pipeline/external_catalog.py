"""Catalogs outside the deployment (``glue://DATABASE``), chosen by URI scheme.

The local catalog is ``punkml.pipeline.catalog.Catalog`` (DuckDB views over the lake). An external
one registers the lake's tables where other engines find them (``deliver --catalog``) and names
the lake it describes (``sql --catalog``). The pipeline declares the protocol and the registry;
``punkml.backends`` adds the implementations, so the pipeline never names them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from punkml.errors import ConfigError


class ExternalCatalog(Protocol):
    """A catalog outside the deployment (``glue://DATABASE``) that registers the lake's tables."""

    def register_lake(self, lake_uri: str) -> list[str]:
        """Register (create or update) every table of the lake at ``lake_uri``; their names."""
        ...

    def lake_uri(self) -> str:
        """The root of the lake registered in this catalog."""
        ...


ExternalCatalogOpener = Callable[[str], ExternalCatalog]
_CATALOG_BACKENDS: dict[str, ExternalCatalogOpener] = {}
"""External catalogs by URI scheme, added by ``punkml.backends`` (the pipeline names none)."""


def add_catalog_backend(scheme: str, opener: ExternalCatalogOpener) -> None:
    """Serve ``scheme://`` catalog URIs with ``opener``."""
    _CATALOG_BACKENDS[scheme] = opener


def open_external_catalog(uri: str) -> ExternalCatalog:
    """The external catalog named by ``uri`` (``Settings.catalog_uri``)."""
    scheme = uri.partition("://")[0]
    opener = _CATALOG_BACKENDS.get(scheme)
    if opener is None:
        known = ", ".join(f"{name}://" for name in _CATALOG_BACKENDS) or "none available"
        raise ConfigError(f"catalog URI {uri!r} has an unknown scheme; known: {known}")
    return opener(uri)
