from __future__ import annotations

from punkml.aws.glue import GlueCatalog
from punkml.backends import install
from punkml.pipeline.external_catalog import open_external_catalog


def test_install_serves_glue_uris_with_the_aws_catalog() -> None:
    install()
    install()  # idempotent: the command and a library program may both call it
    catalog = open_external_catalog("glue://punk_lake?region=eu-west-1")
    assert isinstance(catalog, GlueCatalog)
    assert catalog.database == "punk_lake"
