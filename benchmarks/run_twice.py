"""``punkml run`` twice on a fresh home: wall times, records and model versions after each.

    .venv/bin/python benchmarks/run_twice.py

The second run should reuse everything (docs/pipeline.md, "punkml run, again"); figures are
recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from punkml.config import cache_dir


def punkml(home: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "punkml", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        check=True,
        # The shared dataset cache, so the fresh home needs no download.
        env={**os.environ, "PUNKML_PROGRESS": "off", "PUNKML_CACHE_DIR": str(cache_dir())},
    )
    return done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        for label in ("first", "second"):
            started = time.perf_counter()
            punkml(home, "run")
            seconds = time.perf_counter() - started
            records = json.loads(
                punkml(home, "sql", "SELECT count(*) AS n FROM raw_beers", "--format", "json")
            )["n"]
            versions = [p.name for p in (home / "models").iterdir() if p.is_dir()]
            print(
                f"{label:<7} run: {seconds:7.1f} s, {records} raw records, {len(versions)} models"
            )


if __name__ == "__main__":
    main()
