"""The collector against a real HTTP server on loopback whose page holds one malformed beer: the
beer goes on the stream as received, the rest of the page goes on, and the count is reported."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from punkml.config import Settings
from punkml.errors import SourceResponseError
from punkml.pipeline.catalog import Catalog
from punkml.pipeline.cli import EXIT_INVALID_BEERS
from punkml.pipeline.collector import collect_all
from punkml.pipeline.stream import SqliteStream
from punkml.source import PunkClient

pytestmark = pytest.mark.slow


@pytest.fixture
def served(beers: list[dict[str, Any]]) -> list[Any]:
    """Three beers on one page, the second with a negative hop amount (out of its range)."""
    page = copy.deepcopy(beers[:3])
    page[1]["ingredients"]["hops"][0]["amount"]["value"] = -20.0
    return page


@pytest.fixture
def source(served: list[Any]) -> Iterator[str]:
    """A Punk API v2 base URL on loopback serving ``served`` (one page) and, as the random beer,
    the malformed one."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            page = int(parse_qs(url.query).get("page", ["1"])[0])
            if url.path == "/v2/beers/random":
                body = [served[1]]
            elif url.path == "/v2/beers":
                body = served if page == 1 else []
            else:
                self.send_error(404)
                return
            data = orjson.dumps(body)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v2"
    server.shutdown()
    server.server_close()


def test_the_malformed_beer_is_put_as_received_and_reported(
    source: str, served: list[Any], settings: Settings
) -> None:
    invalid: list[str] = []
    with PunkClient(source) as client, SqliteStream(settings.stream_path) as stream:
        assert collect_all(client, stream, on_invalid=invalid.append) == 3
        records = stream.read(0, 10)
    assert [orjson.loads(record.data) for record in records] == served
    assert len(invalid) == 1
    assert f"beer {served[1]['id']}" in invalid[0]
    assert "ingredients.hops.0.amount.value" in invalid[0]


def test_without_a_handler_the_client_still_refuses_a_malformed_beer(source: str) -> None:
    with PunkClient(source) as client, pytest.raises(SourceResponseError, match=r"amount\.value"):
        list(client.iter_beers())


def test_backfill_and_once_go_on_and_say_how_many_were_bad(
    source: str, served: list[Any], settings: Settings, punkml: Callable[..., Any]
) -> None:
    backfill = punkml("ingest", "backfill", "--source", source, check=False)
    assert backfill.returncode == EXIT_INVALID_BEERS, backfill.stderr
    assert "put 3 beers on the stream" in backfill.stdout
    assert "1 of them failed the schema" in backfill.stderr
    once = punkml("ingest", "once", "--source", source, check=False)
    assert once.returncode == EXIT_INVALID_BEERS and "put 1 beer" in once.stdout

    punkml("deliver", "--until-idle")
    with Catalog(settings) as catalog:
        raw = catalog.query("SELECT payload FROM raw_beers ORDER BY seq").to_pylist()
        beers = catalog.query("SELECT id FROM beers ORDER BY seq").to_pylist()
        dead = catalog.query("SELECT seq, error FROM dead_letters ORDER BY seq").to_pylist()
    assert [json.loads(row["payload"]) for row in raw] == [*served, served[1]]
    assert [row["id"] for row in beers] == [served[0]["id"], served[2]["id"]]
    assert [row["seq"] for row in dead] == [2, 4]
    assert all("ingredients.hops.0.amount.value" in row["error"] for row in dead)

    status = json.loads(punkml("status", "--format", "json").stdout)
    collector = status["collector"]
    assert (collector["invalid_total"], collector["last_invalid"]) == (2, 1)
    assert collector["records_put_total"] == 4 and collector["consecutive_errors"] == 0
    assert "2 beers failed the schema" in punkml("status").stdout
