"""Running the real ``punkml`` command line in a subprocess, for the tests that need a fresh
interpreter (start-up imports, exit statuses, what a user's shell sees)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_punkml(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``python -m punkml ARGS``, its output captured as text; never raises on its exit status."""
    return subprocess.run(
        [sys.executable, "-m", "punkml", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
