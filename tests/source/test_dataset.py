"""The pinned dataset: verified fetch from a tarball or data.json, npm failures, offline reuse,
and the atomic write, each against temporary caches (the real cache is never touched)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import pytest

from punkml.errors import DatasetError, IntegrityError
from punkml.source import dataset
from punkml.source.dataset import (
    BEER_COUNT,
    DATA_JSON_SHA256,
    dataset_path,
    fetch_dataset,
    load_beers,
)
from subprocess_cli import run_punkml


@pytest.fixture(scope="session")
def data_json(punkapi_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tarball's ``package/data.json``, extracted here with tarfile (not by the code tested)."""
    with tarfile.open(punkapi_tarball, "r:gz") as archive:
        handle = archive.extractfile("package/data.json")
        assert handle is not None
        payload = handle.read()
    path = tmp_path_factory.mktemp("loose") / "data.json"
    path.write_bytes(payload)
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def fake_npm(tmp_path: Path) -> tuple[Path, Path]:
    """A directory holding only a fake ``npm`` that records each call and fails; its log file."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    calls = tmp_path / "npm-calls.log"
    npm = bin_dir / "npm"
    npm.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "npm error code E500" >&2\nexit 1\n')
    npm.chmod(0o755)
    return bin_dir, calls


def files_under(root: Path) -> list[str]:
    """Every file below ``root`` (hidden temporary files included), relative, sorted."""
    if not root.exists():
        return []
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def base_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUNKML_", "npm_config_"))}
    env["PUNKML_CACHE_DIR"] = str(cache)
    return env


# -- verified fetch ------------------------------------------------------------------------------


def test_fetch_from_the_tarball(punkapi_tarball: Path, cache: Path) -> None:
    path = fetch_dataset(from_file=punkapi_tarball, cache=cache)
    assert path == dataset_path(cache)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DATA_JSON_SHA256
    beers = load_beers(path)
    assert len(beers) == BEER_COUNT
    assert [beer["id"] for beer in beers] == list(range(1, BEER_COUNT + 1))
    assert files_under(cache) == ["punkapi-db-2.6.0/data.json"]  # no temporary file left


def test_a_tampered_tarball_is_refused_and_nothing_is_written(
    punkapi_tarball: Path, cache: Path, tmp_path: Path
) -> None:
    tampered = bytearray(punkapi_tarball.read_bytes())
    tampered[len(tampered) // 2] ^= 0xFF
    bad = tmp_path / "punkapi-db-2.6.0.tgz"
    bad.write_bytes(bytes(tampered))
    with pytest.raises(IntegrityError, match="integrity mismatch") as caught:
        fetch_dataset(from_file=bad, cache=cache)
    assert "sha512-" in str(caught.value)
    assert files_under(cache) == []


def test_a_repacked_tarball_with_other_data_is_refused(
    data_json: Path, cache: Path, tmp_path: Path
) -> None:
    beers = json.loads(data_json.read_bytes())
    beers[0]["ibu"] = 1
    payload = json.dumps(beers).encode()
    repacked = tmp_path / "punkapi-db-2.6.0.tgz"
    with tarfile.open(repacked, "w:gz") as archive:
        member = tarfile.TarInfo("package/data.json")
        member.size = len(payload)
        archive.addfile(member, io.BytesIO(payload))
    with pytest.raises(IntegrityError):
        fetch_dataset(from_file=repacked, cache=cache)
    assert files_under(cache) == []


def test_fetch_from_a_verified_data_json(data_json: Path, cache: Path) -> None:
    path = fetch_dataset(from_file=data_json, cache=cache)
    assert path.read_bytes() == data_json.read_bytes()
    assert files_under(cache) == ["punkapi-db-2.6.0/data.json"]


def test_an_edited_data_json_is_refused(data_json: Path, cache: Path, tmp_path: Path) -> None:
    edited = tmp_path / "data.json"
    edited.write_bytes(data_json.read_bytes().replace(b'"Buzz"', b'"Fizz"', 1))
    with pytest.raises(IntegrityError, match="sha256"):
        fetch_dataset(from_file=edited, cache=cache)
    assert files_under(cache) == []


def test_a_missing_from_file_is_a_clear_error(cache: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--from file not found"):
        fetch_dataset(from_file=tmp_path / "nowhere.tgz", cache=cache)


def test_a_tarball_is_recognised_by_its_content(
    punkapi_tarball: Path, cache: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "download.bin"
    renamed.write_bytes(punkapi_tarball.read_bytes())
    path = fetch_dataset(from_file=renamed, cache=cache)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DATA_JSON_SHA256


def test_a_directory_as_from_file_is_a_clear_error(cache: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is not a file"):
        fetch_dataset(from_file=tmp_path, cache=cache)


def test_a_failed_refetch_keeps_the_good_copy(
    punkapi_tarball: Path, cache: Path, tmp_path: Path
) -> None:
    good = fetch_dataset(from_file=punkapi_tarball, cache=cache).read_bytes()
    bad = tmp_path / "data.json"
    bad.write_bytes(b"[]")
    with pytest.raises(IntegrityError):
        fetch_dataset(from_file=bad, cache=cache, force=True)
    assert dataset_path(cache).read_bytes() == good
    assert files_under(cache) == ["punkapi-db-2.6.0/data.json"]


# -- npm -----------------------------------------------------------------------------------------


def test_npm_missing_is_a_clear_error(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(DatasetError, match="npm was not found on PATH") as caught:
        fetch_dataset(cache=cache)
    assert "--from FILE" in str(caught.value)
    assert files_under(cache) == []


def test_npm_failing_is_a_clear_error(
    cache: Path, fake_npm: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, calls = fake_npm
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(DatasetError, match=r"npm pack punkapi-db@2\.6\.0 failed \(npm error code"):
        fetch_dataset(cache=cache)
    assert "pack punkapi-db@2.6.0" in calls.read_text()
    assert files_under(cache) == []


@pytest.mark.slow
def test_unreachable_registry_exits_non_zero_with_one_line(cache: Path, tmp_path: Path) -> None:
    npm_cache = tmp_path / "empty-npm-cache"
    npm_cache.mkdir()
    env = base_env(cache) | {
        "npm_config_registry": "http://127.0.0.1:9/",
        "npm_config_cache": str(npm_cache),
        # fail fast instead of npm's default ten-second back-off between attempts
        "npm_config_fetch_retry_mintimeout": "50",
        "npm_config_fetch_retry_maxtimeout": "100",
    }
    done = run_punkml("data", "fetch", env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "npm pack punkapi-db@2.6.0 failed" in lines[0]
    assert "ECONNREFUSED" in lines[0] and "registry" in lines[0]
    assert files_under(cache) == []


# -- offline reuse -------------------------------------------------------------------------------


def test_cached_dataset_is_reused_without_npm(
    punkapi_tarball: Path,
    cache: Path,
    fake_npm: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = fetch_dataset(from_file=punkapi_tarball, cache=cache)
    bin_dir, calls = fake_npm
    monkeypatch.setenv("PATH", str(bin_dir))
    assert fetch_dataset(cache=cache) == path
    assert not calls.exists()  # npm was never called
    with pytest.raises(DatasetError):
        fetch_dataset(cache=cache, force=True)  # --force does go to npm (which fails here)
    assert calls.exists()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DATA_JSON_SHA256


@pytest.mark.slow
def test_cli_fetch_works_offline_once_cached(
    punkapi_tarball: Path, cache: Path, tmp_path: Path, fake_npm: tuple[Path, Path]
) -> None:
    env = base_env(cache)
    done = run_punkml("data", "fetch", "--from", str(punkapi_tarball), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "325 beers verified" in done.stdout
    bin_dir, calls = fake_npm
    done = run_punkml("data", "fetch", env=env | {"PATH": str(bin_dir)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert str(dataset_path(cache)) in done.stdout
    assert not calls.exists()


def test_a_damaged_cache_is_fetched_again(
    punkapi_tarball: Path,
    cache: Path,
    fake_npm: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = fetch_dataset(from_file=punkapi_tarball, cache=cache)
    path.write_bytes(path.read_bytes()[:1000])  # e.g. a disk fault or a hand edit
    bin_dir, calls = fake_npm
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(DatasetError, match="npm pack"):
        fetch_dataset(cache=cache)
    assert calls.exists()  # not reused: npm was asked for a good copy
    assert fetch_dataset(from_file=punkapi_tarball, cache=cache) == path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DATA_JSON_SHA256


# -- atomic write --------------------------------------------------------------------------------


def test_a_failed_write_leaves_no_file(
    punkapi_tarball: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dataset.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        fetch_dataset(from_file=punkapi_tarball, cache=cache)
    assert files_under(cache) == []  # neither the target nor the temporary file


_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from punkml.source import dataset

    def stalled_fsync(fd):
        Path(sys.argv[3]).write_text(str(os.fstat(fd).st_size))
        time.sleep(120)

    dataset.os.fsync = stalled_fsync
    dataset.fetch_dataset(from_file=Path(sys.argv[1]), cache=Path(sys.argv[2]))
    """
)


@pytest.mark.slow
def test_a_writer_killed_mid_write_never_exposes_a_partial_file(
    punkapi_tarball: Path, data_json: Path, cache: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "written"
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(punkapi_tarball), str(cache), str(marker)]
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the writer never reached fsync"
        assert int(marker.read_text()) == data_json.stat().st_size  # all bytes in the temp file
        assert not dataset_path(cache).exists()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert not dataset_path(cache).exists()  # the target never appeared, not even partly
    path = fetch_dataset(from_file=punkapi_tarball, cache=cache)  # a new fetch recovers
    assert path.read_bytes() == data_json.read_bytes()
