"""Throughput and p99 latency of ``punkml api serve`` under wrk, with the bodies checked.

Starts the server (rate limit disabled) on a free loopback port, checks that each benchmarked URL
answers exactly what the query functions compute directly (no cache involved), then drives each
URL with wrk (Debian package, installed with apt-get when missing) and prints requests/s and p99
latency against the targets (≥ 3,000 requests/s, p99 < 50 ms; cache misses ≥ 10,000
requests/s), with the server's CPU time per request and the load average. Last, unique 8 KB fuzzy queries (``beer_name``, ``hops``, ``malt``, ``yeast``):
the server-side time of each (in-process, parse to body) and the HTTP round trip, target < 5 ms.

    .venv/bin/python benchmarks/api_throughput.py [--duration 10] [--connections 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
import uvloop

from memory_transport import MemoryTransport

URLS = (
    "/v2/beers?page=2&per_page=80",
    "/v2/beers?abv_gt=6&hops=citra",
    "/v2/beers/random",
    "/v2/beers/42",
)
TARGET_REQUESTS_PER_SECOND = 3000.0
TARGET_P99_MS = 50.0
TARGET_MISS_REQUESTS_PER_SECOND = 10_000.0
TARGET_FUZZY_MS = 5.0
FUZZY_PARAMS = ("beer_name", "hops", "malt", "yeast")
FUZZY_QUERY_BYTES = 8 * 1024 - 64  # the query string stays within the 8 KiB bound
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Result:
    url: str
    requests_per_second: float
    p99_ms: float
    errors: str
    completed: int = 0  # requests answered during the run
    unique: int | None = None  # distinct query strings the unique-query script sent
    target: float = TARGET_REQUESTS_PER_SECOND

    @property
    def meets_target(self) -> bool:
        return (
            self.requests_per_second >= self.target
            and self.p99_ms < TARGET_P99_MS
            and not self.errors
        )


def ensure_wrk() -> str:
    """Path of wrk, installing the Debian package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get", flush=True)
    if subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk could not be installed (apt-get install -y wrk)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, home: Path) -> tuple[subprocess.Popen[bytes], float]:
    """Start ``punkml api serve --rate-limit 0`` in the deployment ``home`` (the dataset read from
    where it is cached); return it and its start-up time in seconds."""
    from punkml.config import cache_dir

    env = {**os.environ, "PUNKML_CACHE_DIR": str(cache_dir())}
    env.pop("PUNKML_HOME", None)
    command = [sys.executable, "-m", "punkml", "api", "serve", "--port", str(port)]
    command += ["--home", str(home)]
    started = time.perf_counter()
    process = subprocess.Popen([*command, "--rate-limit", "0"], stderr=subprocess.DEVNULL, env=env)
    while time.perf_counter() - started < 30:
        if process.poll() is not None:
            sys.exit(
                f"the server exited with status {process.returncode} (run: {' '.join(command)})"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, time.perf_counter() - started
        time.sleep(0.01)
    process.kill()
    sys.exit("the server did not start within 30 s")


def expected_body(url: str, beers: list[dict[str, Any]]) -> bytes | None:
    """The body computed directly from the query functions (``None`` for the random route)."""
    from punkml.api.query import parse_beer_query, select_beers

    parts = urlsplit(url)
    if parts.path == "/v2/beers":
        query = parse_beer_query(dict(parse_qsl(parts.query, keep_blank_values=True)))
        return orjson.dumps(select_beers(beers, query))
    if parts.path == "/v2/beers/random":
        return None
    beer_id = int(parts.path.rsplit("/", 1)[1])
    return orjson.dumps([beer for beer in beers if beer["id"] == beer_id])


def check_bodies(base: str, beers: list[dict[str, Any]], samples: int = 5) -> None:
    """Every URL answers 200 with exactly the directly computed body (random: some beer), and
    so do URLs like the cache-miss rows' (``&abv_lt=1000…``, each new)."""
    one_beer = {orjson.dumps([beer]) for beer in beers}
    unique = [f"{url}&abv_lt=1000{random.randrange(10**9)}" for url in URLS[:2] for _ in range(3)]
    with httpx.Client(base_url=base, timeout=10) as client:
        for url in [*URLS, *unique]:
            expected = expected_body(url, beers)
            for _ in range(samples):
                response = client.get(url)
                ok = response.status_code == 200 and (
                    response.content == expected
                    if expected is not None
                    else response.content in one_beer
                )
                if not ok:
                    sys.exit(f"body mismatch on {url} (status {response.status_code})")


# A distinct query string on every request, so none is answered from the cache by query string:
# `&abv_lt=1000<thread><n>` (above every beer's ABV) changes the query without changing which
# beers match. Each wrk thread builds its requests ahead, in `init` (before wrk's clock starts),
# so the client spends its time sending rather than formatting; past the ones built ahead it
# builds more the same way, so they stay distinct. `done` prints how many were used: the
# benchmark checks that every completed request had its own query string.
UNIQUE_QUERY_LUA = """
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
local head, tail
local ready = {}
used = 0
init = function(args)
  local sample = wrk.format(nil, wrk.path .. "&abv_lt=1000" .. tid .. "@")
  local at = sample:find("@", 1, true)
  head, tail = sample:sub(1, at - 1), sample:sub(at + 1)
  for n = 1, tonumber(args[1]) do ready[n] = head .. n .. tail end
end
request = function()
  used = used + 1
  return ready[used] or head .. used .. tail
end
done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("used") end
  io.write("unique requests: " .. total .. "\\n")
end
"""
AHEAD_PER_THREAD_SECOND = 15_000  # requests built ahead per wrk thread and second of load


def run_wrk(
    wrk: str,
    url: str,
    duration: int,
    connections: int,
    threads: int,
    script: Path | None = None,
    script_args: tuple[str, ...] = (),
) -> Result:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    command += ["-s", str(script), url, "--", *script_args] if script else [url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, flags=re.MULTILINE)
    done = re.search(r"(\d+) requests in", output)
    if rate is None or p99 is None or done is None:
        sys.exit(f"could not read wrk's output:\n{output}")
    errors = "; ".join(
        line.strip() for line in output.splitlines() if "Non-2xx" in line or "Socket errors" in line
    )
    unique = re.search(r"^unique requests: (\d+)$", output, flags=re.MULTILINE)
    return Result(
        url,
        float(rate.group(1)),
        float(p99.group(1)) * _UNITS_MS[p99.group(2)],
        errors,
        int(done.group(1)),
        int(unique.group(1)) if unique else None,
    )


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def miss_cpu_rows(beers: list[dict[str, Any]], count: int = 5000) -> None:
    """The application's CPU time per cache miss, in-process (what wrk's miss rows pay on top of
    HTTP; unlike requests/s, not moved by other jobs sharing the machine). Each row checks that
    every one of its queries missed the cache it is meant to miss."""
    from punkml.api.store import BeerStore, ResponseCache

    store = BeerStore(beers)
    rng = random.Random(80)
    rows: list[tuple[str, list[bytes], ResponseCache[Any]]] = [
        (
            url,
            [urlsplit(url).query.encode() + b"&abv_lt=1000%d" % i for i in range(count)],
            store.by_query,
        )
        for url in URLS[:2]
    ]
    # Both caches defeated: 80 random ids select a new set of beers, so a new page, every time.
    random_ids = [
        b"per_page=80&ids=" + b"|".join(b"%d" % i for i in rng.sample(range(1, 326), 80))
        for _ in range(count)
    ]
    rows.append(("/v2/beers?per_page=80&ids=<80 random>", random_ids, store.by_selection))
    print("\ncache misses, application CPU per request (in-process, no HTTP):")
    for label, queries, cache in rows:
        missed = cache.misses
        started = time.thread_time()
        for query in queries:
            store.beers_answer(query)
        micros = (time.thread_time() - started) / count * 1e6
        if cache.misses - missed != count:
            sys.exit(f"{label}: some of the {count} unique queries were answered from the cache")
        both = "  (both caches missed)" if cache is store.by_selection else ""
        print(f"{label:<34} {micros:>8.1f} µs{both}")


async def _protocol_cpu(
    beers: list[dict[str, Any]], target: str, count: int, direct: bool
) -> float:
    """CPU µs per request through uvicorn's protocol and the application, one kept-alive
    connection, no socket: ``direct`` or the ASGI path. ``{n}`` in ``target`` is numbered."""
    import uvicorn
    from uvicorn.server import ServerState

    from punkml.api.app import create_app
    from punkml.api.limits import ConnectionLimits
    from punkml.api.protocol import guarded_protocol

    app = create_app(beers, rate_limit=0)
    config = uvicorn.Config(app, proxy_headers=False, log_config=None, access_log=False)
    config.load()
    protocol_class = guarded_protocol(ConnectionLimits(), direct=app if direct else None)
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = MemoryTransport(keep=False)
    protocol.connection_made(transport)
    requests = [
        f"GET {target.format(n=n)} HTTP/1.1\r\nhost: t\r\n\r\n".encode() for n in range(count)
    ]
    started = time.thread_time()
    for request in requests:
        protocol.data_received(request)
        while protocol.cycle is not None and not protocol.cycle.response_complete:
            await asyncio.sleep(0)
        await asyncio.sleep(0)  # one turn of the loop per request on both paths
    micros = (time.thread_time() - started) / count * 1e6
    protocol.connection_lost(None)
    if transport.sent_bytes < count * 100:
        sys.exit(f"{target}: the protocol did not answer every request")
    return micros


def protocol_cpu_rows(beers: list[dict[str, Any]], count: int = 5000) -> None:
    """The server's CPU per request for HTTP and application together, in-process (uvicorn's
    protocol on uvloop, over a transport that drops the bytes: no sockets, no kernel, no
    client), through uvicorn's ASGI cycle and on the direct path."""
    print("\nserver CPU per request, HTTP included (in-process, no sockets):")
    print(f"{'URL':<46} {'ASGI path':>10} {'direct path':>12}")
    for url in URLS[:2]:
        for label, target in ((url, url), (url + "&abv_lt=1000…", url + "&abv_lt=1000{n}")):
            through_asgi = uvloop.run(_protocol_cpu(beers, target, count, direct=False))
            direct = uvloop.run(_protocol_cpu(beers, target, count, direct=True))
            print(f"{label:<46} {through_asgi:>7.1f} µs {direct:>9.1f} µs")


def unique_fuzzy_queries(param: str, count: int, seed: int = 8) -> list[bytes]:
    """``count`` distinct query strings ``param=<~8 KB of letters>`` (never in any cache)."""
    rng = random.Random(seed)
    letters = string.ascii_lowercase + "_"
    size = FUZZY_QUERY_BYTES - len(param) - 1
    return [f"{param}={''.join(rng.choices(letters, k=size))}".encode() for _ in range(count)]


def _ms(samples: list[float], quantile: float) -> float:
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def fuzzy_rows(base: str, beers: list[dict[str, Any]], count: int = 300) -> None:
    """Unique 8 KB fuzzy queries: the server's CPU time per query measured in-process (parse,
    validate, filter, join; immune to other jobs on the machine), then the HTTP round trip."""
    from punkml.api.store import BeerStore

    store = BeerStore(beers)
    print(f"\nunique ~8 KB fuzzy queries ({count} per parameter), target < {TARGET_FUZZY_MS} ms:")
    print(f"{'parameter':<10} {'CPU p50/p99/max ms':>26} {'HTTP p50/p99/max ms':>22}")
    with httpx.Client(base_url=base, timeout=10) as client:
        for param in FUZZY_PARAMS:
            local, remote = [], []
            queries = unique_fuzzy_queries(param, 2 * count)
            for query in queries[:count]:
                started = time.thread_time()
                store.beers_answer(query)
                local.append(time.thread_time() - started)
            for query in queries[count:]:
                started = time.perf_counter()
                response = client.get("/v2/beers?" + query.decode())
                remote.append(time.perf_counter() - started)
                if response.status_code != 200:
                    sys.exit(f"{param}: status {response.status_code} for an 8 KB query")
            met = max(local) * 1000 < TARGET_FUZZY_MS
            print(
                f"{param:<10} {_ms(local, 0.5):>8.3f} /{_ms(local, 0.99):>7.3f} /{max(local) * 1000:>7.3f}"
                f" {_ms(remote, 0.5):>7.2f} /{_ms(remote, 0.99):>6.2f} /{max(remote) * 1000:>6.2f}"
                f"  {'met' if met else 'MISSED'}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per URL")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    from punkml.source.dataset import load_beers

    wrk = ensure_wrk()
    beers = load_beers()
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="punkml-bench-api-"))
    process, startup_seconds = start_server(port, home)
    base = f"http://127.0.0.1:{port}"
    try:
        check_bodies(base, beers)
        print(f"load average at the start: {os.getloadavg()[0]:.2f} (1 min)")
        print(f"server start-up: {startup_seconds:.2f} s (1 uvicorn worker, rate limit off)")
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s per URL")
        print("server µs: the server process's CPU time per answered request\n")
        print(f"{'URL':<34} {'requests/s':>11} {'p99 ms':>8} {'server µs':>10}  target")
        results = []
        for url in URLS:
            before = server_cpu_seconds(process.pid)
            result = run_wrk(wrk, base + url, args.duration, args.connections, args.threads)
            micros = (server_cpu_seconds(process.pid) - before) / max(result.completed, 1) * 1e6
            results.append(result)
            verdict = "met" if result.meets_target else "MISSED"
            extra = f"  ({result.errors})" if result.errors else ""
            print(
                f"{url:<34} {result.requests_per_second:>11,.0f} {result.p99_ms:>8.2f}"
                f" {micros:>10.1f}  {verdict}{extra}"
            )
        print("\ncache misses (a new query string per request):")
        ahead = str(AHEAD_PER_THREAD_SECOND * args.duration)
        with tempfile.TemporaryDirectory() as workdir:
            script = Path(workdir) / "unique.lua"
            script.write_text(UNIQUE_QUERY_LUA)
            for url in URLS[:2]:
                before = server_cpu_seconds(process.pid)
                miss = run_wrk(
                    wrk, base + url, args.duration, args.connections, args.threads, script, (ahead,)
                )
                micros = (server_cpu_seconds(process.pid) - before) / max(miss.completed, 1) * 1e6
                if miss.unique is None or miss.unique < miss.completed:
                    sys.exit(f"{url}: {miss.completed} requests, only {miss.unique} unique queries")
                miss = dataclasses.replace(miss, target=TARGET_MISS_REQUESTS_PER_SECOND)
                results.append(miss)
                extra = f"  ({miss.errors})" if miss.errors else ""
                print(
                    f"{url:<34} {miss.requests_per_second:>11,.0f} {miss.p99_ms:>8.2f}"
                    f" {micros:>10.1f}  {'met' if miss.meets_target else 'MISSED'}"
                    f" (≥ {TARGET_MISS_REQUESTS_PER_SECOND:,.0f}/s){extra}"
                )
            print(f"every request had its own query string ({miss.completed:,} in the last row)")
        check_bodies(base, beers)  # still identical after the load (caches warm)
        print("bodies identical to the direct computation: yes")
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min)")
        miss_cpu_rows(beers)
        protocol_cpu_rows(beers)
        fuzzy_rows(base, beers)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        shutil.rmtree(home, ignore_errors=True)
    if args.strict and not all(r.meets_target for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
