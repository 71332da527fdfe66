"""The collector Lambda handler run by an EventBridge scheduled event, into a moto Kinesis stream."""

from __future__ import annotations

import json

import pytest
from aws_helpers import AwsEnv, make_stream, scheduled_event

from punkml.aws import collector_handler
from punkml.errors import ConfigError, SourceError


def stream_records(aws: AwsEnv, name: str) -> list[dict]:
    kinesis = aws.client("kinesis")
    records = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return records


def test_scheduled_run_puts_random_beers_on_kinesis(
    aws_env: AwsEnv, api_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = make_stream(aws_env, shards=2)
    monkeypatch.setenv("PUNKML_SOURCE_URL", api_server)
    monkeypatch.setenv("PUNKML_STREAM", f"kinesis://{name}")
    monkeypatch.setenv("PUNKML_BEERS_PER_RUN", "4")
    result = collector_handler.handler(scheduled_event(), None)
    assert result["records"] == 4 and result["stream"] == f"kinesis://{name}"
    json.dumps(result)  # a Lambda result must be JSON
    records = stream_records(aws_env, name)
    assert len(records) == 4
    for record in records:
        beer = json.loads(record["Data"])
        assert {"id", "name", "ingredients", "method"} <= set(beer)
        # The beer id is the partition key: Kinesis hashes it across the shards.
        assert record["PartitionKey"] == str(beer["id"])


def test_unreachable_source_fails_the_run(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    name = make_stream(aws_env)
    monkeypatch.setenv("PUNKML_SOURCE_URL", "http://127.0.0.1:9/v2")  # discard port: refused
    monkeypatch.setenv("PUNKML_STREAM", f"kinesis://{name}")
    monkeypatch.setattr(collector_handler, "CLIENT_MAX_SLEEP_SECONDS", 0.0)
    with pytest.raises(SourceError):
        collector_handler.handler(scheduled_event(), None)
    assert stream_records(aws_env, name) == []


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PUNKML_STREAM": "kinesis://x"}, "PUNKML_SOURCE_URL"),
        ({"PUNKML_SOURCE_URL": "http://h/v2"}, "PUNKML_STREAM"),
        (
            {
                "PUNKML_SOURCE_URL": "http://h/v2",
                "PUNKML_STREAM": "kinesis://x",
                "PUNKML_BEERS_PER_RUN": "0",
            },
            "PUNKML_BEERS_PER_RUN",
        ),
    ],
)
def test_configuration_errors_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        collector_handler.collector_config(environ)


def test_event_description_in_the_log() -> None:
    assert "schedule arn:aws:events" in collector_handler.describe_event(scheduled_event())
    assert collector_handler.describe_event({}) == "manual invocation"
