"""`make lambda-package` zips: only the declared dependencies, and the handlers run from them alone.

The zips are built for this machine's interpreter (``--architecture native``), unpacked, and their
handlers are run by a fresh virtualenv's Python in isolated mode, with nothing on its path but the
unpacked zip (and, for the collector, the boto3 pins the Lambda runtime provides).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_helpers import (
    AwsEnv,
    beer_bytes,
    firehose_event,
    firehose_record,
    make_stream,
    scheduled_event,
)

from punkml.aws.package import PACKAGES, REQUIREMENTS_DIR, build_package, requirements_file
from punkml.source.dataset import load_beers

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


@pytest.mark.parametrize("name", [*PACKAGES, "runtime"])
def test_lambda_requirements_use_the_project_pins(name: str) -> None:
    locked = pins(REPO / "requirements.lock")
    declared = pins(REQUIREMENTS_DIR / f"requirements-{name}.txt")
    assert declared
    assert {pkg: locked.get(pkg) for pkg in declared} == declared


def test_processor_needs_pyarrow_and_the_collector_does_not() -> None:
    assert "pyarrow" in pins(requirements_file("processor"))
    assert "pyarrow" not in pins(requirements_file("collector"))
    assert "boto3" not in pins(requirements_file("collector"))  # the runtime provides it


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    out = tmp_path_factory.mktemp("lambda-build")
    unpacked = {}
    for package in PACKAGES:
        archive = build_package(package, out, python_version=None, architecture=None)
        target = out / package
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(target)
        unpacked[package] = target
    yield unpacked


@pytest.fixture(scope="module")
def clean_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("clean-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def runtime_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("lambda-runtime")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary=:all:", "--target", str(target),
         "-r", str(REQUIREMENTS_DIR / "requirements-runtime.txt")],
        check=True,
    )  # fmt: skip
    return target


def run_handler(
    python: Path, paths: list[Path], call: str, event: dict, env: dict[str, str]
) -> dict:
    """Run ``call(event, None)`` in the clean interpreter; return its JSON result."""
    script = (
        "import json, sys\n"
        f"sys.path[:0] = {[str(path) for path in paths]!r}\n"
        f"from {call.rpartition('.')[0]} import {call.rpartition('.')[2]} as handler\n"
        "result = handler(json.loads(sys.stdin.read()), None)\n"
        "import punkml\n"
        "assert punkml.__file__.startswith(sys.path[0]), punkml.__file__\n"
        "print(json.dumps(result))\n"
    )
    done = subprocess.run(
        [str(python), "-I", "-c", script],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_packages_hold_only_the_declared_distributions(built: dict[str, Path]) -> None:
    for package, root in built.items():
        installed = {
            re.sub(r"[-_.]+", "-", info.name.split("-")[0]).lower()
            for info in root.glob("*.dist-info")
        }
        assert installed == set(pins(requirements_file(package)))
        assert (root / "punkml" / "aws" / "firehose_processor.py").exists()
        assert not list(root.rglob("__pycache__"))
    assert not (built["processor"] / "pyarrow" / "tests").exists()


def test_processor_runs_from_its_package_alone(built: dict[str, Path], clean_python: Path) -> None:
    beer = load_beers()[0]
    event = firehose_event(
        [firehose_record("good", beer_bytes(beer)), firehose_record("bad", b"{not json")]
    )
    result = run_handler(
        clean_python, [built["processor"]], "punkml.aws.firehose_processor.handler", event,
        {"PUNKML_TABLE": "malts"},
    )  # fmt: skip
    good, bad = result["records"]
    assert (good["result"], bad["result"]) == ("Ok", "ProcessingFailed")
    rows = [json.loads(line) for line in base64.b64decode(good["data"]).splitlines()]
    assert [row["malt_name"] for row in rows] == [m["name"] for m in beer["ingredients"]["malt"]]


def test_collector_runs_from_its_package_and_the_runtime_sdk(
    built: dict[str, Path],
    clean_python: Path,
    runtime_site: Path,
    aws_env: AwsEnv,
    api_server: str,
) -> None:
    name = make_stream(aws_env)
    env = {
        **aws_env.vars,
        "PUNKML_SOURCE_URL": api_server,
        "PUNKML_STREAM": f"kinesis://{name}",
        "PUNKML_BEERS_PER_RUN": "2",
    }
    result = run_handler(
        clean_python, [built["collector"], runtime_site], "punkml.aws.collector_handler.handler",
        scheduled_event(), env,
    )  # fmt: skip
    assert result["records"] == 2
    kinesis = aws_env.client("kinesis")
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert len(kinesis.get_records(ShardIterator=iterator)["Records"]) == 2
