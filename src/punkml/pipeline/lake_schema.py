"""Every table the lake holds, declared once: its columns, files, partitions and readers.

``LAKE_TABLES`` names ``raw_beers``, ``beers``, ``hop_additions``, ``malts``, ``dead_letters`` and
``predictions``. Each ``LakeTable`` carries its Arrow schema (the Parquet writers and the cleaning
build their columns by these field names), its directory and file format in the lake, its
partition (a Hive ``ingest_date`` or the raw files' hour directories), a description of every
column (``docs/tables.md`` is generated from it), the columns the model reads, and whether it is a
Glue table. The catalog's views, the ML input columns, the report's quality table, the Glue columns
and table inputs (``punkml.aws.glue_tables``) all derive from here.

``python -m punkml.pipeline.lake_schema > docs/tables.md`` regenerates the docs page; a test fails
when it is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import pyarrow as pa

from punkml.pipeline.lake import CLEANED_DIR, DEAD_LETTERS_DIR, PREDICTIONS_DIR, RAW_DIR

TIMESTAMP = pa.timestamp("us", tz="UTC")
PARQUET_SUFFIX = ".parquet"
RAW_SUFFIX = ".jsonl.gz"
DOCS_FILE = "docs/tables.md"
FileFormat = Literal["parquet", "json"]


@dataclass(frozen=True)
class Column:
    """One column: its Arrow type, what it holds (units in the text), and who reads it."""

    name: str
    type: pa.DataType
    description: str
    nullable: bool = True
    model_input: bool = False
    """Read by the model (``punkml.ml.data``): training, evaluation and prediction."""
    bookkeeping: bool = False
    """A key, count, flag or time the pipeline sets: its nulls say nothing about the data's
    quality (the report's missing-values table leaves it out)."""

    def field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)


@dataclass(frozen=True)
class Partition:
    """How a table's files are split by time: a Hive key or plain date directories."""

    name: str
    """The partition column (Glue partition key; a view column where ``arrow_type`` is set)."""
    arrow_type: pa.DataType | None
    """Its type in the local views, or None when the local views do not show it."""
    glue_format: str
    """Java date format of the partition value (Athena partition projection)."""
    directory_template: str
    """The partition's directories below the table's, with ``${name}`` for the value."""
    unit: Literal["DAYS", "HOURS"]
    first_value: str
    """The earliest partition value projected (as ``glue_format`` writes it)."""


INGEST_DATE = Partition(
    name="ingest_date",
    arrow_type=pa.date32(),
    glue_format="yyyy-MM-dd",
    directory_template="ingest_date=${ingest_date}/",
    unit="DAYS",
    first_value="2024-01-01",
)
ARRIVAL_HOUR = Partition(
    name="hour",
    arrow_type=None,
    glue_format="yyyy/MM/dd/HH",
    directory_template="${hour}/",
    unit="HOURS",
    first_value="2024/01/01/00",
)


@dataclass(frozen=True)
class LakeTable:
    """One table of the lake: where its files are and what their columns hold."""

    name: str
    """The catalog view's name (also the Glue table's)."""
    directory: str
    """Its files' folder below the lake root."""
    file_format: FileFormat
    description: str
    columns: tuple[Column, ...]
    partition: Partition | None = None
    in_glue: bool = False
    """Registered in Glue (the tables the AWS deployment writes)."""

    @cached_property
    def schema(self) -> pa.Schema:
        """The columns as written in the files."""
        return pa.schema([column.field() for column in self.columns])

    @cached_property
    def view_schema(self) -> pa.Schema:
        """The columns of the catalog view: the files' plus the Hive partition column."""
        if self.partition is None or self.partition.arrow_type is None:
            return self.schema
        return self.schema.append(pa.field(self.partition.name, self.partition.arrow_type))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def model_inputs(self) -> tuple[str, ...]:
        """The columns the model reads, in schema order."""
        return tuple(column.name for column in self.columns if column.model_input)

    @property
    def suffix(self) -> str:
        """The file name ending of the table's files."""
        return PARQUET_SUFFIX if self.file_format == "parquet" else RAW_SUFFIX

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name!r}")

    def empty(self, *, view: bool = False) -> pa.Table:
        """A table with no rows and the files' columns (``view``: the catalog view's columns)."""
        # Not ``Schema.empty_table()``: that imports pandas, a second of start-up in a delivery.
        return pa.Table.from_batches([], schema=self.view_schema if view else self.schema)

    def table(self, columns: Mapping[str, Any]) -> pa.Table:
        """An Arrow table from columns given by name (arrays or Python lists); every column of
        the schema must be given, and no other."""
        if set(columns) != set(self.names):
            missing = sorted(set(self.names) - set(columns))
            extra = sorted(set(columns) - set(self.names))
            raise ValueError(f"table {self.name}: missing columns {missing}, unknown {extra}")
        arrays = [_array(columns[field.name], field.type) for field in self.schema]
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _array(values: Any, type_: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values if values.type == type_ else values.cast(type_)
    return pa.array(values, type=type_)


def _columns(*specs: tuple[Any, ...]) -> tuple[Column, ...]:
    """Columns from ``(name, type, description[, flags…])`` rows: flags are ``"required"`` (not
    nullable), ``"model"`` (a model input) and ``"bookkeeping"``."""
    out = []
    for name, type_, description, *flags in specs:
        unknown = set(flags) - {"required", "model", "bookkeeping"}
        if unknown:
            raise ValueError(f"column {name}: unknown flags {sorted(unknown)}")
        out.append(
            Column(
                name,
                type_,
                description,
                nullable="required" not in flags,
                model_input="model" in flags,
                bookkeeping="bookkeeping" in flags,
            )
        )
    return tuple(out)


_F64, _I64, _I32, _STR, _BOOL = pa.float64(), pa.int64(), pa.int32(), pa.string(), pa.bool_()
_SEQ = (
    "seq",
    _I64,
    "the stream sequence number of the beer's event",
    "required",
    "model",
    "bookkeeping",
)
_INGESTED = (
    "ingested_at",
    TIMESTAMP,
    "when the record arrived on the stream (UTC)",
    "required",
    "bookkeeping",
)
_BEER_ID = ("beer_id", _I64, "the beer's Punk API id", "required", "model")
_POSITION = ("position", _I32, "index in the beer's list as received (from 0)", "required")
_RECORD_KEY = (
    ("seq", _I64, "the stream sequence number", "required"),
    ("partition_key", _STR, "the record's partition key (the beer id)", "required"),
)
_PAYLOAD = (
    ("payload", _STR, "the record's bytes as UTF-8 text, exactly as received"),
    ("payload_base64", _STR, "the bytes in base64 when they are not UTF-8"),
)
_AS_RECEIVED = (
    ("amount_value", _F64, "the amount as received"),
    ("amount_unit", _STR, "the amount's unit as received"),
)


def _cleaned(
    name: str, description: str, *specs: tuple[Any, ...], child: bool = False
) -> LakeTable:
    """A table the cleaning builds: Parquet under ``cleaned/<name>/``, one partition per ingest
    day, in Glue; a ``child`` table (one row per list entry of a beer) starts with its keys."""
    keys = (_SEQ, _BEER_ID, _POSITION) if child else ()
    return LakeTable(
        name=name,
        directory=f"{CLEANED_DIR}/{name}",
        file_format="parquet",
        description=description,
        columns=_columns(*keys, *specs, _INGESTED),
        partition=INGEST_DATE,
        in_glue=True,
    )


RAW = LakeTable(
    name="raw_beers",
    directory=RAW_DIR,
    file_format="json",
    description="Stream records as received (gzip JSON lines, one folder per arrival hour)",
    columns=_columns(
        *_RECORD_KEY,
        ("arrived_at", pa.timestamp("ms", tz="UTC"), "arrival on the stream (UTC)", "required"),
        *_PAYLOAD,
    ),
    partition=ARRIVAL_HOUR,
    in_glue=True,
)
BEERS = _cleaned(
    "beers",
    "One row per cleaned beer event (a beer ingested twice is two rows)",
    ("id", _I64, "the beer's Punk API id", "required", "model", "bookkeeping"),
    ("name", _STR, "the beer's name", "required", "model"),
    ("abv", _F64, "alcohol by volume (percent)", "model"),
    ("ibu", _F64, "bitterness as published (IBU); the model's target", "model"),
    ("target_fg", _F64, "final gravity as published (1.010 or 1010)", "model"),
    ("target_og", _F64, "original gravity as published (1.050 or 1050)", "model"),
    ("ebc", _F64, "colour (EBC)", "model"),
    ("srm", _F64, "colour (SRM)", "model"),
    ("ph", _F64, "pH", "model"),
    ("attenuation_level", _F64, "apparent attenuation (percent)", "model"),
    ("volume_litres", _F64, "batch volume (litres)", "model"),
    ("boil_volume_litres", _F64, "boil volume (litres)", "model"),
    (
        "boil_minutes",
        _F64,
        "boil length (minutes; 60 unless a timed addition says more)",
        "model",
    ),
    ("yeast", _STR, "the yeast as written", "model"),
    ("first_brewed", _STR, "first brewed, mm/yyyy as written (null when blank)", "model"),
    (
        "ibu_flag",
        _STR,
        "why the IBU is not a bitterness (see normalization.md), or null",
        "model",
        "bookkeeping",
    ),
    ("hop_count", _I32, "hop additions listed", "required", "bookkeeping"),
    ("malt_count", _I32, "malts listed", "required", "bookkeeping"),
    _SEQ,
)
HOP_ADDITIONS = _cleaned(
    "hop_additions",
    "One row per entry of a beer's hops list, normalized (key: seq, position)",
    ("hop_name", _STR, "the name, trimmed", "required", "model"),
    ("grams", _F64, "the amount in grams (null for a unit without a mass)", "model"),
    *_AS_RECEIVED,
    ("add_raw", _STR, "when it is added, as received ('start', '60', 'Dry Hop', …)"),
    ("stage", _STR, "mash, first-wort, boil, whirlpool, dry-hop or other", "required", "model"),
    (
        "boil_minutes",
        _F64,
        "minutes in the boiling wort (null where it does not boil)",
        "model",
    ),
    ("attribute_raw", _STR, "the attribute as received"),
    ("attribute", _STR, "bittering, flavour, aroma, twist or other", "required", "model"),
    ("alpha_acid_pct", _F64, "alpha acid (percent) when the attribute states it", "model"),
    (
        "is_hop",
        _BOOL,
        "false for non-hops listed among the hops (coffee, honey, …)",
        "required",
        "model",
    ),
    child=True,
)
MALTS = _cleaned(
    "malts",
    "One row per entry of a beer's malt list (key: seq, position)",
    ("malt_name", _STR, "the name, trimmed", "required", "model"),
    ("kilograms", _F64, "the amount in kilograms (null for a unit without a mass)", "model"),
    *_AS_RECEIVED,
    child=True,
)
DEAD_LETTERS = LakeTable(
    name="dead_letters",
    directory=DEAD_LETTERS_DIR,
    file_format="parquet",
    description="Stream records the cleaned delivery refused, with the reason",
    columns=_columns(
        *_RECORD_KEY,
        _INGESTED,
        ("error", _STR, "why it was refused, naming the field path", "required"),
        *_PAYLOAD,
        ("payload_bytes", _I64, "the record's size in bytes", "required"),
    ),
    partition=INGEST_DATE,
)
PREDICTIONS = LakeTable(
    name="predictions",
    directory=PREDICTIONS_DIR,
    file_format="parquet",
    description="The served model's IBU predictions for beers_latest (written by the ML stage)",
    columns=_columns(
        ("id", _I64, "the beer's Punk API id"),
        ("name", _STR, "the beer's name"),
        ("ibu_pred", _F64, "predicted IBU"),
        ("ibu_low", _F64, "lower end of the prediction interval (IBU)"),
        ("ibu_high", _F64, "upper end of the prediction interval (IBU)"),
        ("model_version", _STR, "the registry version that predicted"),
        (
            "held_out",
            _BOOL,
            "true: the model never saw this beer; false: it trained on it, and ibu_pred is its out-of-fold prediction (from a model fitted without it); null: unknown (an older model version)",
        ),
    ),
)

LAKE_TABLES: dict[str, LakeTable] = {
    table.name: table for table in (RAW, BEERS, HOP_ADDITIONS, MALTS, DEAD_LETTERS, PREDICTIONS)
}
CLEANED_TABLES: tuple[LakeTable, ...] = (BEERS, HOP_ADDITIONS, MALTS)
"""The tables the cleaning builds from each beer, in the order it builds them."""
SEED_COLUMNS = ("id", "name", "abv", "ibu", "target_fg", "target_og", "ebc", "srm", "ph")
"""The columns the original project's cleaning kept (its Glue table and its model's inputs)."""


def cleaned_schemas() -> dict[str, pa.Schema]:
    """The cleaned tables' schemas by name."""
    return {table.name: table.schema for table in CLEANED_TABLES}


def glue_tables() -> tuple[LakeTable, ...]:
    """The tables registered in Glue, in declaration order."""
    return tuple(table for table in LAKE_TABLES.values() if table.in_glue)


def docs_markdown(tables: Sequence[LakeTable] = tuple(LAKE_TABLES.values())) -> str:
    """``docs/tables.md``: every table and its columns, from these declarations."""
    lines = [
        "# The lake's tables",
        "",
        "Generated from `src/punkml/pipeline/lake_schema.py` by "
        "`python -m punkml.pipeline.lake_schema > docs/tables.md`; do not edit by hand (a test "
        "fails when this page is stale). *model* marks the columns the model reads; *required* "
        "columns are never null.",
    ]
    for table in tables:
        where = f"`{table.directory}/`"
        if table.partition is not None:
            where += f", partitioned by `{table.partition.name}`"
        lines += ["", f"## `{table.name}`", "", f"{table.description}. Files: {where}.", ""]
        lines += ["| column | type | | description |", "| --- | --- | --- | --- |"]
        for column in table.columns:
            marks = ", ".join(
                mark
                for mark, on in (("required", not column.nullable), ("model", column.model_input))
                if on
            )
            lines.append(f"| `{column.name}` | {column.type} | {marks} | {column.description} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print ``docs/tables.md``."""
    sys.stdout.write(docs_markdown())


if __name__ == "__main__":
    main()
