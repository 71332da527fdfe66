"""Backends by URI: the one place that decides which code serves each scheme.

| what    | URI (a ``Settings`` field)           | served by                                        |
| ------- | ------------------------------------ | ------------------------------------------------ |
| stream  | ``sqlite:///path/stream.sqlite``     | ``punkml.pipeline.stream.SqliteStream``          |
| stream  | ``kinesis://NAME[?region=…]``        | ``punkml.aws.kinesis.KinesisStream``             |
| lake    | a local directory, ``s3://b/prefix`` | ``punkml.pipeline.lake.Lake`` (``pyarrow.fs``)   |
| catalog | none (the default)                   | ``punkml.pipeline.catalog.Catalog`` (DuckDB)     |
| catalog | ``glue://DATABASE[?region=…]``       | ``punkml.aws.glue.GlueCatalog``                  |

The pipeline defines the protocols (``Stream``, ``ExternalCatalog``) and serves the local schemes;
the AWS ones are added here, so the pipeline never imports ``punkml.aws``. ``install`` runs once
when the ``punkml`` command starts; a program using the library calls it before opening an AWS URI.
"""

from __future__ import annotations

from punkml.aws.glue import GlueCatalog
from punkml.aws.kinesis import KinesisStream
from punkml.pipeline.catalog import add_catalog_backend
from punkml.pipeline.stream import add_stream_backend


def install() -> None:
    """Make every non-local backend available to the pipeline by its URI scheme (idempotent)."""
    add_stream_backend("kinesis", KinesisStream.from_uri)
    add_catalog_backend("glue", GlueCatalog.from_uri)
