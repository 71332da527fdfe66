"""``punkml api serve`` as a real subprocess on a loopback port: the answers, the rate limit with
its recovery, SIGTERM shutdown and start-up errors."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from punkml.source.dataset import load_beers

pytestmark = pytest.mark.slow
ApiServer = Any  # tests/conftest.py's ApiServer: .base_url, .port, .stop(), .log()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def beers() -> list[dict[str, Any]]:
    return load_beers()


@pytest.fixture(scope="module")
def http(api_server: str) -> httpx.Client:
    with httpx.Client(base_url=api_server, timeout=10) as client:
        yield client


def test_filters_and_pages_over_a_real_socket(
    http: httpx.Client, beers: list[dict[str, Any]]
) -> None:
    page = http.get("/beers", params={"page": 2, "per_page": 80})
    assert page.status_code == 200
    assert page.json() == beers[80:160]
    strong = http.get("/beers", params={"abv_gt": 10, "per_page": 80}).json()
    assert [b["id"] for b in strong] == [b["id"] for b in beers if b["abv"] > 10]
    dated = http.get("/beers", params={"brewed_before": "01-2009", "malt": "extra_pale"}).json()
    assert [b["id"] for b in dated] == [
        b["id"]
        for b in beers
        if len(b["first_brewed"]) == 7
        and (int(b["first_brewed"][3:]), int(b["first_brewed"][:2])) < (2009, 1)
        and any("extra pale" in m["name"].lower() for m in b["ingredients"]["malt"])
    ]
    assert http.get("/beers", params={"ids": "10|20|30"}).json() == [beers[9], beers[19], beers[29]]
    assert http.get("/beers/325").json() == [beers[324]]
    assert http.get("/beers/random").json()[0] in beers


@pytest.mark.parametrize(
    ("target", "status", "message"),
    [
        ("/beers?abv_gt=strong", 400, "Invalid query params"),
        ("/beers?ibu_gt=-5", 400, "Invalid query params"),
        ("/beers?ebc_lt=", 400, "Invalid query params"),
        ("/beers?per_page=81", 400, "Invalid query params"),
        ("/beers?page=0", 400, "Invalid query params"),
        ("/beers/x1", 400, "Invalid query params"),
        ("/beers/9999", 404, "No beer found that matches the ID 9999"),
        ("/beer", 404, "No endpoint found that matches '/v2/beer'"),
    ],
)
def test_errors_over_a_real_socket(
    http: httpx.Client, target: str, status: int, message: str
) -> None:
    response = http.get(target)
    assert response.status_code == status
    assert response.json()["message"] == message
    assert response.headers["access-control-allow-origin"] == "*"


def test_shared_server_reports_rate_limit_headers(http: httpx.Client) -> None:
    headers = http.get("/beers/1").headers
    assert int(headers["x-ratelimit-limit"]) > int(headers["x-ratelimit-remaining"]) >= 0


def test_openapi_document_is_served(api_server: str) -> None:
    document = httpx.get(api_server.removesuffix("/v2") + "/openapi.json", timeout=10).json()
    assert "/v2/beers/{beerId}" in document["paths"]


def test_rate_limit_then_recovery_in_the_next_window(
    api_server_factory: Callable[..., ApiServer],
) -> None:
    # Long enough that the four requests surely fall in the first window, even on a busy machine.
    server = api_server_factory("--rate-limit", "3", "--rate-window", "4")
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        answers = [client.get("/beers/1") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert answers[3].json()["error"] == "Too Many Requests"
        wait_seconds = int(answers[3].headers["retry-after"])
        assert 1 <= wait_seconds <= 4
        deadline = time.monotonic() + 15
        while (again := client.get("/beers/1")).status_code == 429 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert again.status_code == 200
        assert again.headers["x-ratelimit-remaining"] == "2"


def test_sigterm_stops_gracefully_with_status_0(
    api_server_factory: Callable[..., ApiServer],
) -> None:
    server = api_server_factory()
    assert httpx.get(f"{server.base_url}/beers/1", timeout=10).status_code == 200
    assert server.stop() == 0
    log = server.log()
    assert "Shutting down" in log and "Finished server process" in log
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/beers/1", timeout=2)


def _serve(tmp_path: Path, *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PUNKML_CACHE_DIR": str(cache)}
    env.pop("PUNKML_HOME", None)
    command = [sys.executable, "-m", "punkml", "api", "serve", "--home", str(tmp_path), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_missing_dataset_is_one_clear_error(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--port", str(free_port()), cache=tmp_path / "empty-cache")
    assert done.returncode == 1
    assert "dataset not found" in done.stderr and "punkml data fetch" in done.stderr
    assert "Traceback" not in done.stderr


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Errno" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_port_in_use_is_one_line_with_a_hint(
    api_server_factory: Callable[..., ApiServer], tmp_path: Path
) -> None:
    from punkml.config import cache_dir

    busy = api_server_factory()
    line = _one_line_error(_serve(tmp_path, "--port", str(busy.port), cache=cache_dir()))
    assert f"127.0.0.1:{busy.port}" in line and "address already in use" in line
    assert "--port" in line


def test_an_address_not_on_this_machine_is_one_line_with_a_hint(tmp_path: Path) -> None:
    from punkml.config import cache_dir

    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine; nothing is sent.
    done = _serve(tmp_path, "--host", "192.0.2.1", "--port", str(free_port()), cache=cache_dir())
    line = _one_line_error(done)
    assert "192.0.2.1" in line and "--host 127.0.0.1" in line


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None, reason="needs setpriv to drop root"
)
def test_a_privileged_port_is_one_line_with_a_hint(tmp_path: Path) -> None:
    from punkml.config import cache_dir

    if Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text().strip() == "0":
        pytest.skip("this machine lets every user bind low ports")
    command = [sys.executable, "-m", "punkml", "api", "serve", "--home", str(tmp_path)]
    command += ["--port", "81"]
    if os.geteuid() == 0:  # root may bind port 81: run the server as "nobody"
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        tmp_path.chmod(0o777)
    env = {**os.environ, "PUNKML_CACHE_DIR": str(cache_dir())}
    env.pop("PUNKML_HOME", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    line = _one_line_error(done)
    assert "permission denied" in line and "--port" in line


def test_startup_line_names_the_app_the_docs_and_the_api_and_access_log_is_a_switch(
    api_server_factory: Callable[..., ApiServer],
) -> None:
    quiet = api_server_factory()
    logged = api_server_factory("--access-log")
    for server in (quiet, logged):
        assert httpx.get(f"{server.base_url}/beers/7", timeout=10).status_code == 200
    time.sleep(0.3)  # the access line is written after the answer
    root = quiet.root_url
    assert f"Punk API at {root}/v2 · web app {root}/ · docs {root}/docs" in quiet.log()
    assert "GET /v2/beers/7" not in quiet.log()  # off by default
    assert '"GET /v2/beers/7 HTTP/1.1" 200' in logged.log()
