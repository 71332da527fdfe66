"""Size of the HTML report, the time to write it, and the time a browser takes to open it.

Builds a report for a deployment home (default: a fresh temporary home, where the report falls back
to the pinned dataset and has no model), then opens the file in Debian's headless Chromium with
Playwright and times ``page.goto`` until the load event. Target: the report opens in under 2 s.
With ``--home`` pointing at a deployment that has a promoted model, the first run also refits that
model type on the seed split (cached afterwards), so run it twice to see both costs.

    .venv/bin/python benchmarks/report_open.py [--home DIR] [--runs 3]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

from headless import CHROMIUM, CHROMIUM_ARGS

TARGET_OPEN_SECONDS = 2.0


def write_seconds(home: Path, out: Path) -> float:
    """Seconds to write the report of ``home`` to ``out``."""
    from punkml.config import Settings
    from punkml.report.build import write_report

    started = time.perf_counter()
    write_report(Settings.load(home), out)
    return time.perf_counter() - started


def open_seconds(path: Path, runs: int) -> list[float]:
    """Seconds from navigation to the load event, one fresh page per run."""
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        for _ in range(runs):
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(path.resolve().as_uri(), wait_until="load")
            timings.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="deployment home (default: a fresh one)")
    parser.add_argument("--runs", type=int, default=3, help="browser opens to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="punkml-report-bench-") as scratch:
        home = args.home or Path(scratch) / "home"
        out = Path(scratch) / "report.html"
        written = write_seconds(home, out)
        data = out.read_bytes()
        opens = open_seconds(out, args.runs)
    worst = max(opens)
    print(
        f"report size      {len(data) / 1000:.0f} KB ({len(gzip.compress(data)) / 1000:.0f} KB gzipped)"
    )
    print(f"write            {written:.2f} s")
    print(f"open (load)      median {statistics.median(opens):.3f} s, worst {worst:.3f} s")
    verdict = "meets" if worst < TARGET_OPEN_SECONDS else "MISSES"
    print(f"target           open < {TARGET_OPEN_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
