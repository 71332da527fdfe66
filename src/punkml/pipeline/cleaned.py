"""The cleaned schema, declared once, and the transform of one beer into its cleaned rows.

The Parquet writer, the catalog, the Glue table, the docs and the tests all read the schemas from
here. ``clean_beer`` is a pure function: the same code runs in the local delivery, in batch
training from a JSON file and inside the AWS cleaning Lambda.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import pyarrow as pa

from punkml.pipeline.normalize import (
    alpha_from_attribute,
    boil_length_minutes,
    grams,
    is_hop,
    kilograms,
    litres,
    normalize_attribute,
    normalize_stage,
)
from punkml.source.schema import Beer, validate_beer

# An IBU far above what hops can give (about 120 is the solubility limit; DIY Dog's highest real
# claims are in the low hundreds) is flagged, not dropped.
IMPLAUSIBLE_IBU = 300.0
TIMESTAMP = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

BEERS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("abv", pa.float64()),
        pa.field("ibu", pa.float64()),
        pa.field("target_fg", pa.float64()),
        pa.field("target_og", pa.float64()),
        pa.field("ebc", pa.float64()),
        pa.field("srm", pa.float64()),
        pa.field("ph", pa.float64()),
        pa.field("attenuation_level", pa.float64()),
        pa.field("volume_litres", pa.float64()),
        pa.field("boil_volume_litres", pa.float64()),
        pa.field("boil_minutes", pa.float64()),
        pa.field("yeast", pa.string()),
        pa.field("first_brewed", pa.string()),
        pa.field("ibu_flag", pa.string()),
        pa.field("hop_count", pa.int32(), nullable=False),
        pa.field("malt_count", pa.int32(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("ingested_at", TIMESTAMP, nullable=False),
    ]
)

HOP_ADDITIONS_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("beer_id", pa.int64(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("hop_name", pa.string(), nullable=False),
        pa.field("grams", pa.float64()),
        pa.field("amount_value", pa.float64()),
        pa.field("amount_unit", pa.string()),
        pa.field("add_raw", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("boil_minutes", pa.float64()),
        pa.field("attribute_raw", pa.string()),
        pa.field("attribute", pa.string(), nullable=False),
        pa.field("alpha_acid_pct", pa.float64()),
        pa.field("is_hop", pa.bool_(), nullable=False),
        pa.field("ingested_at", TIMESTAMP, nullable=False),
    ]
)

MALTS_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("beer_id", pa.int64(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("malt_name", pa.string(), nullable=False),
        pa.field("kilograms", pa.float64()),
        pa.field("amount_value", pa.float64()),
        pa.field("amount_unit", pa.string()),
        pa.field("ingested_at", TIMESTAMP, nullable=False),
    ]
)

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "beers": BEERS_SCHEMA,
    "hop_additions": HOP_ADDITIONS_SCHEMA,
    "malts": MALTS_SCHEMA,
}

# The columns the original project's cleaning kept (its Glue table and its model's inputs).
SEED_COLUMNS = ("id", "name", "abv", "ibu", "target_fg", "target_og", "ebc", "srm", "ph")


@dataclass
class CleanedBeer:
    """The cleaned rows of one beer event, each a dict matching its table's schema."""

    beer: dict[str, Any]
    hop_additions: list[dict[str, Any]] = field(default_factory=list)
    malts: list[dict[str, Any]] = field(default_factory=list)


def ibu_flag(ibu: float | None, target_og: float | None) -> str | None:
    """Why an IBU must not be trusted as a bitterness, or None when it can be.

    'missing' when absent; 'equals_target_og' for the entry error where the target OG was copied
    into the IBU field (beers 137 and 185); 'implausible' above ``IMPLAUSIBLE_IBU``.
    """
    if ibu is None:
        return "missing"
    if target_og is not None and target_og > 900 and abs(ibu - target_og) < 0.5:
        return "equals_target_og"
    if ibu > IMPLAUSIBLE_IBU or ibu < 0:
        return "implausible"
    return None


class CleanedBatch:
    """Cleaned rows of many beer events, accumulated as tuples in schema order.

    One tuple per row, transposed into columns only in ``to_tables``, and the normalization of
    each distinct hop spelling computed once (``_hop_facts``): this keeps the transform cheap on
    the delivery hot path.
    """

    def __init__(self) -> None:
        self._rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLE_SCHEMAS}

    def __len__(self) -> int:
        return len(self._rows["beers"])

    def add(self, beer: Beer, *, seq: int, ingested_at: datetime) -> None:
        """Append the cleaned rows of one validated beer received as stream record ``seq``."""
        ingredients = beer["ingredients"]
        hops = ingredients.get("hops", [])
        malts = ingredients.get("malt", [])
        beer_id = beer["id"]
        boil_total = boil_length_minutes(hop["add"] for hop in hops)
        ibu, target_og = beer.get("ibu"), beer.get("target_og")
        volume, boil_volume = beer["volume"], beer["boil_volume"]
        beer_row = (
            beer_id,
            beer["name"],
            beer.get("abv"),
            ibu,
            beer.get("target_fg"),
            target_og,
            beer.get("ebc"),
            beer.get("srm"),
            beer.get("ph"),
            beer.get("attenuation_level"),
            litres(volume["value"], volume["unit"]),
            litres(boil_volume["value"], boil_volume["unit"]),
            boil_total,
            ingredients.get("yeast"),
            beer.get("first_brewed") or None,
            ibu_flag(ibu, target_og),
            len(hops),
            len(malts),
            seq,
            ingested_at,
        )
        # Rows are built first and appended last, so a beer that fails half-way leaves nothing.
        hop_rows = []
        for position, hop in enumerate(hops):
            amount, attribute, add = hop["amount"], hop.get("attribute") or "", hop["add"]
            value, unit = amount["value"], amount["unit"]
            name, stage, minutes, kind, alpha, hop_flag, factor = _hop_facts(
                hop["name"], add, attribute, unit, boil_total
            )
            hop_rows.append(
                (
                    seq,
                    beer_id,
                    position,
                    name,
                    _scaled(value, factor),
                    value,
                    unit,
                    add,
                    stage,
                    minutes,
                    attribute,
                    kind,
                    alpha,
                    hop_flag,
                    ingested_at,
                )
            )
        malt_rows = []
        for position, malt in enumerate(malts):
            value, unit = malt["amount"]["value"], malt["amount"]["unit"]
            malt_rows.append(
                (
                    seq,
                    beer_id,
                    position,
                    malt["name"].strip(),
                    kilograms(value, unit),
                    value,
                    unit,
                    ingested_at,
                )
            )
        self._rows["beers"].append(beer_row)
        self._rows["hop_additions"].extend(hop_rows)
        self._rows["malts"].extend(malt_rows)

    def to_tables(self) -> dict[str, pa.Table]:
        """Arrow tables (by table name) of everything added so far."""
        tables = {}
        for table, schema in TABLE_SCHEMAS.items():
            columns = list(zip(*self._rows[table], strict=True)) or [()] * len(schema)
            tables[table] = pa.Table.from_arrays(
                [
                    _column(values, field.type)
                    for values, field in zip(columns, schema, strict=True)
                ],
                schema=schema,
            )
        return tables


def _column(values: Sequence[Any], type_: pa.DataType) -> pa.Array:
    """One Arrow column; timestamps go through their few distinct values, since converting a
    ``datetime`` object costs about 2 µs and every row of a record repeats the record's time."""
    if type_ != TIMESTAMP:
        return pa.array(values, type=type_)
    micros = {when: (when - _EPOCH) // _MICROSECOND for when in set(values)}
    return pa.array([micros[when] for when in values], type=pa.int64()).cast(TIMESTAMP)


@lru_cache(maxsize=16384)
def _hop_facts(
    name: str, add: str, attribute: str, unit: str, boil_total: float
) -> tuple[str, str, float | None, str, float | None, bool, float | None]:
    """Everything normalized about one hop spelling: name, stage, boil minutes, attribute,
    stated alpha acid, is-a-hop, grams per unit of its amount."""
    stage, minutes = normalize_stage(add, boil_total)
    return (
        name.strip(),
        stage,
        minutes,
        normalize_attribute(attribute),
        alpha_from_attribute(attribute),
        is_hop(name),
        grams(1.0, unit),
    )


def _scaled(value: float | None, factor: float | None) -> float | None:
    if value is None or value < 0 or factor is None:
        return None
    return float(value) * factor


def clean_beer(beer: Beer, *, seq: int, ingested_at: datetime) -> CleanedBeer:
    """The cleaned rows of one validated beer (for single events, e.g. a Lambda record)."""
    batch = CleanedBatch()
    batch.add(beer, seq=seq, ingested_at=ingested_at)
    tables = batch.to_tables()
    return CleanedBeer(
        beer=tables["beers"].to_pylist()[0],
        hop_additions=tables["hop_additions"].to_pylist(),
        malts=tables["malts"].to_pylist(),
    )


def tables_from_beers(
    beers: Iterable[dict[str, Any]], *, ingested_at: datetime | None = None
) -> dict[str, pa.Table]:
    """Validate and clean beers given as Punk API dicts (``seq`` is their position).

    Raises ``SchemaError`` naming the beer and the field path of the first invalid beer.
    """
    when = ingested_at or datetime.now(UTC)
    batch = CleanedBatch()
    for position, payload in enumerate(beers):
        batch.add(validate_beer(payload), seq=position, ingested_at=when)
    return batch.to_tables()
