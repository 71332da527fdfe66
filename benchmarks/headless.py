"""How the project's own checks open pages in Debian's headless Chromium (`make browser`): the
web-app tests and the report-opening benchmark launch it with the same binary and flags.

Not part of the package: the benchmarks import it from their folder, the tests through pytest's
``pythonpath`` (pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that would reach the network on its own (updates, sync, QUIC probes).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
