from __future__ import annotations

import pytest

from punkml.errors import ConfigError
from punkml.pipeline import external_catalog
from punkml.pipeline.external_catalog import ExternalCatalog, open_external_catalog


class _Catalog:
    def __init__(self, uri: str) -> None:
        self.uri = uri

    def register_lake(self, lake_uri: str) -> list[str]:
        return []

    def lake_uri(self) -> str:
        return "s3://bucket/lake"


def test_a_uri_opens_with_the_backend_of_its_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(external_catalog, "_CATALOG_BACKENDS", {})
    external_catalog.add_catalog_backend("memo", _Catalog)
    catalog: ExternalCatalog = open_external_catalog("memo://db")
    assert isinstance(catalog, _Catalog) and catalog.uri == "memo://db"
    with pytest.raises(ConfigError, match=r"'hive://db' has an unknown scheme; known: memo://"):
        open_external_catalog("hive://db")


def test_with_no_backend_the_error_says_none_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(external_catalog, "_CATALOG_BACKENDS", {})
    with pytest.raises(ConfigError, match="known: none available"):
        open_external_catalog("glue://db")
