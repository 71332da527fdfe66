"""boto3 clients and AWS errors, set up once for every AWS backend.

Credentials and region come from the usual AWS environment (variables, profile, SSO, instance
role); ``AWS_ENDPOINT_URL`` redirects every client (the tests point it at a moto server).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

from punkml.errors import ConfigError, StreamError

AWS_EXTRA_MISSING = (
    "AWS support is not installed (no boto3): install it with pip install 'punkml[aws]'"
)

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
except ModuleNotFoundError as exc:  # the optional `aws` extra; every AWS module comes here first
    raise ConfigError(AWS_EXTRA_MISSING) from exc


def aws_client(service: str, region: str | None = None) -> Any:
    """A boto3 client; the endpoint may be overridden with ``AWS_ENDPOINT_URL`` (tests, moto)."""
    session = boto3.session.Session(region_name=region)
    if not session.region_name:
        raise ConfigError(
            f"no AWS region for {service}: set AWS_REGION (or AWS_DEFAULT_REGION), or add "
            "?region=NAME to the URI"
        )
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30
    )
    return session.client(service, config=config)


def describe_aws_error(action: str, exc: Exception) -> str:
    """One line naming the action and the AWS error; says what to do about missing credentials."""
    if isinstance(exc, NoCredentialsError):
        return f"{action}: no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{action}: {error.get('Code', 'error')}: {error.get('Message', exc)}"
    return f"{action}: {type(exc).__name__}: {exc}"


@contextmanager
def aws_errors(action: str, error: type[Exception] = StreamError) -> Iterator[None]:
    """Turn boto errors raised inside into ``error`` with ``describe_aws_error``'s message."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise error(describe_aws_error(action, exc)) from exc


def parse_resource_uri(
    uri: str, *, scheme: str, role: str, name_pattern: re.Pattern[str], name_rule: str
) -> tuple[str, str | None, dict[str, list[str]]]:
    """``SCHEME://NAME[?region=eu-west-1&...]`` → (name, region, the whole query).

    ``role`` says what the URI locates (``stream``, ``catalog``) and ``name_rule`` what
    ``name_pattern`` allows, for the error message.
    """
    parsed = urlparse(uri)
    if parsed.scheme != scheme:
        raise ConfigError(f"not a {scheme}:// {role} URI: {uri!r}")
    name = parsed.netloc + parsed.path.rstrip("/")
    if not name_pattern.match(name):
        raise ConfigError(f"{role} URI {uri!r}: {name_rule}")
    query = parse_qs(parsed.query)
    return name, query.get("region", [None])[-1], query
