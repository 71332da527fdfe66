"""The local tool against AWS services (moto): ingest → Kinesis → deliver → S3 + Glue → sql.

Every step is the real ``punkml`` command line in a subprocess, pointed at the moto server by the
same environment variables a user sets for AWS (credentials, region, endpoint).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_helpers import AwsEnv, make_bucket, make_stream, unique

from punkml.pipeline.lake_schema import cleaned_schemas
from punkml.source.dataset import load_beers

pytestmark = pytest.mark.slow


def punkml(aws: AwsEnv, home: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "punkml", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        env=aws.subprocess_env(),
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"punkml {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def sql(aws: AwsEnv, home: Path, query: str, *where: str) -> list[dict[str, Any]]:
    out = punkml(aws, home, "sql", query, "--format", "json", *where)
    return [json.loads(line) for line in out.splitlines()]  # JSON lines


def test_ingest_deliver_and_query_on_aws(aws_env: AwsEnv, api_server: str, tmp_path: Path) -> None:
    stream = f"kinesis://{make_stream(aws_env, shards=2)}"
    bucket = make_bucket(aws_env)
    lake = f"s3://{bucket}/punk"
    catalog = f"glue://{unique('lake').replace('-', '_')}"
    home = tmp_path / "home"

    punkml(aws_env, home, "ingest", "backfill", "--source", api_server, "--stream", stream)
    # One record that is not a beer: it must land in raw_beers and dead_letters, nowhere else.
    aws_env.client("kinesis").put_record(
        StreamName=stream.removeprefix("kinesis://"), PartitionKey="junk", Data=b"not json"
    )
    punkml(
        aws_env, home, "deliver", "--until-idle", "--stream", stream, "--lake", lake,
        "--catalog", catalog, "--buffer-seconds", "0.5",
    )  # fmt: skip

    keys = [
        item["Key"]
        for page in aws_env.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    assert any(key.startswith("punk/raw/") and key.endswith(".jsonl.gz") for key in keys)
    assert any(key.startswith("punk/cleaned/beers/ingest_date=") for key in keys)

    # The Glue tables exist with exactly the cleaned schema's columns, abv included.
    glue = aws_env.client("glue")
    database = catalog.removeprefix("glue://")
    for table, schema in cleaned_schemas().items():
        columns = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
        assert [column["Name"] for column in columns["Columns"]] == schema.names

    # `punkml sql` over s3://, the lake found through the Glue catalog.
    (counts,) = sql(
        aws_env, home, "SELECT count(*) AS n, count(DISTINCT id) AS ids, "
        "count(abv) AS abv FROM beers", "--catalog", catalog,
    )  # fmt: skip
    assert counts == {"n": 325, "ids": 325, "abv": 325}
    (latest,) = sql(aws_env, home, "SELECT count(*) AS n FROM beers_latest", "--lake", lake)
    assert latest["n"] == 325
    (raw,) = sql(aws_env, home, "SELECT count(*) AS n FROM raw_beers", "--lake", lake)
    assert raw["n"] == 326
    dead = sql(aws_env, home, "SELECT partition_key, payload FROM dead_letters", "--lake", lake)
    assert dead == [{"partition_key": "junk", "payload": "not json"}]
    (hops,) = sql(
        aws_env, home, "SELECT count(DISTINCT beer_id) AS n FROM hop_additions", "--lake", lake
    )
    with_hops = sum(1 for beer in load_beers() if beer["ingredients"]["hops"])
    assert hops["n"] == with_hops

    # Delivering again finds nothing new: the Kinesis positions and checkpoints were kept.
    punkml(aws_env, home, "deliver", "--until-idle", "--stream", stream, "--lake", lake)
    (again,) = sql(aws_env, home, "SELECT count(*) AS n FROM beers", "--lake", lake)
    assert again["n"] == 325


def test_firehose_raw_lines_read_like_local_ones(aws_env: AwsEnv, tmp_path: Path) -> None:
    """What the raw processor emits on AWS is queryable by `punkml sql` as raw_beers."""
    import base64

    from aws_helpers import beer_bytes, firehose_event, firehose_record

    from punkml.aws.firehose_processor import process_records

    beers = load_beers()[:3]
    event = firehose_event([firehose_record(str(b["id"]), beer_bytes(b)) for b in beers])
    outcomes = process_records(event["records"], "raw_beers")
    body = b"".join(base64.b64decode(outcome.data) for outcome in outcomes)
    bucket = make_bucket(aws_env)
    aws_env.client("s3").put_object(
        Bucket=bucket, Key="lake/raw/2025/11/27/00/firehose-1.jsonl.gz", Body=gzip.compress(body)
    )
    rows = sql(
        aws_env, tmp_path, "SELECT json_extract(payload, '$.id')::INT AS id FROM raw_beers ORDER BY id",
        "--lake", f"s3://{bucket}/lake",
    )  # fmt: skip
    assert [row["id"] for row in rows] == [beer["id"] for beer in beers]


def firehose_parquet(json_lines: bytes, table: str) -> bytes:
    """Parquet as Firehose's record format conversion writes it from the processor's JSON rows:
    the Glue table's columns, all nullable, timestamps as INT96, Snappy."""
    import io

    import pyarrow as pa
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    schema = cleaned_schemas()[table]
    hive = pa.schema(
        pa.field(f.name, pa.timestamp("ns") if pa.types.is_timestamp(f.type) else f.type)
        for f in schema
    )
    parsed = pajson.read_json(
        io.BytesIO(json_lines), parse_options=pajson.ParseOptions(explicit_schema=schema)
    )
    columns = [
        column.cast(pa.timestamp("ns", tz="UTC")).cast(pa.timestamp("ns"))
        if pa.types.is_timestamp(column.type)
        else column
        for column in parsed.columns
    ]
    out = io.BytesIO()
    pq.write_table(
        pa.table(columns, schema=hive), out, compression="snappy",
        use_deprecated_int96_timestamps=True,
    )  # fmt: skip
    return out.getvalue()


def test_firehose_parquet_reads_like_local_parquet(aws_env: AwsEnv, tmp_path: Path) -> None:
    """The processor's rows, converted as Firehose does, are queryable by `punkml sql`."""
    import base64

    from aws_helpers import beer_bytes, firehose_event, firehose_record

    from punkml.aws.firehose_processor import process_records

    beers = load_beers()[:4]
    event = firehose_event([firehose_record(str(b["id"]), beer_bytes(b)) for b in beers])
    bucket = make_bucket(aws_env)
    s3 = aws_env.client("s3")
    for table in ("beers", "hop_additions"):
        outcomes = process_records(event["records"], table)
        rows = b"".join(base64.b64decode(outcome.data) for outcome in outcomes)
        s3.put_object(
            Bucket=bucket,
            Key=f"lake/cleaned/{table}/ingest_date=2025-11-27/punkml-cleaned-1.parquet",
            Body=firehose_parquet(rows, table),
        )
    lake = f"s3://{bucket}/lake"
    rows = sql(
        aws_env,
        tmp_path,
        "SELECT id, abv, ingest_date FROM beers_latest ORDER BY id",
        "--lake",
        lake,
    )
    assert [(row["id"], row["abv"]) for row in rows] == [(b["id"], b["abv"]) for b in beers]
    assert {row["ingest_date"] for row in rows} == {"2025-11-27"}
    (hops,) = sql(aws_env, tmp_path, "SELECT count(*) AS n FROM hop_additions", "--lake", lake)
    assert hops["n"] == sum(len(b["ingredients"]["hops"]) for b in beers)
