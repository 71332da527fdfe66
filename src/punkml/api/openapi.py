"""The OpenAPI description of the ``/v2/beers`` routes.

Those routes are served by the lean ASGI fast path (``punkml.api.asgi``), not by FastAPI, so their
description is declared here and merged into the document FastAPI generates for the other routes.
"""

from __future__ import annotations

from typing import Any

from punkml.api import query as q
from punkml.source.schema import BEER_ADAPTER

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
_BEERS_SCHEMA = {"type": "array", "items": {"$ref": "#/components/schemas/Beer"}}
# The filters read mm-yyyy. The original's validator let every value through (moment.js then
# found no date, and nothing matched); the pattern documents the useful form.
DATE_PATTERN = r"^(0[1-9]|1[0-2])-[0-9]{4}$"
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
            "brewed_before",
            "First brewed before this month (mm-yyyy, e.g. 05-2010).",
            {"type": "string", "pattern": DATE_PATTERN},
        ),
        _parameter(
            "brewed_after",
            "First brewed after this month (mm-yyyy, e.g. 05-2010).",
            {"type": "string", "pattern": DATE_PATTERN},
        ),
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


def beer_schemas() -> dict[str, Any]:
    """``components.schemas`` entries for the beer, generated from ``punkml.source.schema``."""
    document = BEER_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = document.pop("$defs", {})
    schemas["Beer"] = document
    schemas["Recipe"] = recipe_schema(document)
    return schemas


# Top-level fields the recipe reader fills when they are missing or null (docs/recipes.md).
RECIPE_DEFAULTED = ("id", "name", "volume", "boil_volume", "method")


def recipe_schema(beer: dict[str, Any]) -> dict[str, Any]:
    """A recipe to predict: the beer's schema, where the fields the recipe reader defaults may
    be missing or null, and the hops are required (``punkml.ml.recipes``)."""
    properties = dict(beer["properties"])
    for name in RECIPE_DEFAULTED:
        properties[name] = {"anyOf": [properties[name], {"type": "null"}]}
    properties["ingredients"] = {"allOf": [properties["ingredients"], {"required": ["hops"]}]}
    required = [name for name in beer.get("required", []) if name not in RECIPE_DEFAULTED]
    return {
        **beer,
        "title": "Recipe",
        "properties": properties,
        "required": sorted({*required, "ingredients"}),
    }


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


IBU_PATH = "/v2/ibu"


def add_ibu_request_body(document: dict[str, Any]) -> None:
    """Declare what ``POST /v2/ibu`` reads (its route reads the raw body itself, so FastAPI
    cannot see it): one recipe or a list of 1 to ``MAX_RECIPES`` as JSON, or BeerXML 1.0."""
    operation = document.get("paths", {}).get(IBU_PATH, {}).get("post")
    if operation is None:
        return
    # Imported here, when the document is first built: the IBU route pulls in the model's
    # libraries, which this module (imported at start-up) must not.
    from punkml.api.ibu import MAX_RECIPES

    recipe = {"$ref": "#/components/schemas/Recipe"}
    operation["requestBody"] = {
        "required": True,
        "description": (
            "A recipe in the Punk API v2 beer shape, a list of them, or a BeerXML 1.0 document."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        recipe,
                        {"type": "array", "items": recipe, "minItems": 1, "maxItems": MAX_RECIPES},
                    ]
                }
            },
            "application/xml": {
                "schema": {
                    "type": "string",
                    "description": "A BeerXML 1.0 document: <RECIPES><RECIPE>…</RECIPE></RECIPES>.",
                }
            },
        },
    }
