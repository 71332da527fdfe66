"""The cleaned schema, declared once, and the transform of one beer into its cleaned rows.

The Parquet writer, the catalog, the Glue table, the docs and the tests all read the schemas from
here. ``clean_beer`` is a pure function: the same code runs in the local delivery, in batch
training from a JSON file and inside the AWS cleaning Lambda.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from punkml.source.schema import Beer, Hop, Malt, validate_beer

# An IBU far above what hops can give (about 120 is the solubility limit; DIY Dog's highest real
# claims are in the low hundreds) is flagged, not dropped.
IMPLAUSIBLE_IBU = 300.0
TIMESTAMP = pa.timestamp("us", tz="UTC")

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
    """Cleaned rows of many beer events, accumulated column by column.

    Appending to column lists (rather than building a dict per row) keeps the transform cheap on
    the delivery hot path; ``to_tables`` turns the columns into Arrow tables with the declared
    schemas.
    """

    def __init__(self) -> None:
        self._columns: dict[str, dict[str, list[Any]]] = {
            table: {name: [] for name in schema.names} for table, schema in TABLE_SCHEMAS.items()
        }

    def __len__(self) -> int:
        return len(self._columns["beers"]["id"])

    def add(self, beer: Beer, *, seq: int, ingested_at: datetime) -> None:
        """Append the cleaned rows of one validated beer received as stream record ``seq``."""
        ingredients = beer["ingredients"]
        hops = ingredients.get("hops", [])
        malts = ingredients.get("malt", [])
        boil_total = boil_length_minutes(hop["add"] for hop in hops)
        ibu, target_og = beer.get("ibu"), beer.get("target_og")
        volume, boil_volume = beer["volume"], beer["boil_volume"]
        values = {
            "id": beer["id"],
            "name": beer["name"],
            "abv": beer.get("abv"),
            "ibu": ibu,
            "target_fg": beer.get("target_fg"),
            "target_og": target_og,
            "ebc": beer.get("ebc"),
            "srm": beer.get("srm"),
            "ph": beer.get("ph"),
            "attenuation_level": beer.get("attenuation_level"),
            "volume_litres": litres(volume["value"], volume["unit"]),
            "boil_volume_litres": litres(boil_volume["value"], boil_volume["unit"]),
            "boil_minutes": boil_total,
            "yeast": ingredients.get("yeast"),
            "first_brewed": beer.get("first_brewed") or None,
            "ibu_flag": ibu_flag(ibu, target_og),
            "hop_count": len(hops),
            "malt_count": len(malts),
            "seq": seq,
            "ingested_at": ingested_at,
        }
        for name, column in self._columns["beers"].items():
            column.append(values[name])
        self._add_hops(beer["id"], hops, boil_total, seq, ingested_at)
        self._add_malts(beer["id"], malts, seq, ingested_at)

    def _add_hops(
        self, beer_id: int, hops: list[Hop], boil_total: float, seq: int, ingested_at: datetime
    ) -> None:
        columns = self._columns["hop_additions"]
        for position, hop in enumerate(hops):
            amount, attribute = hop["amount"], hop.get("attribute", "")
            stage, boil_minutes = normalize_stage(hop["add"], boil_total)
            columns["seq"].append(seq)
            columns["beer_id"].append(beer_id)
            columns["position"].append(position)
            columns["hop_name"].append(hop["name"].strip())
            columns["grams"].append(grams(amount["value"], amount["unit"]))
            columns["amount_value"].append(amount["value"])
            columns["amount_unit"].append(amount["unit"])
            columns["add_raw"].append(hop["add"])
            columns["stage"].append(stage)
            columns["boil_minutes"].append(boil_minutes)
            columns["attribute_raw"].append(attribute)
            columns["attribute"].append(normalize_attribute(attribute))
            columns["alpha_acid_pct"].append(alpha_from_attribute(attribute))
            columns["is_hop"].append(is_hop(hop["name"]))
            columns["ingested_at"].append(ingested_at)

    def _add_malts(self, beer_id: int, malts: list[Malt], seq: int, ingested_at: datetime) -> None:
        columns = self._columns["malts"]
        for position, malt in enumerate(malts):
            amount = malt["amount"]
            columns["seq"].append(seq)
            columns["beer_id"].append(beer_id)
            columns["position"].append(position)
            columns["malt_name"].append(malt["name"].strip())
            columns["kilograms"].append(kilograms(amount["value"], amount["unit"]))
            columns["amount_value"].append(amount["value"])
            columns["amount_unit"].append(amount["unit"])
            columns["ingested_at"].append(ingested_at)

    def to_tables(self) -> dict[str, pa.Table]:
        """Arrow tables (by table name) of everything added so far."""
        return {
            table: pa.Table.from_pydict(columns, schema=TABLE_SCHEMAS[table])
            for table, columns in self._columns.items()
        }


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
