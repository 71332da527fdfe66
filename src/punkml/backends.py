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
The AWS modules are imported only when such a URI is opened: they need boto3 (the ``aws`` extra),
which costs most of a second to import and may not be installed.
"""

from __future__ import annotations

from punkml.config import Settings
from punkml.pipeline.external_catalog import ExternalCatalog, add_catalog_backend
from punkml.pipeline.stream import Stream, add_stream_backend


def install() -> None:
    """Make every non-local backend available to the pipeline by its URI scheme (idempotent)."""
    add_stream_backend("kinesis", _kinesis_stream)
    add_catalog_backend("glue", _glue_catalog)


def _kinesis_stream(uri: str, settings: Settings) -> Stream:
    from punkml.aws.kinesis import KinesisStream  # boto3: only when a kinesis:// URI is opened

    return KinesisStream.from_uri(uri, settings)


def _glue_catalog(uri: str) -> ExternalCatalog:
    from punkml.aws.glue import GlueCatalog  # boto3: only when a glue:// URI is opened

    return GlueCatalog.from_uri(uri)
