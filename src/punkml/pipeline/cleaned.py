"""The cleaned stage's entry: beers, as stream payloads or as dicts, into the cleaned tables.

Each beer is validated once, at the edge it comes through: a stream payload by the columnar gate
(``punkml.pipeline.columnar``, generated from the schema), or by the schema's pydantic adapter when
the gate cannot prove it valid (pydantic has the last word: its error, naming the field path, or the
beer re-serialized as one line of JSON); a dict by the pydantic adapter. Every valid beer is then
cleaned by the one cleaning implementation, ``columnar.clean_columns``, into the tables declared in
``punkml.pipeline.lake_schema``. A beer the cleaning cannot take is refused alone, with the reason;
the others are cleaned. The same functions run in the local delivery, in batch training from a
JSON file, in the API and inside the AWS Lambdas.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from punkml.errors import SchemaError
from punkml.pipeline.columnar import clean_columns, parse_block, passes_gate
from punkml.pipeline.lake_schema import CLEANED_TABLES
from punkml.source.schema import validate_beer, validate_beer_json

MAX_BEER_BYTES = 256 * 1024
"""Largest payload accepted as one beer (bytes); real beers are 1-6 KiB."""


@dataclass(frozen=True)
class Refused:
    """A beer that is not in the tables: its position in the input and why."""

    index: int
    error: str


@dataclass(frozen=True)
class CleanedTables:
    """The cleaned tables (by name) of the valid beers, and the refused ones in input order."""

    tables: dict[str, pa.Table]
    refused: list[Refused]


def clean_payloads(
    payloads: Sequence[bytes], seqs: Sequence[int], arrived_at_ms: Sequence[int]
) -> CleanedTables:
    """Validate and clean beers given as JSON payloads; payload i is stream record ``seqs[i]``,
    arrived at ``arrived_at_ms[i]`` (its rows' ``ingested_at``)."""
    lines: list[bytes] = []
    kept: list[int] = []
    refused: list[Refused] = []
    for index, data in enumerate(payloads):
        try:
            lines.append(_valid_line(data))
        except SchemaError as exc:
            refused.append(Refused(index, str(exc)))
            continue
        kept.append(index)
    return _cleaned(lines, kept, seqs, arrived_at_ms, refused)


def clean_beers(beers: Iterable[Any], *, ingested_at: datetime | None = None) -> CleanedTables:
    """Validate and clean beers given as Punk API dicts (``seq`` is their position)."""
    when = ingested_at or datetime.now(UTC)
    lines: list[bytes] = []
    kept: list[int] = []
    refused: list[Refused] = []
    for index, beer in enumerate(beers):
        try:
            lines.append(orjson.dumps(validate_beer(beer)))
        except SchemaError as exc:
            refused.append(Refused(index, str(exc)))
            continue
        kept.append(index)
    count = len(kept) + len(refused)
    millis = int(when.timestamp() * 1000)
    return _cleaned(lines, kept, range(count), [millis] * count, refused)


def tables_from_beers(
    beers: Iterable[Any], *, ingested_at: datetime | None = None
) -> dict[str, pa.Table]:
    """The cleaned tables of beers given as Punk API dicts (``seq`` is their position).

    Raises ``SchemaError`` naming the beer and the field path of the first refused beer.
    """
    cleaned = clean_beers(beers, ingested_at=ingested_at)
    if cleaned.refused:
        raise SchemaError(cleaned.refused[0].error)
    return cleaned.tables


def _valid_line(data: bytes) -> bytes:
    """The payload as one line of JSON of a valid beer; ``SchemaError`` says why it is not one."""
    if len(data) > MAX_BEER_BYTES:
        raise SchemaError(
            f"record is {len(data)} bytes, over the {MAX_BEER_BYTES}-byte limit of one beer"
        )
    if passes_gate(data):
        return data
    return orjson.dumps(validate_beer_json(data))


def _cleaned(
    lines: list[bytes],
    kept: list[int],
    seqs: Sequence[int],
    arrived_at_ms: Sequence[int],
    refused: list[Refused],
) -> CleanedTables:
    """Clean ``lines`` (valid beers, line i is input ``kept[i]``); a batch the cleaning refuses is
    cleaned one beer at a time, so that only the beers it cannot take are refused."""
    kept_seqs = [seqs[index] for index in kept]
    kept_ms = [arrived_at_ms[index] for index in kept]
    tables, error = _clean_block(lines, kept_seqs, kept_ms)
    if error is None:
        return CleanedTables(tables, refused)
    parts = []
    for position, index in enumerate(kept):
        one = slice(position, position + 1)
        tables, error = _clean_block(lines[one], kept_seqs[one], kept_ms[one])
        if error is not None:
            # Valid JSON Arrow's reader refuses (a key given twice): once more, written canonically.
            canonical = [orjson.dumps(orjson.loads(lines[position]))]
            tables, error = _clean_block(canonical, kept_seqs[one], kept_ms[one])
        if error is None:
            parts.append(tables)
        else:
            refused.append(Refused(index, error))
    refused.sort(key=lambda item: item.index)
    return CleanedTables(concat_tables(parts), refused)


def _clean_block(
    lines: list[bytes], seqs: Sequence[int], arrived_at_ms: Sequence[int]
) -> tuple[dict[str, pa.Table], str | None]:
    if not lines:
        return empty_tables(), None
    try:
        parsed = parse_block(lines)
        if parsed is None:
            return {}, "cannot clean beer: Arrow cannot read it into the cleaned columns"
        return clean_columns(parsed, seqs, arrived_at_ms), None
    except Exception as exc:  # a cleaning bug must not stop the stage: refuse the beer
        return {}, f"cannot clean beer: {type(exc).__name__}: {exc}"


def empty_tables() -> dict[str, pa.Table]:
    """The cleaned tables with no rows."""
    return {table.name: table.empty() for table in CLEANED_TABLES}


def concat_tables(parts: Sequence[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Cleaned tables one after the other (in the given order), each as one chunk."""
    if not parts:
        return empty_tables()
    return {
        table.name: pa.concat_tables([part[table.name] for part in parts]).combine_chunks()
        for table in CLEANED_TABLES
    }
