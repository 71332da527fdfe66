"""The application in process (httpx's ASGI transport): routes, exact bodies, headers, extras."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends

from punkml.api.app import create_app
from punkml.api.deps import get_settings
from punkml.config import Settings
from punkml.source.dataset import load_beers

ASGIApp = Any
MSG_TEXT = "Must have a value and if you are using multiple words use underscores to separate"


class Client:
    """A synchronous client for an ASGI app, as one client IP."""

    def __init__(self, app: ASGIApp, ip: str = "10.0.0.1") -> None:
        self.transport = httpx.ASGITransport(app=app, client=(ip, 40000))

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://test") as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)


@pytest.fixture(scope="module")
def beers() -> list[dict[str, Any]]:
    return load_beers()


@pytest.fixture(scope="module")
def client(beers: list[dict[str, Any]]) -> Client:
    return Client(create_app(beers, rate_limit=0))


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [beer["id"] for beer in response.json()]


def bad_request(location: str, param: str, msg: str, value: str) -> dict[str, Any]:
    return {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "Invalid query params",
        "data": [{"location": location, "param": param, "msg": msg, "value": value}],
    }


def not_found(message: str) -> dict[str, Any]:
    return {"statusCode": 404, "error": "Not Found", "message": message}


# --- success answers ----------------------------------------------------------------------------


def test_default_page_is_the_first_25_beers_unchanged(
    client: Client, beers: list[dict[str, Any]]
) -> None:
    response = client.get("/v2/beers")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == beers[:25]
    assert list(response.json()[0]) == list(beers[0])  # same field order as the dataset


def test_every_beer_is_reachable_page_by_page(client: Client, beers: list[dict[str, Any]]) -> None:
    served = [
        b for page in range(1, 6) for b in client.get(f"/v2/beers?page={page}&per_page=80").json()
    ]
    assert served == beers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("page=5&per_page=80", list(range(321, 326))),
        ("page=6&per_page=80", []),
        ("per_page=1&page=325", [325]),
        ("ids=7|3|5", [3, 5, 7]),
        ("ids=7%7C3", [3, 7]),
        ("beer_name=zzzzzz", []),
        ("colour=red&per_page=2", [1, 2]),
        ("per_page=2&per_page=3", [1, 2, 3]),  # a repeated parameter keeps its last value
    ],
)
def test_pages_ids_and_empty_answers(client: Client, query: str, expected: list[int]) -> None:
    assert ids(client.get(f"/v2/beers?{query}")) == expected


def test_numeric_filter_over_http(client: Client, beers: list[dict[str, Any]]) -> None:
    expected = [b["id"] for b in beers if (b["ibu"] or 0) < 20][:80]
    assert ids(client.get("/v2/beers?ibu_lt=20&per_page=80")) == expected


def test_text_filters_spell_spaces_three_ways(client: Client) -> None:
    answers = {
        tuple(ids(client.get(f"/v2/beers?beer_name={name}")))
        for name in ("punk_ipa", "punk+ipa", "punk%20ipa", "PUNK_IPA")
    }
    assert answers == {(106, 192)}


@pytest.mark.parametrize(
    "text", ["%28", "%29", "%5B", "*", "%2B", "%3F", ".", "%5C", "%5E", "%24", "%7C"]
)
@pytest.mark.parametrize("param", ["beer_name", "hops", "malt", "yeast", "food"])
def test_regex_like_characters_do_not_crash(client: Client, param: str, text: str) -> None:
    response = client.get(f"/v2/beers?{param}={text}")
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_combined_filters(client: Client, beers: list[dict[str, Any]]) -> None:
    expected = [
        b["id"]
        for b in beers
        if b["abv"] > 6 and any("citra" in h["name"].lower() for h in b["ingredients"]["hops"])
    ]
    assert ids(client.get("/v2/beers?abv_gt=6&hops=citra&per_page=80")) == expected[:80]


def test_one_beer_by_id(client: Client, beers: list[dict[str, Any]]) -> None:
    assert client.get("/v2/beers/42").json() == [beers[41]]
    assert client.get("/v2/beers/042").json() == [beers[41]]


def test_random_is_one_dataset_beer(client: Client, beers: list[dict[str, Any]]) -> None:
    drawn = [client.get("/v2/beers/random").json() for _ in range(30)]
    assert all(len(answer) == 1 and answer[0] in beers for answer in drawn)
    assert len({answer[0]["id"] for answer in drawn}) > 1


@pytest.mark.parametrize("path", ["/v2/beers/", "/V2/BEERS", "/v2/Beers/42/", "/v2/beers/RANDOM/"])
def test_paths_are_case_insensitive_with_an_optional_trailing_slash(
    client: Client, path: str
) -> None:
    assert client.get(path).status_code == 200


def test_head_has_headers_but_no_body(client: Client) -> None:
    response = client.request("HEAD", "/v2/beers/1")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == len(client.get("/v2/beers/1").content)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "param", "msg", "value"),
    [
        ("per_page=81", "per_page", "Must be a number greater than 0 and less than 80", "81"),
        ("per_page=0", "per_page", "Must be a number greater than 0 and less than 80", "0"),
        ("page=0", "page", "Must be a number greater than 0", "0"),
        ("page=", "page", "Must be a number greater than 0", ""),
        ("page", "page", "Must be a number greater than 0", ""),
        ("abv_gt=abc", "abv_gt", "Must be a number greater than 0", "abc"),
        ("ibu_lt=-1", "ibu_lt", "Must be a number greater than 0", "-1"),
        ("ebc_gt=", "ebc_gt", "Must be a number greater than 0", ""),
        ("beer_name=", "beer_name", MSG_TEXT, ""),
        ("food=", "food", MSG_TEXT, ""),
    ],
)  # fmt: skip
def test_invalid_query_params_exact_body(
    client: Client, query: str, param: str, msg: str, value: str
) -> None:
    response = client.get(f"/v2/beers?{query}")
    assert response.status_code == 400
    assert response.json() == bad_request("query", param, msg, value)


def test_several_bad_params_in_one_answer(client: Client) -> None:
    body = client.get("/v2/beers?abv_lt=x&per_page=81").json()
    assert [(e["param"], e["value"]) for e in body["data"]] == [("per_page", "81"), ("abv_lt", "x")]


def test_body_bytes_match_the_original_serialization(client: Client) -> None:
    response = client.get("/v2/beers?per_page=81")
    assert response.content == (
        b'{"statusCode":400,"error":"Bad Request","message":"Invalid query params","data":'
        b'[{"location":"query","param":"per_page","msg":"Must be a number greater than 0 and '
        b'less than 80","value":"81"}]}'
    )


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5"])
def test_bad_beer_id(client: Client, value: str) -> None:
    response = client.get(f"/v2/beers/{value}")
    assert response.status_code == 400
    assert response.json() == bad_request(
        "params", "beerId", "beerId must be a number and greater than 0", value
    )


def test_unknown_beer_id(client: Client) -> None:
    response = client.get("/v2/beers/9999")
    assert response.status_code == 404
    assert response.json() == not_found("No beer found that matches the ID 9999")
    assert client.get("/v2/beers/00326").json() == not_found(
        "No beer found that matches the ID 00326"
    )


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/v2/beer"),
        ("GET", "/v2/beer?x=1"),
        ("GET", "/v2/beers/1/hops"),
        ("GET", "/v2"),
        ("GET", "/nothing/here"),
        ("DELETE", "/v2/beers/8"),
        ("POST", "/v2/beers"),
    ],
)
def test_unknown_endpoint(client: Client, method: str, target: str) -> None:
    response = client.request(method, target)
    assert response.status_code == 404
    assert response.json() == not_found(f"No endpoint found that matches '{target}'")


def test_overlong_query_string_is_refused(client: Client) -> None:
    response = client.get("/v2/beers?beer_name=" + "a" * 9000)
    assert response.status_code == 414
    assert response.json()["statusCode"] == 414


# --- CORS and rate limit ------------------------------------------------------------------------

CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-credentials": "true",
}


@pytest.mark.parametrize(
    "target", ["/v2/beers", "/v2/beers/1", "/v2/beers?page=0", "/v2/beers/9999", "/v2/nope"]
)
def test_cors_on_every_v2_answer(client: Client, target: str) -> None:
    headers = client.get(target, headers={"Origin": "https://example.org"}).headers
    assert {k: headers.get(k) for k in CORS} == CORS
    assert "x-ratelimit-remaining" in headers["access-control-expose-headers"]


def test_cors_preflight(client: Client) -> None:
    response = client.request(
        "OPTIONS",
        "/v2/beers",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-custom",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "x-custom"


def test_rate_limit_headers_then_429(beers: list[dict[str, Any]]) -> None:
    app = create_app(beers, rate_limit=2)
    alice, bob = Client(app, "10.0.0.1"), Client(app, "10.0.0.2")
    first, second, third = (alice.get("/v2/beers/1") for _ in range(3))
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == (
        "2",
        "1",
    )
    assert second.status_code == 200 and second.headers["x-ratelimit-remaining"] == "0"
    assert third.status_code == 429
    assert third.json() == {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "You have reached your limit on this ip address please wait an hour",
    }
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert third.headers["access-control-allow-origin"] == "*"
    assert int(third.headers["retry-after"]) > 0
    assert bob.get("/v2/beers/1").status_code == 200  # per client IP
    assert alice.get("/openapi.json").status_code == 200  # outside /v2: not limited


def test_preflight_is_not_counted(beers: list[dict[str, Any]]) -> None:
    client = Client(create_app(beers, rate_limit=1))
    for _ in range(3):
        assert client.request("OPTIONS", "/v2/beers").status_code == 204
    assert client.get("/v2/beers/1").status_code == 200


def test_rate_limit_zero_disables_it(client: Client) -> None:
    responses = [client.get("/v2/beers/random") for _ in range(5)]
    assert all(r.status_code == 200 for r in responses)
    assert "x-ratelimit-limit" not in responses[0].headers


# --- OpenAPI and extra routers ------------------------------------------------------------------


def test_openapi_document_describes_the_beers_routes(client: Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/v2/beers", "/v2/beers/random", "/v2/beers/{beerId}"} <= set(document["paths"])
    names = {p["name"] for p in document["paths"]["/v2/beers"]["get"]["parameters"]}
    assert names == {
        "page", "per_page", "abv_gt", "abv_lt", "ibu_gt", "ibu_lt", "ebc_gt", "ebc_lt",
        "brewed_before", "brewed_after", "beer_name", "hops", "malt", "yeast", "food", "ids",
    }  # fmt: skip
    assert client.get("/docs").status_code == 200


def test_openapi_document_types_the_beer_the_ibu_body_and_the_dates(client: Client) -> None:
    document = client.get("/openapi.json").json()
    beer = document["components"]["schemas"]["Beer"]
    assert {"id", "name", "abv", "ibu", "ingredients", "method"} <= set(beer["properties"])
    assert beer["properties"]["ingredients"] == {"$ref": "#/components/schemas/Ingredients"}
    assert "Hop" in document["components"]["schemas"]
    listed = document["paths"]["/v2/beers"]["get"]["responses"]["200"]["content"]
    assert listed["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/Beer"}
    body = document["paths"]["/v2/ibu"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/json", "application/xml"}
    dates = {
        p["name"]: p["schema"]
        for p in document["paths"]["/v2/beers"]["get"]["parameters"]
        if p["name"].startswith("brewed_")
    }
    assert {d["pattern"] for d in dates.values()} == {r"^(0[1-9]|1[0-2])-[0-9]{4}$"}


def test_dates_the_original_accepted_are_answered(client: Client) -> None:
    # The original's validator let every date through: "2012-11" (month 20) matched nothing.
    for value in ("2012-11", "2010", "10-2010"):
        assert client.get(f"/v2/beers?brewed_before={value}").status_code == 200
    assert client.get("/v2/beers?brewed_before=2012-11").json() == []


def test_extra_routers_get_settings_and_the_v2_headers(tmp_path: Path) -> None:
    router = APIRouter()

    @router.post("/v2/echo-home")
    def echo_home(settings: Settings = Depends(get_settings)) -> dict[str, str]:
        return {"home": str(settings.home)}

    app = create_app(
        [{"id": 1, "name": "One"}], rate_limit=5, settings=Settings.load(tmp_path), routers=[router]
    )
    client = Client(app)
    response = client.request("POST", "/v2/echo-home")
    assert response.json() == {"home": str(tmp_path)}
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-ratelimit-remaining"] == "4"
    assert "/v2/echo-home" in client.get("/openapi.json").json()["paths"]
    assert client.get("/v2/echo-home").json() == not_found(
        "No endpoint found that matches '/v2/echo-home'"
    )
    assert json.loads(client.get("/v2/beers").content) == [{"id": 1, "name": "One"}]
