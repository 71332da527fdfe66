"""The kinesis:// stream backend against a moto Kinesis: put/get round trip, shards, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_helpers import AwsEnv, make_stream

from punkml.aws.kinesis import KinesisStream, parse_kinesis_uri
from punkml.backends import install
from punkml.config import Settings
from punkml.errors import ConfigError, StreamError
from punkml.pipeline.stream import Stream, new_holder_id, open_stream


def open_kinesis(name: str, home: Path) -> KinesisStream:
    install()
    stream = open_stream(Settings.load(home, stream=f"kinesis://{name}"))
    assert isinstance(stream, KinesisStream)
    return stream


def test_uri_dispatch_gives_a_stream_backend(aws_env: AwsEnv, tmp_path: Path) -> None:
    stream = open_kinesis(make_stream(aws_env), tmp_path)
    assert isinstance(stream, Stream)
    assert stream.uri.startswith("kinesis://")


def test_uri_parsing() -> None:
    assert parse_kinesis_uri("kinesis://beers") == ("beers", None, 24.0)
    assert parse_kinesis_uri("kinesis://beers?region=us-east-1&retention_hours=48") == (
        "beers",
        "us-east-1",
        48.0,
    )
    with pytest.raises(ConfigError, match="stream name"):
        parse_kinesis_uri("kinesis://")
    with pytest.raises(ConfigError, match="retention_hours"):
        parse_kinesis_uri("kinesis://beers?retention_hours=-1")


def test_put_then_read_round_trip(aws_env: AwsEnv, tmp_path: Path) -> None:
    stream = open_kinesis(make_stream(aws_env, shards=2), tmp_path)
    records = [(str(i), f'{{"id": {i}}}'.encode()) for i in range(1, 31)]
    numbers = stream.put(records)
    assert len(numbers) == 30  # Kinesis numbers are unique per shard only
    got = stream.read(0, 100)
    assert sorted(record.data for record in got) == sorted(data for _, data in records)
    assert {record.partition_key for record in got} == {key for key, _ in records}
    seqs = [record.seq for record in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 30
    assert all(record.arrived_at_ms > 1_600_000_000_000 for record in got)
    # Records of every shard were pulled, and each shard's position is kept.
    assert len(stream.ledger.shard_positions()) == 2
    stream.close()


def test_records_of_one_key_keep_their_order(aws_env: AwsEnv, tmp_path: Path) -> None:
    stream = open_kinesis(make_stream(aws_env, shards=3), tmp_path)
    stream.put([("42", f"v{i}".encode()) for i in range(10)])
    got = [record.data for record in stream.read(0, 100) if record.partition_key == "42"]
    assert got == [f"v{i}".encode() for i in range(10)]


def test_reopened_stream_pulls_only_new_records(aws_env: AwsEnv, tmp_path: Path) -> None:
    name = make_stream(aws_env, shards=2)
    first = open_kinesis(name, tmp_path)
    first.put([("a", b"1"), ("b", b"2")])
    assert len(first.read(0, 100)) == 2
    last = first.info().last_seq
    first.close()
    second = open_kinesis(name, tmp_path)  # same home: same ledger and shard positions
    second.put([("c", b"3")])
    later = second.read(last, 100)
    assert [record.data for record in later] == [b"3"]
    assert second.info().length == 3  # nothing pulled twice


def test_consumer_checkpoints_and_leases_follow_the_protocol(
    aws_env: AwsEnv, tmp_path: Path
) -> None:
    stream = open_kinesis(make_stream(aws_env), tmp_path)
    stream.put([("k", b"x"), ("k", b"y")])
    page = stream.read(0, 10)
    lease = stream.acquire_lease("raw", new_holder_id(), 30)
    assert lease is not None
    assert stream.acquire_lease("raw", new_holder_id(), 30) is None  # held by us
    stream.begin_batch(lease, page[0].seq, page[-1].seq)
    assert stream.consumer("raw").pending_last == page[-1].seq
    stream.commit_batch(lease, page[-1].seq)
    state = stream.consumer("raw")
    assert state.checkpoint == page[-1].seq and state.pending_first is None
    assert stream.read(state.checkpoint, 10) == []
    info = stream.info()
    assert info.uri == stream.uri and info.length == 2


def test_large_puts_are_split_into_api_sized_calls(aws_env: AwsEnv, tmp_path: Path) -> None:
    stream = open_kinesis(make_stream(aws_env), tmp_path)
    numbers = stream.put([(str(i % 7), b"x" * 100) for i in range(1_200)])  # > 500 per call
    assert len(numbers) == 1_200


def test_oversized_record_and_missing_stream_are_clear_errors(
    aws_env: AwsEnv, tmp_path: Path
) -> None:
    stream = open_kinesis(make_stream(aws_env), tmp_path)
    with pytest.raises(StreamError, match="over the"):
        stream.put([("k", b"x" * (1024 * 1024 + 1))])
    missing = open_kinesis("no-such-stream", tmp_path)
    with pytest.raises(StreamError, match="no-such-stream"):
        missing.put([("k", b"x")])


def test_missing_region_is_a_config_error(
    aws_env: AwsEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigError, match="AWS_REGION"):
        open_kinesis("beers", tmp_path)


def test_concurrent_pullers_never_duplicate_a_record(aws_env: AwsEnv, tmp_path: Path) -> None:
    import threading

    name = make_stream(aws_env, shards=2)
    producer = open_kinesis(name, tmp_path)
    producer.put([(str(i), str(i).encode()) for i in range(200)])
    pullers = [open_kinesis(name, tmp_path) for _ in range(3)]  # one ledger, three handles

    def pull(stream: KinesisStream) -> None:
        for _ in range(5):
            stream.pull(limit=40)

    threads = [threading.Thread(target=pull, args=(stream,)) for stream in pullers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    producer.pull()
    data = [record.data for record in producer.read(0, 1_000)]
    assert sorted(data) == sorted(str(i).encode() for i in range(200))


def test_a_stale_shard_position_appends_nothing(aws_env: AwsEnv, tmp_path: Path) -> None:
    stream = open_kinesis(make_stream(aws_env), tmp_path)
    stream.put([("k", b"1")])
    stream.pull()
    ((shard, position),) = stream.ledger.shard_positions().items()
    item = {"SequenceNumber": "999", "PartitionKey": "k", "Data": b"dup"}
    assert stream.ledger.append_from_shard(shard, [item], after=None) is None
    assert stream.ledger.append_from_shard(shard, [item], after=position) is not None


def test_small_pages_read_everything_before_reporting_idle(aws_env: AwsEnv, tmp_path: Path) -> None:
    stream = open_kinesis(make_stream(aws_env, shards=2), tmp_path)
    stream.put([(str(i), str(i).encode()) for i in range(1_500)])
    position, seen = 0, []
    while page := stream.read(position, 10):  # an empty page must mean "caught up"
        seen.extend(record.data for record in page)
        position = page[-1].seq
    assert sorted(seen) == sorted(str(i).encode() for i in range(1_500))
