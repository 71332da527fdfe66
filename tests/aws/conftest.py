"""AWS without an account: a moto server on a loopback port, fake credentials, small helpers.

``moto_endpoint`` (session): ``http://127.0.0.1:PORT`` of a ``ThreadedMotoServer``.
``aws_env``: the process environment pointed at it (fake keys, region, ``AWS_ENDPOINT_URL``, which
boto3 and pyarrow's S3 filesystem both honour); ``aws_env.vars`` is the same for subprocesses.
Every test names its AWS resources uniquely, so tests share one server safely.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The helpers module sits beside this file; make it importable whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aws_helpers import REGION, AwsEnv


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> AwsEnv:
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return AwsEnv(moto_endpoint, values)
