"""Build the Lambda packages: ``punkml aws package --out build/lambda``.

Each zip holds the ``punkml`` source tree plus exactly the dependencies pinned in
``lambda/requirements-<package>.txt`` (installed with ``--no-deps``, so nothing undeclared slips
in), built for the Lambda runtime's Python version and architecture from binary wheels only. boto3
is left out: the runtime provides it. pyarrow is trimmed of components the processor never loads.
Zips are reproducible (sorted entries, fixed time stamps), so Terraform's ``source_code_hash``
changes only when the code or a pin does.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import punkml
from punkml.atomic import atomic_path

PACKAGES = ("collector", "processor")
REPO_ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS_DIR = REPO_ROOT / "lambda"
DEFAULT_PYTHON_VERSION = "3.12"
DEFAULT_ARCHITECTURE = "arm64"
PLATFORM_TAGS = {
    "arm64": ("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"),
    "x86_64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Parts of installed distributions no handler loads: tests, C/C++ and Cython sources, and the
# pyarrow extensions for Flight, cloud and Hadoop filesystems, ORC and Substrait (their shared
# libraries are not needed by pyarrow.lib). Paths are relative to the package root.
TRIM_PATTERNS = (
    "*/__pycache__/*",
    "bin/*",
    "pyarrow/tests/*",
    "pyarrow/include/*",
    "pyarrow/src/*",
    "pyarrow/*.pyx",
    "pyarrow/*.pxd",
    "pyarrow/*.pxi",
    "pyarrow/*.h",
    "pyarrow/*.cc",
    "pyarrow/_flight*",
    "pyarrow/libarrow_flight.so*",
    "pyarrow/libarrow_python_flight.so*",
    "pyarrow/_s3fs*",
    "pyarrow/libarrow_s3.so*",
    "pyarrow/_gcsfs*",
    "pyarrow/_azurefs*",
    "pyarrow/_hdfs*",
    "pyarrow/_orc*",
    "pyarrow/_dataset_orc*",
    "pyarrow/_substrait*",
    "pyarrow/_pyarrow_cpp_tests*",
    "pyarrow/libarrow_python.so",
    "pyarrow/libarrow_python.so.*.*.*",
    "pyarrow/libarrow_python_parquet_encryption.so",
    "pyarrow/libarrow_python_parquet_encryption.so.*.*.*",
)


def requirements_file(package: str) -> Path:
    """``lambda/requirements-<package>.txt``."""
    return REQUIREMENTS_DIR / f"requirements-{package}.txt"


def pip_install_command(
    package: str, target: Path, *, python_version: str | None, architecture: str | None
) -> list[str]:
    """The pip command installing a package's pinned dependencies (no others) into ``target``."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--only-binary=:all:", "--no-compile", "--target", str(target),
        "-r", str(requirements_file(package)),
    ]  # fmt: skip
    if architecture is not None:
        for tag in PLATFORM_TAGS[architecture]:
            command += ["--platform", tag]
        command += ["--implementation", "cp", "--python-version", python_version or "3.12"]
    return command


def trimmed(relative: str) -> bool:
    """True if an installed file is left out of the package."""
    return any(fnmatch.fnmatch(relative, pattern) for pattern in TRIM_PATTERNS)


def copy_source(staging: Path) -> None:
    """Copy the ``punkml`` package (Python files and package data, no caches) into ``staging``."""
    source = Path(punkml.__file__).resolve().parent
    shutil.copytree(
        source, staging / "punkml", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )


def write_zip(staging: Path, out: Path) -> int:
    """Zip ``staging`` reproducibly into ``out`` (trimmed files left out); return the entry count."""
    files = sorted(
        path
        for path in staging.rglob("*")
        if path.is_file() and not trimmed(path.relative_to(staging).as_posix())
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        atomic_path(out) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive,
    ):
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), date_time=ZIP_TIME)
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return len(files)


def build_package(
    package: str,
    out_dir: Path,
    *,
    python_version: str | None = DEFAULT_PYTHON_VERSION,
    architecture: str | None = DEFAULT_ARCHITECTURE,
) -> Path:
    """Build ``<out_dir>/<package>.zip``; ``architecture=None`` builds for this interpreter."""
    if package not in PACKAGES:
        raise ValueError(f"unknown Lambda package {package!r}; use one of {PACKAGES}")
    with tempfile.TemporaryDirectory(prefix=f"punkml-{package}-") as tmp:
        staging = Path(tmp)
        command = pip_install_command(
            package, staging, python_version=python_version, architecture=architecture
        )
        subprocess.run(command, check=True)
        copy_source(staging)
        out = out_dir / f"{package}.zip"
        write_zip(staging, out)
    return out
