"""The OpenAPI description of the ``/v2/beers`` routes.

Those routes are served by the lean ASGI fast path (``punkml.api.asgi``), not by FastAPI, so their
description is declared here and merged into the document FastAPI generates for the other routes.
"""

from __future__ import annotations

from typing import Any

from punkml.api import query as q

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["statusCode", "error", "message"],
    "properties": {
        "statusCode": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "enum": ["query", "params"]},
                    "param": {"type": "string"},
                    "msg": {"type": "string"},
                    "value": {"type": "string"},
                },
            },
        },
    },
}
_BEERS_SCHEMA = {
    "type": "array",
    "items": {"type": "object", "description": "A Punk API v2 beer (see punkml.source.schema)."},
}
_RATE_HEADERS = {
    "x-ratelimit-limit": {"schema": {"type": "integer"}, "description": "Requests per window."},
    "x-ratelimit-remaining": {"schema": {"type": "integer"}, "description": "Left this window."},
}

_NUMBER_HELP = {
    "abv_gt": "ABV strictly greater than this number.",
    "abv_lt": "ABV strictly less than this number (a beer without ABV counts as 0).",
    "ibu_gt": "IBU strictly greater than this number.",
    "ibu_lt": "IBU strictly less than this number (a beer without IBU counts as 0).",
    "ebc_gt": "EBC strictly greater than this number.",
    "ebc_lt": "EBC strictly less than this number (a beer without EBC counts as 0).",
}
_TEXT_HELP = {
    "beer_name": "Name contains these characters in order (case-insensitive; _ is a space).",
    "hops": "A hop's name contains these characters in order (case-insensitive; _ is a space).",
    "malt": "A malt's name contains these characters in order (case-insensitive; _ is a space).",
    "yeast": "The yeast contains these characters in order (case-insensitive; _ is a space).",
    "food": "A food pairing contains this text (case-insensitive; _ is a space).",
}


def _parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _beers_parameters() -> list[dict[str, Any]]:
    params = [
        _parameter("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}),
        _parameter(
            "per_page",
            "Beers per page.",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": q.MAX_PER_PAGE,
                "default": q.DEFAULT_PER_PAGE,
            },
        ),
    ]
    params += [_parameter(n, h, {"type": "number", "minimum": 0}) for n, h in _NUMBER_HELP.items()]
    params += [
        _parameter(
            "brewed_before", "First brewed before this month (mm-yyyy).", {"type": "string"}
        ),
        _parameter("brewed_after", "First brewed after this month (mm-yyyy).", {"type": "string"}),
    ]
    params += [_parameter(n, h, {"type": "string", "minLength": 1}) for n, h in _TEXT_HELP.items()]
    params.append(
        _parameter("ids", "Only these ids, separated by |, e.g. 1|2|3.", {"type": "string"})
    )
    return params


def _json(description: str, schema: dict[str, Any], headers: bool = True) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = _RATE_HEADERS
    return answer


def beers_paths() -> dict[str, Any]:
    """OpenAPI ``paths`` entries of ``/v2/beers``, ``/v2/beers/random`` and ``/v2/beers/{beerId}``."""
    too_many = _json("Rate limit reached for this IP address.", _ERROR_SCHEMA)
    return {
        "/v2/beers": {
            "get": {
                "summary": "List beers, filtered and paginated",
                "operationId": "list_beers",
                "tags": ["beers"],
                "parameters": _beers_parameters(),
                "responses": {
                    "200": _json(
                        "Beers in ascending id order (empty list when none).", _BEERS_SCHEMA
                    ),
                    "400": _json("Invalid query params.", _ERROR_SCHEMA),
                    "429": too_many,
                },
            }
        },
        "/v2/beers/random": {
            "get": {
                "summary": "One random beer, in a one-element list",
                "operationId": "random_beer",
                "tags": ["beers"],
                "responses": {"200": _json("One random beer.", _BEERS_SCHEMA), "429": too_many},
            }
        },
        "/v2/beers/{beerId}": {
            "get": {
                "summary": "One beer by id, in a one-element list",
                "operationId": "get_beer",
                "tags": ["beers"],
                "parameters": [
                    {
                        "name": "beerId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": _json("The beer.", _BEERS_SCHEMA),
                    "400": _json("beerId is not an integer ≥ 1.", _ERROR_SCHEMA),
                    "404": _json("No beer has this id.", _ERROR_SCHEMA),
                    "429": too_many,
                },
            }
        },
    }
