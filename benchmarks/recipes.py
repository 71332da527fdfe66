"""Recipe reading benchmark: what ``read_recipes`` costs before the model sees a recipe.

Prints the median time per call (of ``--repeat`` calls, after one warm-up) to read, complete and
validate: one dataset beer as JSON (a ``POST /v2/ibu`` body), the BeerXML example, the 325 dataset
beers as one JSON list, and 1,000 BeerXML recipes (the API's largest list) in one document.

    .venv/bin/python benchmarks/recipes.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def median_ms(work: Callable[[], object], repeat: int) -> float:
    work()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed calls per case")
    args = parser.parse_args()

    import orjson

    from punkml.ml.recipes import read_recipes
    from punkml.source.dataset import load_beers

    beers = load_beers()
    xml = (EXAMPLES / "my_recipe.beerxml.xml").read_bytes()
    recipe = xml[xml.index(b"<RECIPE>") : xml.index(b"</RECIPES>")]
    cases = {
        "one dataset beer, JSON": orjson.dumps(beers[0]),
        "the BeerXML example": xml,
        "325 dataset beers, one JSON list": orjson.dumps(beers),
        "1,000 BeerXML recipes, one document": b"<RECIPES>" + recipe * 1000 + b"</RECIPES>",
    }
    print(f"recipe reading ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    for label, body in cases.items():
        repeat = args.repeat if len(body) < 100_000 else max(3, args.repeat // 10)
        ms = median_ms(lambda body=body: read_recipes(body), repeat)
        print(f"{label:<40} {len(body):>10,} bytes {ms:>10.2f} ms", flush=True)


if __name__ == "__main__":
    main()
