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
from punkml.source.schema import Beer, validate_beer

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


def clean_beer(beer: Beer, *, seq: int, ingested_at: datetime) -> CleanedBeer:
    """The cleaned rows of one validated beer received as stream record ``seq``."""
    hops = beer.ingredients.hops
    boil_total = boil_length_minutes(hop.add for hop in hops)
    beer_row = {
        "id": beer.id,
        "name": beer.name,
        "abv": beer.abv,
        "ibu": beer.ibu,
        "target_fg": beer.target_fg,
        "target_og": beer.target_og,
        "ebc": beer.ebc,
        "srm": beer.srm,
        "ph": beer.ph,
        "attenuation_level": beer.attenuation_level,
        "volume_litres": litres(beer.volume.value, beer.volume.unit),
        "boil_volume_litres": litres(beer.boil_volume.value, beer.boil_volume.unit),
        "boil_minutes": boil_total,
        "yeast": beer.ingredients.yeast,
        "first_brewed": beer.first_brewed or None,
        "ibu_flag": ibu_flag(beer.ibu, beer.target_og),
        "hop_count": len(hops),
        "malt_count": len(beer.ingredients.malt),
        "seq": seq,
        "ingested_at": ingested_at,
    }
    hop_rows = []
    for position, hop in enumerate(hops):
        stage, boil_minutes = normalize_stage(hop.add, boil_total)
        hop_rows.append(
            {
                "seq": seq,
                "beer_id": beer.id,
                "position": position,
                "hop_name": hop.name.strip(),
                "grams": grams(hop.amount.value, hop.amount.unit),
                "amount_value": hop.amount.value,
                "amount_unit": hop.amount.unit,
                "add_raw": hop.add,
                "stage": stage,
                "boil_minutes": boil_minutes,
                "attribute_raw": hop.attribute,
                "attribute": normalize_attribute(hop.attribute),
                "alpha_acid_pct": alpha_from_attribute(hop.attribute),
                "is_hop": is_hop(hop.name),
                "ingested_at": ingested_at,
            }
        )
    malt_rows = [
        {
            "seq": seq,
            "beer_id": beer.id,
            "position": position,
            "malt_name": malt.name.strip(),
            "kilograms": kilograms(malt.amount.value, malt.amount.unit),
            "amount_value": malt.amount.value,
            "amount_unit": malt.amount.unit,
            "ingested_at": ingested_at,
        }
        for position, malt in enumerate(beer.ingredients.malt)
    ]
    return CleanedBeer(beer=beer_row, hop_additions=hop_rows, malts=malt_rows)


def to_tables(cleaned: Iterable[CleanedBeer]) -> dict[str, pa.Table]:
    """Arrow tables (by table name) holding the rows of many cleaned beers."""
    beers: list[dict[str, Any]] = []
    hop_additions: list[dict[str, Any]] = []
    malts: list[dict[str, Any]] = []
    for item in cleaned:
        beers.append(item.beer)
        hop_additions.extend(item.hop_additions)
        malts.extend(item.malts)
    return {
        "beers": pa.Table.from_pylist(beers, schema=BEERS_SCHEMA),
        "hop_additions": pa.Table.from_pylist(hop_additions, schema=HOP_ADDITIONS_SCHEMA),
        "malts": pa.Table.from_pylist(malts, schema=MALTS_SCHEMA),
    }


def tables_from_beers(
    beers: Iterable[dict[str, Any]], *, ingested_at: datetime | None = None
) -> dict[str, pa.Table]:
    """Validate and clean beers given as Punk API dicts (``seq`` is their position).

    Raises ``SchemaError`` naming the beer and the field path of the first invalid beer.
    """
    when = ingested_at or datetime.now(UTC)
    return to_tables(
        clean_beer(validate_beer(payload), seq=position, ingested_at=when)
        for position, payload in enumerate(beers)
    )
