"""The pinned Punk API dataset: ``punkapi-db@2.6.0`` from the npm registry, verified, cached.

The tarball is obtained with the npm client (``npm pack``), so no registry address appears here,
and its SHA-512 is checked against npm's integrity string before anything is extracted. The
extracted ``data.json`` is written atomically (temporary file + rename) and is then usable offline.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from punkml.atomic import atomic_write
from punkml.config import Settings, cache_dir
from punkml.errors import DatasetError, IntegrityError

PACKAGE = "punkapi-db"
VERSION = "2.6.0"
TARBALL_INTEGRITY = "sha512-axh6wHLmUoQPUDtNRAW3G/CnllAbwc3ZtRhHvkvhXK11iqfVdeOv6tnhGHWxiYCiQtmL2uxjpSrR/HBMfT98Mg=="
# SHA-256 of package/data.json inside that tarball, so a loose data.json can be checked too.
DATA_JSON_SHA256 = "609728c9e7b5c03aeb73e87d6b0932e1e97f2968397cc97292db93c0ca8cc500"
BEER_COUNT = 325
MAX_DATA_BYTES = 32 * 1024 * 1024
NPM_TIMEOUT_SECONDS = 180
GZIP_MAGIC = b"\x1f\x8b"


def dataset_path(cache: Path | None = None) -> Path:
    """Path of the cached ``data.json`` (it may not exist yet)."""
    return (cache or cache_dir()) / f"{PACKAGE}-{VERSION}" / "data.json"


def locate_dataset(settings: Settings) -> Path:
    """The ``data.json`` a deployment uses: its own cache if fetched there, else the shared one.

    So ``--home X`` works with a dataset fetched without ``--home`` (and the other way round);
    when neither exists, the deployment's own path is returned (and named in the error).
    """
    own = dataset_path(settings.cache_dir)
    shared = dataset_path(cache_dir())
    if own.exists() or not shared.exists():
        return own
    return shared


def load_home_beers(settings: Settings) -> list[dict[str, Any]]:
    """The dataset's beers for a deployment (see ``locate_dataset``)."""
    return load_beers(locate_dataset(settings))


def tarball_integrity(data: bytes) -> str:
    """npm's integrity string (``sha512-<base64>``) of some bytes."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def fetch_dataset(
    from_file: Path | None = None, cache: Path | None = None, force: bool = False
) -> Path:
    """Make sure the verified ``data.json`` is in the cache and return its path.

    With ``from_file`` (a ``.tgz`` tarball or a ``data.json``) nothing is downloaded. Without it, a
    cached copy is reused unless ``force`` or it no longer matches its checksum; otherwise the
    tarball is fetched with ``npm pack``.
    """
    target = dataset_path(cache)
    if from_file is None and not force and _is_verified(target):
        return target
    if from_file is not None:
        payload = _data_from_file(Path(from_file))
    else:
        payload = _extract_data_json(_npm_pack())
    _check_beer_list(payload, source=str(from_file or f"{PACKAGE}@{VERSION}"))
    atomic_write(target, payload, durable=True)
    return target


def load_beers(path: Path | None = None) -> list[dict[str, Any]]:
    """The dataset's beers, sorted by id; ``path`` defaults to the cached ``data.json``."""
    source = path or dataset_path()
    if not source.exists():
        raise DatasetError(f"dataset not found at {source}; run `punkml data fetch` first")
    try:
        beers = json.loads(source.read_bytes())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read dataset {source}: {exc}") from exc
    if not isinstance(beers, list):
        raise DatasetError(f"dataset {source} is not a JSON list of beers")
    return sorted(beers, key=lambda beer: beer["id"])


def _is_verified(path: Path) -> bool:
    """Whether ``path`` holds the pinned ``data.json`` (a damaged cache is fetched again)."""
    try:
        if path.stat().st_size > MAX_DATA_BYTES:
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == DATA_JSON_SHA256
    except OSError:
        return False


def _data_from_file(path: Path) -> bytes:
    if not path.exists():
        raise DatasetError(f"--from file not found: {path}")
    if not path.is_file():
        raise DatasetError(f"--from {path} is not a file: give the .tgz tarball or data.json")
    if path.stat().st_size > MAX_DATA_BYTES:
        raise DatasetError(f"--from file {path} is larger than {MAX_DATA_BYTES} bytes")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read --from file {path}: {exc.strerror or exc}") from exc
    if data[:2] == GZIP_MAGIC or path.name.endswith((".tgz", ".tar.gz")):
        return _extract_data_json(data)
    digest = hashlib.sha256(data).hexdigest()
    if digest != DATA_JSON_SHA256:
        raise IntegrityError(
            f"{path} is not the data.json of {PACKAGE}@{VERSION} "
            f"(sha256 {digest}, expected {DATA_JSON_SHA256})"
        )
    return data


def _npm_pack() -> bytes:
    npm = shutil.which("npm")
    if npm is None:
        raise DatasetError(
            "npm was not found on PATH: install Node.js and npm, or pass --from FILE "
            f"with a {PACKAGE}-{VERSION}.tgz or data.json"
        )
    with tempfile.TemporaryDirectory(prefix="punkml-npm-") as workdir:
        try:
            done = subprocess.run(
                [npm, "pack", f"{PACKAGE}@{VERSION}", "--json", "--pack-destination", workdir],
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_SECONDS,
                env={
                    **os.environ,
                    "npm_config_fetch_retries": "1",
                    "npm_config_update_notifier": "false",
                },
            )
        except subprocess.TimeoutExpired as exc:
            raise DatasetError(
                f"npm pack {PACKAGE}@{VERSION} did not finish within {NPM_TIMEOUT_SECONDS} s: "
                "is the npm registry reachable?"
            ) from exc
        if done.returncode != 0:
            cause = _last_error_line(done.stderr) or f"exit code {done.returncode}"
            raise DatasetError(
                f"npm pack {PACKAGE}@{VERSION} failed ({cause}); check that the npm registry is "
                "reachable, or pass --from FILE"
            )
        tarballs = sorted(Path(workdir).glob("*.tgz"))
        if len(tarballs) != 1:
            raise DatasetError(f"npm pack {PACKAGE}@{VERSION} produced no tarball")
        return tarballs[0].read_bytes()


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "ERR" in line and "A complete log" not in line]
    return (errors or lines or [""])[0][:300]


def _extract_data_json(tarball: bytes) -> bytes:
    actual = tarball_integrity(tarball)
    if actual != TARBALL_INTEGRITY:
        raise IntegrityError(
            f"{PACKAGE}@{VERSION} tarball integrity mismatch: got {actual}, "
            f"expected {TARBALL_INTEGRITY}; refusing to use it"
        )
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            member = archive.getmember("package/data.json")
            if not member.isfile() or member.size > MAX_DATA_BYTES:
                raise DatasetError("package/data.json in the tarball is not a regular file")
            handle = archive.extractfile(member)
            if handle is None:
                raise DatasetError("package/data.json could not be read from the tarball")
            return handle.read()
    except (tarfile.TarError, KeyError) as exc:
        raise DatasetError(f"cannot read package/data.json from the tarball: {exc}") from exc


def _check_beer_list(payload: bytes, source: str) -> None:
    try:
        beers = json.loads(payload)
    except ValueError as exc:
        raise DatasetError(f"{source}: data.json is not valid JSON: {exc}") from exc
    if not isinstance(beers, list) or len(beers) != BEER_COUNT:
        raise DatasetError(f"{source}: expected a list of {BEER_COUNT} beers")
