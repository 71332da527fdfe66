"""The catalog views over the lake."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from punkml.config import Settings
from punkml.errors import LakeError
from punkml.pipeline import catalog as catalog_module
from punkml.pipeline.catalog import VIEWS, Catalog
from punkml.pipeline.delivery import Deliverer
from punkml.pipeline.lake import Lake
from punkml.pipeline.lake_schema import PREDICTIONS
from punkml.pipeline.raw import RawSink
from punkml.pipeline.stream import SqliteStream
from punkml.pipeline.transform import CleanedSink


def _deliver(stream: SqliteStream, settings: Settings) -> None:
    lake = Lake.open(settings.lake_uri)
    for sink in (RawSink(lake), CleanedSink(lake)):
        Deliverer(stream, sink).run(until_idle=True)


def test_every_view_exists_and_is_empty_before_any_delivery(settings: Settings) -> None:
    with Catalog(settings) as catalog:
        for view in VIEWS:
            assert catalog.query(f"SELECT count(*) AS n FROM {view}").to_pylist() == [{"n": 0}]
        columns = catalog.query("SELECT * FROM beers").column_names
    assert columns[:9] == ["id", "name", "abv", "ibu", "target_fg", "target_og", "ebc", "srm", "ph"]
    assert {"seq", "ingested_at", "ingest_date"} <= set(columns)


def test_beers_latest_keeps_the_newest_event_per_id(
    settings: Settings, stream: SqliteStream, beers: list[dict[str, Any]]
) -> None:
    newer = copy.deepcopy(beers[0])
    newer["abv"] = 9.9
    stream.put([(str(b["id"]), orjson.dumps(b)) for b in beers[:3]])
    stream.put([("1", orjson.dumps(newer))])
    _deliver(stream, settings)
    with Catalog(settings) as catalog:
        assert catalog.query("SELECT count(*) AS n FROM beers").to_pylist() == [{"n": 4}]
        latest = catalog.query("SELECT id, abv, seq FROM beers_latest ORDER BY id").to_pylist()
        raw = catalog.query("SELECT seq, payload FROM raw_beers ORDER BY seq").to_pylist()
    assert latest == [
        {"id": 1, "abv": 9.9, "seq": 4},
        {"id": 2, "abv": beers[1]["abv"], "seq": 2},
        {"id": 3, "abv": beers[2]["abv"], "seq": 3},
    ]
    assert [row["seq"] for row in raw] == [1, 2, 3, 4]
    assert orjson.loads(raw[3]["payload"]) == newer


def test_predictions_are_picked_up_from_the_lake(settings: Settings) -> None:
    folder = settings.lake_dir / "predictions"
    folder.mkdir(parents=True)
    table = pa.table({"id": [1, 2], "ibu_pred": [40.5, 61.0], "model_version": ["v1", "v1"]})
    pq.write_table(table, folder / "v1.parquet")
    with Catalog(settings) as catalog:
        rows = catalog.query("SELECT id, ibu_pred FROM predictions ORDER BY id").to_pylist()
        stats = {s.name: (s.files, s.rows) for s in catalog.stats()}
    assert rows == [{"id": 1, "ibu_pred": 40.5}, {"id": 2, "ibu_pred": 61.0}]
    assert stats["predictions"] == (1, 2)
    assert stats["beers"] == (0, 0)


def test_query_parameters_and_errors(settings: Settings) -> None:
    with Catalog(settings) as catalog:
        assert catalog.query("SELECT ? + 1 AS x", [41]).to_pylist() == [{"x": 42}]
        with pytest.raises(LakeError, match="SQL failed"):
            catalog.query("SELECT * FROM no_such_table")
        with pytest.raises(LakeError, match="limit"):
            catalog.query("SELECT 1" + " " * 200_000)


def test_persisted_catalog_file_answers_like_the_catalog(
    settings: Settings,
    stream: SqliteStream,
    beers: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import duckdb

    monkeypatch.chdir(settings.home)  # its paths are relative to the home
    with Catalog(settings) as catalog:
        assert catalog.persist() == settings.catalog_path  # before any file: empty typed views
    with duckdb.connect(str(settings.catalog_path), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM beers_latest").fetchall() == [(0,)]
    stream.put([(str(b["id"]), orjson.dumps(b)) for b in beers[:5]] + [("x", b"junk")])
    _deliver(stream, settings)
    with Catalog(settings) as catalog:
        catalog.persist()
        expected = {
            view: catalog.query(f"SELECT count(*) AS n FROM {view}").to_pylist()[0]["n"]
            for view in VIEWS
        }
        ids = catalog.query("SELECT id FROM beers_latest ORDER BY id").column("id").to_pylist()
    assert expected["raw_beers"] == 6 and expected["dead_letters"] == 1
    with duckdb.connect(str(settings.catalog_path), read_only=True) as con:
        for view, count in expected.items():
            assert con.sql(f"SELECT count(*) FROM {view}").fetchall() == [(count,)], view
        assert [
            row[0] for row in con.sql("SELECT id FROM beers_latest ORDER BY id").fetchall()
        ] == ids
    assert not [p for p in settings.home.iterdir() if p.name.startswith(".")]


def test_the_catalog_file_survives_moving_the_home_and_sees_every_change(
    settings: Settings,
    beers: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    punkml: Any,
    tmp_path: Any,
) -> None:
    import shutil

    import duckdb

    with SqliteStream(settings.stream_path) as stream:
        stream.put([(str(b["id"]), orjson.dumps(b)) for b in beers[:7]])
    punkml("deliver", "--until-idle")
    # The lake changes outside a delivery: the ML stage writes the predictions table.
    Lake.open(settings.lake_uri).write_parquet(
        "predictions/predictions.parquet", pa.table({"id": [1, 2], "ibu_pred": [60.0, 41.5]})
    )
    punkml("compact")  # refreshes the file, as every change of the lake does
    assert str(settings.home).encode() not in settings.catalog_path.read_bytes()

    moved = tmp_path / "elsewhere" / "home"
    shutil.move(settings.home, moved)
    monkeypatch.chdir(moved)
    with duckdb.connect("catalog.duckdb", read_only=True) as con:
        counts = {v: con.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in VIEWS}  # type: ignore[index]
    assert counts == {
        "raw_beers": 7,
        "beers": 7,
        "beers_latest": 7,
        "hop_additions": counts["hop_additions"],
        "malts": counts["malts"],
        "dead_letters": 0,
        "predictions": 2,
    }
    assert counts["hop_additions"] > 7 and counts["malts"] > 7


def test_duckdb_readers_give_the_arrow_datasets_rows_and_columns(
    settings: Settings,
    stream: SqliteStream,
    beers: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A local lake is read by DuckDB's own readers; an object store, or files DuckDB cannot read
    # into the declared columns, through Arrow datasets: the views must not tell them apart.
    stream.put([(str(b["id"]), orjson.dumps(b)) for b in beers[:6]] + [("x", b"junk")])
    _deliver(stream, settings)

    def every_view() -> dict[str, pa.Table]:
        with Catalog(settings) as catalog:
            return {view: catalog.query(f"SELECT * FROM {view} ORDER BY ALL") for view in VIEWS}

    native = every_view()
    monkeypatch.setattr(catalog_module, "_native_view", lambda *args: False)
    arrow = every_view()
    for view in VIEWS:
        assert native[view].schema == arrow[view].schema, view
        assert native[view].to_pylist() == arrow[view].to_pylist(), view
    assert native["raw_beers"].num_rows == 7 and native["dead_letters"].num_rows == 1


def test_a_table_whose_files_lack_declared_columns_still_shows_them(settings: Settings) -> None:
    folder = settings.lake_dir / "predictions"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1], "ibu_pred": [40.5]}), folder / "v1.parquet")
    with Catalog(settings) as catalog:
        table = catalog.query("SELECT * FROM predictions")
    assert table.column_names == PREDICTIONS.view_schema.names
    assert table.to_pylist()[0]["ibu_pred"] == 40.5
