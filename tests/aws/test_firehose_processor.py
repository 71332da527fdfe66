"""The Firehose processor handler with real event shapes: good, bad and non-JSON records."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_helpers import beer_bytes, firehose_event, firehose_record

from punkml.aws import firehose_processor as fp
from punkml.errors import ConfigError
from punkml.pipeline.lake_schema import cleaned_schemas
from punkml.source.dataset import load_beers


@pytest.fixture(scope="module")
def beers() -> list[dict[str, Any]]:
    return load_beers()[:5]


def mixed_event(beers: list[dict[str, Any]]) -> dict[str, Any]:
    records = [
        firehose_record(f"good-{beer['id']}", beer_bytes(beer), partition_key=str(beer["id"]))
        for beer in beers
    ]
    records.insert(2, firehose_record("not-json", b"this is { not json"))
    records.insert(4, firehose_record("not-a-beer", b'{"id": 7, "name": "no recipe"}'))
    return firehose_event(records)


def decoded_lines(entry: dict[str, str]) -> list[dict[str, Any]]:
    text = base64.b64decode(entry["data"]).decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def run(table: str, event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv(fp.TABLE_ENV, table)
    response = fp.handler(event, None)
    json.dumps(response)  # the response must be plain JSON
    return response


def test_every_record_comes_back_once_in_order(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = mixed_event(beers)
    response = run("beers", event, monkeypatch)
    assert [entry["recordId"] for entry in response["records"]] == [
        record["recordId"] for record in event["records"]
    ]
    assert all(set(entry) == {"recordId", "result", "data"} for entry in response["records"])


def test_bad_records_fail_alone_with_their_original_data(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = mixed_event(beers)
    response = run("beers", event, monkeypatch)
    results = {entry["recordId"]: entry for entry in response["records"]}
    originals = {record["recordId"]: record["data"] for record in event["records"]}
    for bad in ("not-json", "not-a-beer"):
        assert results[bad]["result"] == "ProcessingFailed"
        assert results[bad]["data"] == originals[bad]
    assert [results[f"good-{beer['id']}"]["result"] for beer in beers] == ["Ok"] * len(beers)


def test_bad_record_errors_are_logged_with_the_field(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger=fp.__name__):
        run("beers", mixed_event(beers), monkeypatch)
    assert "record not-a-beer failed" in caplog.text
    assert "volume" in caplog.text  # names the missing field
    assert "record not-json failed" in caplog.text


def test_beers_rows_match_the_cleaned_schema(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    response = run("beers", mixed_event(beers), monkeypatch)
    ok = [entry for entry in response["records"] if entry["result"] == "Ok"]
    rows = [row for entry in ok for row in decoded_lines(entry)]
    assert [row["id"] for row in rows] == [beer["id"] for beer in beers]
    for row, beer in zip(rows, beers, strict=True):
        assert list(row) == cleaned_schemas()["beers"].names
        assert row["abv"] == beer["abv"]
        # Timestamps in the form the OpenX JSON SerDe reads.
        assert row["ingested_at"].endswith("Z") and "T" in row["ingested_at"]


def test_child_tables_emit_one_line_per_row(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for table, key in (("hop_additions", "hops"), ("malts", "malt")):
        response = run(table, mixed_event(beers), monkeypatch)
        ok = [entry for entry in response["records"] if entry["result"] == "Ok"]
        for entry, beer in zip(ok, beers, strict=True):
            rows = decoded_lines(entry)
            assert len(rows) == len(beer["ingredients"][key])
            assert {row["beer_id"] for row in rows} == {beer["id"]}
            assert all(list(row) == cleaned_schemas()[table].names for row in rows)


def test_beer_without_hops_is_dropped_from_hop_additions(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    hopless = {**beers[0], "ingredients": {**beers[0]["ingredients"], "hops": []}}
    response = run(
        "hop_additions", firehose_event([firehose_record("r", beer_bytes(hopless))]), monkeypatch
    )
    assert response["records"] == [{"recordId": "r", "result": "Dropped", "data": ""}]


def test_raw_lines_keep_every_record_as_received(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = mixed_event(beers)
    response = run("raw_beers", event, monkeypatch)
    assert {entry["result"] for entry in response["records"]} == {"Ok"}
    for entry, record in zip(response["records"], event["records"], strict=True):
        (line,) = decoded_lines(entry)
        assert set(line) >= {"seq", "partition_key", "arrived_at", "payload"}
        assert line["payload"].encode() == base64.b64decode(record["data"])
        assert line["arrived_at"] == "2025-11-27T00:00:00.000Z"


def test_seq_increases_with_arrival_and_fits_int64() -> None:
    early = fp.firehose_seq(
        1_764_201_600_000, "49590338271490256608559692538361571095921575989136588898"
    )
    later = fp.firehose_seq(1_764_201_600_001, "1")
    assert early < later < 2**63


def test_malformed_record_fails_without_failing_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    event = firehose_event([{"recordId": "x", "data": "%%% not base64 %%%"}, {"recordId": "y"}])
    response = run("beers", event, monkeypatch)
    assert [entry["result"] for entry in response["records"]] == ["ProcessingFailed"] * 2


def test_response_stays_within_the_budget(beers: list[dict[str, Any]]) -> None:
    # Raw lines are larger than their input (the payload is escaped into an envelope), so a budget
    # barely above the inputs' size admits only a few outputs; the rest must fail, not overflow.
    records = [firehose_record(f"r{i}", beer_bytes(beers[i % len(beers)])) for i in range(40)]
    reserved = sum(len(record["recordId"]) + len(record["data"]) for record in records)
    budget = reserved + 40 * fp.ENTRY_OVERHEAD_BYTES + 2_000
    outcomes = fp.process_records(records, "raw_beers", budget_bytes=budget)
    assert sum(outcome.size() for outcome in outcomes) <= budget
    results = [outcome.result for outcome in outcomes]
    assert results[0] == "Ok" and results[-1] == "ProcessingFailed"
    failed = [outcome for outcome in outcomes if outcome.result == "ProcessingFailed"]
    assert all("6 MB" in (outcome.error or "") for outcome in failed)
    assert all(
        outcome.data == record["data"]
        for outcome, record in zip(outcomes, records, strict=True)
        if outcome.result == "ProcessingFailed"
    )


def test_default_budget_is_below_the_lambda_limit() -> None:
    assert fp.RESPONSE_BUDGET_BYTES < fp.RESPONSE_LIMIT_BYTES == 6 * 1024 * 1024


def test_unknown_table_and_non_firehose_events_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="PUNKML_TABLE"):
        run("beer", firehose_event([]), monkeypatch)
    with pytest.raises(ConfigError, match="records"):
        run("beers", {"detail-type": "Scheduled Event"}, monkeypatch)
