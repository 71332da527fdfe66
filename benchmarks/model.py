"""IBU model benchmark: training time, batch prediction throughput, POST /v2/ibu latency.

Prints, against the targets (2-core machine):
- train time of the baseline and the recipe model on the 325 dataset beers (the fit and the
  out-of-fold predictions with importances that ``punkml train`` stores), without and with the
  grouped 5x5 CV (target: recipe train + grouped 5x5 CV < 60 s, issue 14);
- batch prediction rows/s on 100,000 recipes (the dataset's recipes repeated with new ids), from
  the cleaned tables (the catalog path) and end to end from beer dicts (target >= 50,000 rows/s);
- ``POST /v2/ibu`` single-recipe latency p50/p99 against a real ``punkml api serve`` on a free
  loopback port, sequential requests (target p99 < 50 ms, issue 14).

    .venv/bin/python benchmarks/model.py [--rows 100000] [--requests 500]
"""

from __future__ import annotations

import argparse
import copy
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_TRAIN_CV_SECONDS = 60.0
TARGET_ROWS_PER_SECOND = 50_000.0
TARGET_P99_MS = 50.0


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds of this process, and the result of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def line(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    verdict = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"{label:<48} {value:>22}   {target}{verdict}", flush=True)


def bench_training(tables: Any) -> None:
    import numpy as np

    from punkml.ml.evaluate import cross_fit, evaluate_cv
    from punkml.ml.models import make_model, training_mask

    for model_type in ("baseline", "recipe"):
        train = tables.take(np.flatnonzero(training_mask(tables, model_type)))

        def fit_and_cross_fit(t: Any = train, m: str = model_type) -> Any:
            return make_model(m).fit(t, t.target()), cross_fit(tables, m)

        wall, cpu, _ = timed(fit_and_cross_fit)
        line(f"train {model_type} + out-of-fold (325 beers)", f"{wall:.2f} s (cpu {cpu:.2f} s)")
        wall_cv, cpu_cv, results = timed(
            lambda m=model_type: evaluate_cv(tables, (m,), grouped=True)
        )
        total = wall + wall_cv
        summary = results[0].summary()
        target = "< 60 s" if model_type == "recipe" else ""
        ok = total < TARGET_TRAIN_CV_SECONDS if model_type == "recipe" else None
        line(
            f"train {model_type} + grouped 5x5 CV",
            f"{total:.2f} s (cpu {cpu + cpu_cv:.2f} s)",
            target,
            ok,
        )
        line(
            f"  {model_type} grouped CV MAE / coverage",
            f"{summary['mae_mean']:.2f}±{summary['mae_sd']:.2f} / {summary['coverage_mean']:.1%}",
        )


def many_recipes(beers: list[dict[str, Any]], rows: int) -> list[dict[str, Any]]:
    recipes = []
    for i in range(rows):
        beer = copy.copy(beers[i % len(beers)])
        beer["id"] = i + 1
        recipes.append(beer)
    return recipes


def bench_batch(model_dir: Path, beers: list[dict[str, Any]], rows: int) -> None:
    from punkml.ml.data import tables_from_beers
    from punkml.ml.predict import LoadedModel, predictions_table

    loaded = LoadedModel.from_dir(model_dir)
    recipes = many_recipes(beers, rows)
    wall_clean, _, tables = timed(lambda: tables_from_beers(recipes))
    wall, _, table = timed(lambda: predictions_table(loaded, tables))
    assert table.num_rows == rows
    rate = rows / wall
    line(
        f"batch predict {rows:,} cleaned recipes",
        f"{rate:,.0f} rows/s ({wall:.2f} s)",
        ">= 50,000 rows/s",
        rate >= TARGET_ROWS_PER_SECOND,
    )
    end_to_end = rows / (wall + wall_clean)
    line("  same, from beer dicts (validate + clean)", f"{end_to_end:,.0f} rows/s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_api(home: Path, beers: list[dict[str, Any]], requests: int) -> None:
    import httpx

    port = free_port()
    from punkml.config import cache_dir

    # The dataset stays where it is cached; the models live in the temporary home.
    env = {**os.environ, "PUNKML_CACHE_DIR": str(cache_dir())}
    env.pop("PUNKML_HOME", None)
    command = [sys.executable, "-m", "punkml", "api", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--rate-limit", "0", "--home", str(home)]
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/v2/ibu"
        with httpx.Client(timeout=30) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.post(url, json=beers[0]).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    log.flush()
                    tail = (home / "server.log").read_text(errors="replace")[-2000:]
                    raise SystemExit(f"the server did not answer:\n{tail}")
                time.sleep(0.1)
            for beer in beers[:50]:  # warm-up
                client.post(url, json=beer)
            latencies = []
            for i in range(requests):
                started = time.perf_counter()
                answer = client.post(url, json=beers[i % len(beers)])
                latencies.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, answer.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        log.close()
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    line(
        f"POST /v2/ibu one recipe ({requests} requests)",
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        f"p99 < {TARGET_P99_MS:.0f} ms",
        p99 < TARGET_P99_MS,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="recipes in the batch")
    parser.add_argument("--requests", type=int, default=500, help="POST /v2/ibu requests")
    args = parser.parse_args()

    from punkml.config import Settings
    from punkml.ml.data import tables_from_beers
    from punkml.ml.registry import promote, save_model
    from punkml.ml.train import fit_model
    from punkml.source.dataset import load_beers

    beers = load_beers()
    tables = tables_from_beers(beers)
    print(f"IBU model benchmark ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    bench_training(tables)
    with tempfile.TemporaryDirectory(prefix="punkml-bench-model-") as workdir:
        home = Path(workdir)
        models_dir = Settings.load(home).models_dir
        model = fit_model(tables, "recipe")
        path = save_model(
            models_dir, model, fingerprint=tables.fingerprint(), metrics={}, card="#\n"
        )
        promote(models_dir, path.name)
        bench_batch(path, beers, args.rows)
        bench_api(home, beers, args.requests)


if __name__ == "__main__":
    main()
