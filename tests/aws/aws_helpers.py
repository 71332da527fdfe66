"""Helpers of the AWS tests: unique names, moto resources and real AWS event shapes."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

REGION = "eu-west-1"


@dataclass
class AwsEnv:
    """The moto endpoint and the environment variables that point AWS clients at it."""

    endpoint: str
    vars: dict[str, str]

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def subprocess_env(self, **extra: str) -> dict[str, str]:
        """``os.environ`` plus the fake AWS settings (and ``extra``), for subprocesses."""
        env = {**os.environ, **self.vars, **extra}
        env.pop("AWS_PROFILE", None)
        return env


def unique(prefix: str) -> str:
    """A resource name no other test uses (lower-case, digits, dashes)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_bucket(aws: AwsEnv, prefix: str = "lake") -> str:
    name = unique(prefix)
    aws.client("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def make_stream(aws: AwsEnv, shards: int = 1) -> str:
    name = unique("beers")
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    return name


def firehose_record(
    record_id: str,
    data: bytes,
    *,
    arrived_ms: int = 1_764_201_600_000,
    partition_key: str = "1",
    sequence_number: str = "49590338271490256608559692538361571095921575989136588898",
) -> dict[str, Any]:
    """One record of a Firehose transformation event from a Kinesis source, as AWS sends it."""
    return {
        "recordId": record_id,
        "approximateArrivalTimestamp": arrived_ms,
        "data": base64.b64encode(data).decode("ascii"),
        "kinesisRecordMetadata": {
            "sequenceNumber": sequence_number,
            "subsequenceNumber": 0,
            "partitionKey": partition_key,
            "shardId": "shardId-000000000000",
            "approximateArrivalTimestamp": arrived_ms,
        },
    }


def firehose_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A Firehose data-transformation event (Kinesis source) holding ``records``."""
    return {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/punkml-beers",
        "sourceKinesisStreamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/punkml-beers",
        "region": REGION,
        "records": records,
    }


def scheduled_event() -> dict[str, Any]:
    """An EventBridge scheduled event, as the collector's rule sends it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-27T12:00:00Z",
        "region": REGION,
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/punkml-collector-schedule"],
        "detail": {},
    }


def beer_bytes(beer: dict[str, Any]) -> bytes:
    return orjson.dumps(beer)
