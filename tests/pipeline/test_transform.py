"""Cleaned delivery of stream records: validation, dead letters, determinism, partitions."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from punkml.pipeline import cleaned
from punkml.pipeline.cleaned import MAX_BEER_BYTES
from punkml.pipeline.lake import Lake
from punkml.pipeline.lake_schema import CLEANED_TABLES
from punkml.pipeline.stream import Record
from punkml.pipeline.transform import CleanedSink, arrival_time, transform_batch

T0 = 1_767_322_800_000  # 2026-01-02 03:00:00 UTC
DAY_MS = 86_400_000


def _record(seq: int, data: bytes, at: int = T0) -> Record:
    return Record(seq, str(seq), at, data)


def _bad_payloads(beer: dict[str, Any]) -> dict[str, bytes]:
    missing = copy.deepcopy(beer)
    del missing["name"]
    wrong_type = copy.deepcopy(beer)
    wrong_type["abv"] = "strong"
    nested = copy.deepcopy(beer)
    nested["ingredients"]["hops"][0]["amount"]["value"] = "lots"
    oversized = orjson.dumps({**beer, "padding": "x" * MAX_BEER_BYTES})
    return {
        "name: Field required": orjson.dumps(missing),
        "abv": orjson.dumps(wrong_type),
        "ingredients.hops.0.amount.value": orjson.dumps(nested),
        "Invalid JSON": b"\xffnot json at all",
        "byte limit": oversized,
        "object": b"[1, 2, 3]",
        "EOF": b"",
        "volume.value": orjson.dumps({**beer, "volume": {"value": 1e-320, "unit": "litres"}}),
        "ingredients.hops.0.amount.value: Input should be greater than or equal to 0": orjson.dumps(
            {
                **beer,
                "ingredients": {
                    **beer["ingredients"],
                    "hops": [
                        {**beer["ingredients"]["hops"][0], "amount": {"value": -1, "unit": "grams"}}
                    ],
                },
            }
        ),
    }


def test_good_records_are_cleaned_and_bad_ones_dead_lettered(beers: list[dict[str, Any]]) -> None:
    bad = _bad_payloads(beers[0])
    records = [_record(1, orjson.dumps(beers[0]))]
    records += [_record(seq, data) for seq, data in enumerate(bad.values(), start=2)]
    records.append(_record(len(records) + 1, orjson.dumps(beers[1])))
    out = transform_batch(records)

    beer_rows = out.tables["beers"].to_pylist()
    assert [(row["seq"], row["id"]) for row in beer_rows] == [(1, 1), (len(records), 2)]
    assert beer_rows[0]["ingested_at"] == arrival_time(records[0])
    dead = out.dead_letters.to_pylist()
    assert [row["seq"] for row in dead] == list(range(2, len(records)))
    for row, (expected, payload) in zip(dead, bad.items(), strict=True):
        assert expected in row["error"], row["error"]
        assert row["payload_bytes"] == len(payload)
        if row["payload"] is not None:
            assert row["payload"].encode() == payload
        else:
            assert base64.b64decode(row["payload_base64"]) == payload
    hop_seqs = set(out.tables["hop_additions"].column("seq").to_pylist())
    assert hop_seqs == {1, len(records)}


def test_transform_is_deterministic(beers: list[dict[str, Any]]) -> None:
    records = [_record(seq, orjson.dumps(beer)) for seq, beer in enumerate(beers[:40], start=1)]
    first, second = transform_batch(records), transform_batch(records)
    for name, table in first.tables.items():
        assert table.equals(second.tables[name])


def test_rows_match_the_shared_cleaning_of_the_same_beers(beers: list[dict[str, Any]]) -> None:
    records = [_record(seq, orjson.dumps(beer)) for seq, beer in enumerate(beers, start=0)]
    ours = transform_batch(records).tables
    theirs = cleaned.tables_from_beers(beers, ingested_at=arrival_time(records[0]))
    for table in CLEANED_TABLES:
        assert ours[table.name].equals(theirs[table.name]), table.name


def test_a_failing_transform_dead_letters_only_that_beer(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = cleaned.clean_columns

    def flaky(parsed: Any, *args: Any) -> Any:
        if 3 in parsed.column("id").to_pylist():
            raise ValueError("boom")
        return original(parsed, *args)

    monkeypatch.setattr(cleaned, "clean_columns", flaky)
    records = [_record(seq, orjson.dumps(beer)) for seq, beer in enumerate(beers[:5], start=1)]
    out = transform_batch(records)
    assert out.tables["beers"].column("id").to_pylist() == [1, 2, 4, 5]
    assert out.dead_letters.column("error").to_pylist() == ["cannot clean beer: ValueError: boom"]


def test_sink_partitions_by_ingest_date_and_names_files_by_batch(
    beers: list[dict[str, Any]], tmp_path: Path
) -> None:
    lake = Lake.open(str(tmp_path / "lake"))
    records = [
        _record(10, orjson.dumps(beers[0]), T0),
        _record(11, b"junk", T0),
        _record(12, orjson.dumps(beers[1]), T0 + DAY_MS),
    ]
    assert CleanedSink(lake).write(records) == 7
    names = sorted(p.removeprefix(lake.root + "/") for p in lake.files("", ".parquet"))
    part = "part-00000000000000000010-00000000000000000012.parquet"
    assert names == sorted(
        [
            f"cleaned/{table}/ingest_date={day}/{part}"
            for table in ("beers", "hop_additions", "malts")
            for day in ("2026-01-02", "2026-01-03")
        ]
        + [f"dead_letters/ingest_date=2026-01-02/{part}"]
    )


def test_worker_processes_write_the_same_rows(beers: list[dict[str, Any]], tmp_path: Path) -> None:
    records = [_record(seq, orjson.dumps(beer)) for seq, beer in enumerate(beers, start=1)]
    records[7] = _record(8, b"not a beer")
    tables = {}
    for workers in (1, 3):
        lake = Lake.open(str(tmp_path / f"lake{workers}"))
        sink = CleanedSink(lake, workers=workers)
        try:
            assert sink.write(records) == 4
        finally:
            sink.close()
        tables[workers] = {
            path.removeprefix(lake.root): pq.read_table(path) for path in lake.files("", ".parquet")
        }
    assert tables[1].keys() == tables[3].keys()
    for path, table in tables[1].items():
        assert table.equals(tables[3][path]), path
