"""Beers (payloads or dicts) into the cleaned tables: validated once, cleaned once."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest

from punkml.errors import SchemaError
from punkml.pipeline.cleaned import clean_beers, clean_payloads, tables_from_beers
from punkml.pipeline.lake_schema import BEERS, SEED_COLUMNS, cleaned_schemas
from punkml.pipeline.normalize import ibu_flag
from punkml.source.dataset import load_beers

WHEN = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def dataset_tables() -> dict[str, pa.Table]:
    return tables_from_beers(load_beers(), ingested_at=WHEN)


def test_seed_columns_are_in_the_beers_schema_with_seq_and_ingested_at() -> None:
    names = BEERS.names
    assert set(SEED_COLUMNS) | {"seq", "ingested_at"} <= set(names)
    assert BEERS.schema.field("abv").type == pa.float64()


def test_dataset_cleans_to_expected_row_counts(dataset_tables: dict[str, pa.Table]) -> None:
    beers = load_beers()
    assert dataset_tables["beers"].num_rows == 325
    assert dataset_tables["hop_additions"].num_rows == sum(
        len(b["ingredients"]["hops"]) for b in beers
    )
    assert dataset_tables["malts"].num_rows == sum(len(b["ingredients"]["malt"]) for b in beers)
    for name, table in dataset_tables.items():
        assert table.schema == cleaned_schemas()[name]


def test_seed_columns_equal_the_dataset(dataset_tables: dict[str, pa.Table]) -> None:
    rows = {row["id"]: row for row in dataset_tables["beers"].to_pylist()}
    for beer in load_beers():
        for column in SEED_COLUMNS:
            expected = beer[column]
            assert rows[beer["id"]][column] == expected, (beer["id"], column)


def test_ibu_flags_mark_missing_and_copied_target_og(dataset_tables: dict[str, pa.Table]) -> None:
    flags = {
        row["id"]: row["ibu_flag"]
        for row in dataset_tables["beers"].to_pylist()
        if row["ibu_flag"] is not None
    }
    assert flags == {
        24: "missing",
        169: "missing",
        235: "missing",
        236: "missing",
        237: "missing",
        137: "equals_target_og",
        185: "equals_target_og",
    }
    assert ibu_flag(450.0, 1060.0) == "implausible"
    assert ibu_flag(45.0, 1060.0) is None


def test_hop_rows_carry_normalized_values() -> None:
    beer = copy.deepcopy(next(b for b in load_beers() if b["id"] == 29))
    beer["ingredients"]["hops"].append(
        {
            "name": "Galaxy",
            "amount": {"value": 0.05, "unit": "kilogram"},
            "add": "Dry Hop, at Day 8",
            "attribute": "aroma, 14% alpha",
        }
    )
    tables = clean_payloads([orjson.dumps(beer)], [7], [0]).tables
    hops = tables["hop_additions"].to_pylist()
    first, last = hops[0], hops[-1]
    assert (first["stage"], first["boil_minutes"], first["grams"]) == ("boil", 60.0, 20.0)
    assert first["attribute"] == "bittering" and first["is_hop"] is True
    assert last["grams"] == 50.0 and last["stage"] == "dry-hop" and last["boil_minutes"] is None
    assert last["alpha_acid_pct"] == 14.0
    assert all(row["seq"] == 7 and row["beer_id"] == 29 for row in hops)
    assert tables["malts"].column("kilograms")[0].as_py() == 4.75
    (row,) = tables["beers"].to_pylist()
    assert row["volume_litres"] == 20.0 and row["boil_volume_litres"] == 25.0


def test_a_hop_attribute_may_be_null_as_in_newer_diy_dog_recipes() -> None:
    beer = copy.deepcopy(load_beers()[0])
    beer["ingredients"]["hops"][0]["attribute"] = None
    row = tables_from_beers([beer], ingested_at=WHEN)["hop_additions"].to_pylist()[0]
    assert (row["attribute_raw"], row["attribute"], row["alpha_acid_pct"]) == ("", "other", None)


def test_invalid_beer_names_the_field_path() -> None:
    beer = copy.deepcopy(load_beers()[0])
    beer["ingredients"]["hops"][1]["amount"]["value"] = "lots"
    with pytest.raises(SchemaError, match=r"ingredients\.hops\.1\.amount\.value"):
        tables_from_beers([load_beers()[1], beer])


def test_ingestion_times_survive_the_columnar_conversion_exactly() -> None:
    payloads = [orjson.dumps(beer) for beer in load_beers()[:3]]
    times = [WHEN, datetime(2031, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), WHEN]
    millis = [int(when.timestamp() * 1000) for when in times]
    tables = clean_payloads(payloads, [0, 1, 2], millis).tables
    assert tables["beers"].column("ingested_at").to_pylist() == times
    hop_times = tables["hop_additions"].column("ingested_at").to_pylist()
    hop_seqs = tables["hop_additions"].column("seq").to_pylist()
    assert hop_times == [times[seq] for seq in hop_seqs]


def test_refused_beers_are_set_aside_by_position_and_the_rest_cleaned() -> None:
    beers = copy.deepcopy(load_beers()[:4])
    beers[1]["ingredients"]["hops"][0]["amount"]["value"] = -5.0
    beers[3]["volume"]["value"] = 1e-320
    cleaned = clean_beers(beers, ingested_at=WHEN)
    assert [item.index for item in cleaned.refused] == [1, 3]
    assert "ingredients.hops.0.amount.value" in cleaned.refused[0].error
    assert "volume.value" in cleaned.refused[1].error
    assert cleaned.tables["beers"].column("id").to_pylist() == [beers[0]["id"], beers[2]["id"]]
    assert cleaned.tables["beers"].column("seq").to_pylist() == [0, 2]
    with pytest.raises(SchemaError, match=r"ingredients\.hops\.0\.amount\.value"):
        tables_from_beers(beers)


def test_a_beer_the_cleaning_cannot_take_is_refused_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from punkml.pipeline import cleaned as module

    real = module.clean_columns

    def fails_on_beer_3(parsed: pa.Table, seqs: list[int], arrived: list[int]) -> object:
        if 3 in parsed.column("id").to_pylist():
            raise ZeroDivisionError("a cleaning bug")
        return real(parsed, seqs, arrived)

    monkeypatch.setattr(module, "clean_columns", fails_on_beer_3)
    beers = [b for b in load_beers() if b["id"] in (1, 2, 3, 4)]
    out = clean_payloads([orjson.dumps(b) for b in beers], [10, 11, 12, 13], [0] * 4)
    assert [item.index for item in out.refused] == [2]
    assert "ZeroDivisionError: a cleaning bug" in out.refused[0].error
    assert out.tables["beers"].column("seq").to_pylist() == [10, 11, 13]
