"""PunkClient against real HTTP servers: a scripted fault-injecting one, and the real API server."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from punkml.errors import (
    ConfigError,
    SourceConnectionError,
    SourceResponseError,
    SourceStatusError,
)
from punkml.source import PunkClient

MakeClient = Callable[..., PunkClient]


@pytest.fixture
def sleeps() -> list[float]:
    """Every sleep the client asked for, in seconds (nothing really sleeps)."""
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Iterator[MakeClient]:
    """Clients that record their sleeps, draw the top of every jitter range, and time out fast."""
    clients: list[PunkClient] = []

    def make(url: str, **options: Any) -> PunkClient:
        settings: dict[str, Any] = {
            "timeout": 2.0,
            "connect_timeout": 1.0,
            "max_retries": 3,
            "backoff_base_seconds": 0.5,
            "sleep": sleeps.append,
            "random": lambda: 1.0,
        }
        client = PunkClient(url, **{**settings, **options})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# -- answers as received -------------------------------------------------------------------------


def test_get_beer_returns_the_body_as_received(fault_server: Any, make_client: MakeClient) -> None:
    fault_server.beers[1]["not_in_the_schema"] = {"kept": True}
    beer = make_client(fault_server.url).get_beer(2)
    assert beer == fault_server.beers[1]
    assert beer["not_in_the_schema"] == {"kept": True}  # the parsed dict, not a re-serialized model
    assert fault_server.requests == ["/v2/beers/2"]


def test_get_random_beer(fault_server: Any, make_client: MakeClient) -> None:
    client = make_client(fault_server.url + "/")  # a trailing slash is fine
    assert client.get_random_beer() == fault_server.beers[0]
    assert fault_server.requests == ["/v2/beers/random"]
    assert client.stats.as_dict() == {
        "requests": 1,
        "retries": 0,
        "errors": 0,
        "rate_limit_waits": 0,
        "slept_seconds": 0.0,
    }


def test_context_manager_closes_the_client(fault_server: Any) -> None:
    with PunkClient(fault_server.url) as client:
        assert client.get_beer(1)["id"] == 1
    with pytest.raises(RuntimeError):
        client.get_beer(1)


# -- retries -------------------------------------------------------------------------------------


def test_server_errors_are_retried_with_exponential_backoff(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(2, status=500, body={"message": "boom"})
    client = make_client(fault_server.url)
    assert client.get_beer(3)["id"] == 3
    assert sleeps == [0.5, 1.0]  # base * 2**n with the jitter drawn at its top
    assert (client.stats.requests, client.stats.retries, client.stats.errors) == (3, 2, 0)
    assert client.stats.slept_seconds == pytest.approx(1.5)


def test_backoff_has_full_jitter(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    draws = iter([0.25, 0.0, 0.75])
    fault_server.push(3, status=503)
    client = make_client(fault_server.url, random=lambda: next(draws), backoff_base_seconds=2.0)
    client.get_beer(1)
    assert sleeps == [0.25 * 2.0, 0.0 * 4.0, 0.75 * 8.0]


def test_backoff_is_capped(fault_server: Any, make_client: MakeClient, sleeps: list[float]) -> None:
    fault_server.push(3, status=502)
    client = make_client(
        fault_server.url,
        backoff_base_seconds=1.0,
        backoff_max_seconds=1.5,
        max_total_sleep_seconds=99,
    )
    client.get_beer(1)
    assert sleeps == [1.0, 1.5, 1.5]


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(
    status: int, fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(status=status, headers={"Retry-After": "7"})
    client = make_client(fault_server.url, max_total_sleep_seconds=30)
    assert client.get_beer(4)["id"] == 4
    assert sleeps == [7.0]
    assert client.stats.retries == 1


def test_fractional_retry_after_is_honoured_exactly_not_rounded(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(status=503, headers={"Retry-After": "2.5"})
    fault_server.push(status=503, headers={"Retry-After": "0.25"})
    client = make_client(fault_server.url, max_total_sleep_seconds=2.75)
    assert client.get_beer(3)["id"] == 3
    assert sleeps == [2.5, 0.25]  # the whole budget, to the quarter second
    fault_server.push(status=503, headers={"Retry-After": "2.5"})
    with pytest.raises(
        SourceStatusError, match=r"retry after 2\.5 s, beyond the retry budget of 2\.4 s"
    ):
        make_client(fault_server.url, max_total_sleep_seconds=2.4).get_beer(3)
    assert sleeps == [2.5, 0.25]  # 2.5 s does not fit in 2.4 s: no rounding down to 2 s


def test_retry_after_http_date_is_honoured(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 40, usegmt=True)
    fault_server.push(status=429, headers={"Retry-After": when})
    make_client(fault_server.url, max_total_sleep_seconds=60).get_beer(1)
    assert len(sleeps) == 1
    assert 35 < sleeps[0] <= 41  # the date has a one-second resolution


def test_retry_after_in_the_past_retries_at_once(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    make_client(fault_server.url).get_beer(1)
    assert sleeps == [0.0]


def test_429_without_retry_after_waits_for_the_rate_limit_share(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(
        status=429, headers={"x-ratelimit-limit": "1800", "x-ratelimit-remaining": "0"}
    )
    make_client(fault_server.url).get_beer(1)
    assert sleeps == [2.0]  # one request per 3600 s / 1800


def test_retry_after_beyond_the_budget_gives_up_at_once(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(status=429, headers={"Retry-After": "3600"})
    client = make_client(fault_server.url, max_total_sleep_seconds=60)
    with pytest.raises(SourceStatusError) as caught:
        client.get_beer(1)
    assert caught.value.status_code == 429
    message = str(caught.value)
    assert f"{fault_server.url}/beers/1" in message
    assert "retry after 3600 s" in message
    assert sleeps == []
    assert (client.stats.requests, client.stats.errors) == (1, 1)


def test_server_errors_give_up_after_the_attempt_budget(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(10, status=500)
    client = make_client(fault_server.url, max_retries=2)
    with pytest.raises(SourceStatusError) as caught:
        client.get_beer(5)
    assert caught.value.status_code == 500
    message = str(caught.value)
    assert f"GET {fault_server.url}/beers/5" in message
    assert "HTTP 500" in message and "after 3 attempts" in message
    assert "\n" not in message
    assert len(fault_server.requests) == 3
    assert len(sleeps) == 2
    assert client.stats.as_dict()["requests"] == 3
    assert (client.stats.retries, client.stats.errors) == (2, 1)


def test_total_sleep_budget_bounds_the_backoff(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(10, status=500)
    client = make_client(
        fault_server.url, max_retries=9, backoff_base_seconds=10.0, max_total_sleep_seconds=15.0
    )
    with pytest.raises(SourceStatusError, match="backoff"):
        client.get_beer(1)
    assert sleeps == [10.0, 5.0]  # the second wait is cut to what is left of the budget
    assert client.stats.requests == 3


def test_connection_refused_gives_up_with_connection_error(
    refused_url: str, make_client: MakeClient, sleeps: list[float]
) -> None:
    client = make_client(refused_url, max_retries=2)
    with pytest.raises(SourceConnectionError) as caught:
        client.get_random_beer()
    message = str(caught.value)
    assert f"GET {refused_url}/beers/random" in message
    assert "ConnectError" in message and "after 3 attempts" in message
    assert (client.stats.requests, client.stats.retries, client.stats.errors) == (3, 2, 1)
    assert len(sleeps) == 2


def test_a_hang_past_the_read_timeout_is_retried(
    fault_server: Any, make_client: MakeClient
) -> None:
    fault_server.push(delay_seconds=3.0)
    client = make_client(fault_server.url, timeout=0.3)
    assert client.get_beer(2)["id"] == 2
    assert client.stats.retries == 1


def test_hanging_server_gives_up_naming_the_read_timeout(
    fault_server: Any, make_client: MakeClient
) -> None:
    fault_server.push(2, delay_seconds=3.0)
    client = make_client(fault_server.url, timeout=0.3, max_retries=1)
    with pytest.raises(SourceConnectionError) as caught:
        client.get_beer(2)
    assert f"{fault_server.url}/beers/2" in str(caught.value)
    assert "0.3 s read timeout" in str(caught.value)
    assert client.stats.requests == 2


def test_a_dropped_connection_is_retried(fault_server: Any, make_client: MakeClient) -> None:
    fault_server.push(drop=True)
    client = make_client(fault_server.url)
    assert client.get_beer(6)["id"] == 6
    assert client.stats.retries == 1


def test_a_trickling_body_is_cut_at_the_attempt_deadline(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    # Each 64-byte chunk arrives well within the read timeout; the whole body would take ~8 s.
    fault_server.push(body=[fault_server.beers[0]], trickle_seconds=0.03)
    client = make_client(fault_server.url, timeout=1.0, attempt_deadline_seconds=0.3)
    assert client.get_beer(1)["id"] == 1  # the retry gets the normal, fast answer
    assert client.stats.retries == 1 and len(sleeps) == 1

    fault_server.push(2, body=[fault_server.beers[0]], trickle_seconds=0.03)
    client = make_client(fault_server.url, timeout=1.0, attempt_deadline_seconds=0.3, max_retries=1)
    with pytest.raises(SourceConnectionError, match=r"the answer took longer than 0\.3 s"):
        client.get_beer(1)


# -- errors that are not retried -----------------------------------------------------------------


def test_404_is_not_retried_and_carries_the_server_message(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    client = make_client(fault_server.url)
    with pytest.raises(SourceStatusError) as caught:
        client.get_beer(9999)
    assert caught.value.status_code == 404
    assert str(caught.value) == (
        f"GET {fault_server.url}/beers/9999: HTTP 404 Not Found: "
        "No beer found that matches the ID 9999"
    )
    assert len(fault_server.requests) == 1 and sleeps == []
    assert (client.stats.retries, client.stats.errors) == (0, 1)


def test_400_names_each_bad_parameter(fault_server: Any, make_client: MakeClient) -> None:
    fault_server.push(
        status=400,
        body={
            "statusCode": 400,
            "error": "Bad Request",
            "message": "Invalid query params",
            "data": [
                {
                    "location": "query",
                    "param": "abv_gt",
                    "msg": "Must be a number greater than 0",
                    "value": "x",
                }
            ],
        },
    )
    with pytest.raises(SourceStatusError) as caught:
        list(make_client(fault_server.url).iter_beers())
    assert caught.value.status_code == 400
    assert "Invalid query params (abv_gt: Must be a number greater than 0)" in str(caught.value)
    assert len(fault_server.requests) == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"body": b"<html>Bad gateway</html>"}, "not valid JSON"),
        ({"body": {"id": 1, "name": "not in an array"}}, "expected a JSON array holding one beer"),
        ({"body": []}, "expected a JSON array holding one beer, got an array of 0 items"),
        ({"body": ["a beer?"]}, "expected a beer object, got str"),
        ({"body": None}, "got null"),
    ],
)
def test_garbage_bodies_raise_response_errors(
    reply: dict[str, Any], expected: str, fault_server: Any, make_client: MakeClient
) -> None:
    fault_server.push(**reply)
    client = make_client(fault_server.url)
    with pytest.raises(SourceResponseError) as caught:
        client.get_beer(1)
    assert f"GET {fault_server.url}/beers/1" in str(caught.value)
    assert expected in str(caught.value)
    assert client.stats.requests == 1  # a malformed answer is not retried


def test_a_beer_violating_the_schema_names_the_field(
    fault_server: Any, make_client: MakeClient, beer_factory: Callable[..., dict[str, Any]]
) -> None:
    beer = beer_factory(1)
    beer["ingredients"]["hops"][1]["amount"]["value"] = "lots"
    fault_server.push(body=[beer])
    with pytest.raises(SourceResponseError) as caught:
        make_client(fault_server.url).get_random_beer()
    assert "/beers/random" in str(caught.value)
    assert "ingredients.hops.1.amount.value" in str(caught.value)


def test_get_beer_refuses_another_beer(fault_server: Any, make_client: MakeClient) -> None:
    fault_server.push(body=[fault_server.beers[0]])
    with pytest.raises(SourceResponseError, match="asked for beer 3, got 1"):
        make_client(fault_server.url).get_beer(3)


def test_a_body_that_cannot_be_decoded_is_a_response_error(
    fault_server: Any, make_client: MakeClient
) -> None:
    fault_server.push(body=b"this is not gzip", headers={"Content-Encoding": "gzip"})
    client = make_client(fault_server.url)
    with pytest.raises(SourceResponseError, match="could not be decoded"):
        client.get_beer(1)
    assert client.stats.requests == 1


@pytest.mark.parametrize("declare_length", [True, False])
def test_bodies_above_the_limit_are_refused(
    declare_length: bool, fault_server: Any, make_client: MakeClient
) -> None:
    fault_server.push(body=b"[" + b" " * 5000 + b"]", declare_length=declare_length)
    with pytest.raises(SourceResponseError, match="larger than the 1000 bytes allowed"):
        make_client(fault_server.url, max_body_bytes=1000).get_beer(1)


# -- rate-limit headers --------------------------------------------------------------------------


def test_no_remaining_requests_pauses_before_the_next_one(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(
        body=[fault_server.beers[0]],
        headers={"x-ratelimit-limit": "3600", "x-ratelimit-remaining": "0"},
    )
    client = make_client(fault_server.url)
    client.get_beer(1)
    assert sleeps == []
    client.get_beer(2)
    assert sleeps == [1.0]  # the window's share of one request: 3600 s / 3600
    assert client.stats.rate_limit_waits == 1
    client.get_beer(3)
    assert sleeps == [1.0]  # the pause is owed once


def test_remaining_requests_do_not_pause(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(
        body=[fault_server.beers[0]],
        headers={"x-ratelimit-limit": "3600", "x-ratelimit-remaining": "5"},
    )
    client = make_client(fault_server.url)
    client.get_beer(1)
    client.get_beer(2)
    assert sleeps == [] and client.stats.rate_limit_waits == 0


def test_a_rate_limit_pause_beyond_the_budget_is_not_taken(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(
        body=[fault_server.beers[0]],
        headers={"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0"},
    )
    fault_server.push(status=429, headers={"Retry-After": "3000"})
    client = make_client(fault_server.url, max_total_sleep_seconds=60)
    client.get_beer(1)
    with pytest.raises(SourceStatusError, match="retry after 3000 s"):
        client.get_beer(2)  # 360 s owed: not slept on a guess; the server's answer decides
    assert sleeps == [] and client.stats.rate_limit_waits == 0


def test_the_rate_limit_window_is_configurable(
    fault_server: Any, make_client: MakeClient, sleeps: list[float]
) -> None:
    fault_server.push(
        body=[fault_server.beers[0]],
        headers={"x-ratelimit-limit": "4", "x-ratelimit-remaining": "0"},
    )
    client = make_client(fault_server.url, rate_limit_window_seconds=10)
    client.get_beer(1)
    client.get_beer(2)
    assert sleeps == [2.5]


# -- pagination ----------------------------------------------------------------------------------


def test_iter_beers_stops_at_the_first_short_page(
    fault_server: Any, make_client: MakeClient
) -> None:
    beers = list(make_client(fault_server.url).iter_beers(per_page=3))
    assert beers == fault_server.beers
    assert [(q["page"], q["per_page"]) for q in fault_server.queries()] == [
        ("1", "3"),
        ("2", "3"),
        ("3", "3"),
    ]


def test_iter_beers_stops_at_an_empty_page(fault_server: Any, make_client: MakeClient) -> None:
    del fault_server.beers[6]  # six beers: two full pages, then an empty one
    beers = list(make_client(fault_server.url).iter_beers(per_page=3))
    assert [beer["id"] for beer in beers] == [1, 2, 3, 4, 5, 6]
    assert [q["page"] for q in fault_server.queries()] == ["1", "2", "3"]


def test_iter_beers_defaults_to_pages_of_80(fault_server: Any, make_client: MakeClient) -> None:
    assert len(list(make_client(fault_server.url).iter_beers())) == 7
    assert fault_server.queries() == [{"page": "1", "per_page": "80"}]


def test_iter_beers_retries_a_failed_page(fault_server: Any, make_client: MakeClient) -> None:
    client = make_client(fault_server.url)
    pages = client.iter_beers(per_page=3)
    first = [next(pages) for _ in range(3)]
    fault_server.push(status=500)
    rest = list(pages)
    assert [beer["id"] for beer in first + rest] == [1, 2, 3, 4, 5, 6, 7]
    assert client.stats.retries == 1


def test_iter_beers_sends_checked_filters(fault_server: Any, make_client: MakeClient) -> None:
    beers = make_client(fault_server.url).iter_beers(
        abv_gt=6,
        ebc_lt=20.5,
        hops="citra",
        beer_name="punk_ipa",
        brewed_after=date(2012, 5, 1),
        brewed_before="12-2015",
        ids=[2, 4, 6],
        malt=None,
    )
    assert [beer["id"] for beer in beers] == [2, 4, 6]
    assert fault_server.queries() == [
        {
            "abv_gt": "6",
            "ebc_lt": "20.5",
            "hops": "citra",
            "beer_name": "punk_ipa",
            "brewed_after": "05-2012",
            "brewed_before": "12-2015",
            "ids": "2|4|6",
            "page": "1",
            "per_page": "80",
        }
    ]


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        ({"colour": "red"}, "unknown Punk API filter 'colour'"),
        ({"abv_gt": -1}, "abv_gt"),
        ({"abv_gt": "6"}, "abv_gt must be a number"),
        ({"ibu_lt": float("nan")}, "ibu_lt"),
        ({"ebc_gt": True}, "ebc_gt"),
        ({"beer_name": ""}, "beer_name"),
        ({"yeast": "x" * 201}, "yeast"),
        ({"food": "a\nb"}, "control characters"),
        ({"brewed_after": "2012-05"}, "mm-yyyy"),
        ({"brewed_before": "13-2012"}, "mm-yyyy"),
        ({"ids": [0]}, "positive integers"),
        ({"ids": "1|x"}, "positive integers"),
        ({"ids": []}, "between 1 and"),
        ({"ids": 2.5}, "filter ids"),
        ({"per_page": 81}, "per_page must be an integer <= 80"),
        ({"per_page": 0}, "per_page must be an integer >= 1"),
    ],
)
def test_bad_filters_fail_before_any_request(
    arguments: dict[str, Any], names: str, fault_server: Any, make_client: MakeClient
) -> None:
    client = make_client(fault_server.url)
    with pytest.raises(ConfigError, match=names.replace("(", r"\(")):
        client.iter_beers(**arguments)  # raises at the call, not at the first next()
    assert fault_server.requests == []


def test_a_server_that_ignores_pages_is_detected(
    fault_server: Any, make_client: MakeClient
) -> None:
    fault_server.default = lambda path, query: fault_server.reply(body=fault_server.beers[:3])
    with pytest.raises(SourceResponseError, match="beer 1 was already served"):
        list(make_client(fault_server.url).iter_beers(per_page=3))
    assert len(fault_server.requests) == 2


def test_page_count_is_bounded(
    fault_server: Any, make_client: MakeClient, beer_factory: Callable[..., dict[str, Any]]
) -> None:
    def endless(path: str, query: dict[str, str]) -> Any:
        page = int(query["page"])
        return fault_server.reply(body=[beer_factory(page * 2 - 1), beer_factory(page * 2)])

    fault_server.default = endless
    with pytest.raises(SourceResponseError, match="still full pages after 4 pages"):
        list(make_client(fault_server.url, max_pages=4).iter_beers(per_page=2))
    assert len(fault_server.requests) == 4


def test_a_page_longer_than_per_page_is_refused(fault_server: Any, make_client: MakeClient) -> None:
    fault_server.push(body=fault_server.beers)
    with pytest.raises(SourceResponseError, match="7 beers on a page of per_page=3"):
        list(make_client(fault_server.url).iter_beers(per_page=3))


# -- construction --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "options", "names"),
    [
        ("ftp://127.0.0.1/v2", {}, "base_url"),
        ("127.0.0.1:8000/v2", {}, "base_url"),
        ("http://127.0.0.1:8000/v2?x=1", {}, "query"),
        ("http://127.0.0.1:8000/v2", {"timeout": 0}, "timeout"),
        ("http://127.0.0.1:8000/v2", {"connect_timeout": float("inf")}, "connect_timeout"),
        ("http://127.0.0.1:8000/v2", {"max_retries": -1}, "max_retries"),
        ("http://127.0.0.1:8000/v2", {"max_body_bytes": 0}, "max_body_bytes"),
        ("http://127.0.0.1:8000/v2", {"max_total_sleep_seconds": -1}, "max_total_sleep_seconds"),
    ],
)
def test_bad_settings_are_refused(base_url: str, options: dict[str, Any], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        PunkClient(base_url, **options)


@pytest.mark.parametrize("beer_id", [0, -3, True, "7"])
def test_bad_beer_ids_are_refused(beer_id: Any, fault_server: Any, make_client: MakeClient) -> None:
    with pytest.raises(ConfigError, match="beer id"):
        make_client(fault_server.url).get_beer(beer_id)
    assert fault_server.requests == []


# -- the real server -----------------------------------------------------------------------------


@pytest.mark.slow
def test_against_the_real_api_server(request: pytest.FixtureRequest) -> None:
    try:
        base_url = request.getfixturevalue("api_server")
    except pytest.FixtureLookupError:
        pytest.skip("the api_server fixture (tests/conftest.py) has not landed yet")
    with PunkClient(base_url) as client:
        beers = list(client.iter_beers())
        assert [beer["id"] for beer in beers] == list(range(1, 326))
        assert client.get_beer(42)["id"] == 42
        assert client.get_beer(42) == beers[41]
        assert 1 <= client.get_random_beer()["id"] <= 325
        assert client.stats.requests == 5 + 3  # five pages of 80 (the last one short), three more
        with pytest.raises(SourceStatusError, match="No beer found that matches the ID 9999"):
            client.get_beer(9999)


@pytest.mark.slow
def test_the_real_servers_rate_limit_stops_the_client(
    api_server_factory: Callable[..., Any], sleeps: list[float]
) -> None:
    server = api_server_factory("--rate-limit", "2")
    with PunkClient(server.base_url, sleep=sleeps.append, max_total_sleep_seconds=60) as client:
        client.get_beer(1)
        client.get_beer(2)  # x-ratelimit-remaining: 0; waiting 1800 s is beyond the budget
        with pytest.raises(SourceStatusError) as caught:
            client.get_beer(3)
    assert caught.value.status_code == 429
    assert f"GET {server.base_url}/beers/3: HTTP 429" in str(caught.value)
    assert "beyond the retry budget of 60 s" in str(caught.value)
    assert sleeps == []
    assert (client.stats.requests, client.stats.errors) == (3, 1)
