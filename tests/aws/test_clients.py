"""AWS errors become one line that says what to do."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from punkml.aws.clients import aws_errors, describe_aws_error
from punkml.errors import LakeError, StreamError


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
