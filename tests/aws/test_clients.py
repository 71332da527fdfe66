"""AWS errors become one line that says what to do."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from punkml.aws.clients import (
    AWS_EXTRA_MISSING,
    aws_errors,
    describe_aws_error,
    parse_resource_uri,
)
from punkml.errors import ConfigError, LakeError, StreamError


def test_missing_credentials_say_how_to_provide_them() -> None:
    message = describe_aws_error("cannot put", NoCredentialsError())
    assert message.startswith("cannot put: no AWS credentials")
    assert "AWS_PROFILE" in message


def test_client_errors_keep_code_and_message() -> None:
    error = ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "Stream beers not found"}},
        "PutRecords",
    )
    assert describe_aws_error("cannot put", error) == (
        "cannot put: ResourceNotFoundException: Stream beers not found"
    )


def test_aws_errors_raise_the_chosen_punkml_error() -> None:
    with pytest.raises(StreamError, match="no AWS credentials"), aws_errors("reading"):
        raise NoCredentialsError()
    with pytest.raises(LakeError, match="reading"), aws_errors("reading", LakeError):
        raise NoCredentialsError()


# A Python without the `aws` extra: boto3 and botocore cannot be imported.
WITHOUT_BOTO3 = """
import sys


class NoBoto3:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("boto3", "botocore"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoBoto3())
from punkml.cli import main

sys.argv[0] = "punkml"
main()
"""


@pytest.mark.parametrize(
    "args",
    [
        ("deliver", "--until-idle", "--stream", "kinesis://beers?region=eu-west-1"),
        ("ingest", "once", "--stream", "kinesis://beers?region=eu-west-1"),
        ("sql", "SELECT 1", "--catalog", "glue://punkml?region=eu-west-1"),
    ],
    ids=["deliver", "ingest", "sql"],
)
def test_without_the_aws_extra_the_cli_says_what_to_install(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_BOTO3, *args, "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert AWS_EXTRA_MISSING in lines[0]
    assert "pip install 'punkml[aws]'" in lines[0]


_WORD = re.compile(r"^[a-z]{1,8}$")


def test_resource_uri_gives_name_region_and_query() -> None:
    uri = "thing://beers/?region=eu-west-1&region=us-east-1&x=1"
    name, region, query = parse_resource_uri(
        uri, scheme="thing", role="stream", name_pattern=_WORD, name_rule="letters only"
    )
    assert (name, region, query["x"]) == ("beers", "us-east-1", ["1"])


def test_resource_uri_refuses_another_scheme_and_a_bad_name() -> None:
    with pytest.raises(ConfigError, match=r"not a thing:// catalog URI"):
        parse_resource_uri(
            "other://beers", scheme="thing", role="catalog", name_pattern=_WORD, name_rule="x"
        )
    with pytest.raises(ConfigError, match=r"catalog URI 'thing://Beers': letters only"):
        parse_resource_uri(
            "thing://Beers",
            scheme="thing",
            role="catalog",
            name_pattern=_WORD,
            name_rule="letters only",
        )
