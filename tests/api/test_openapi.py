"""The OpenAPI document is the contract: schemathesis generates requests from it for every
operation and checks each answer (status, content type, headers, body schema) against it.

Bounded and repeatable: a fixed number of examples per operation, derandomized (a fixed seed),
against the ASGI application in-process, with a promoted baseline model so ``POST /v2/ibu``
answers predictions. The documented exceptions: a method no route declares answers the
original's 404 ``No endpoint found`` instead of 405, so that check is not run; and a date filter
off its documented ``mm-yyyy`` pattern is accepted (as the original accepted it), so such a
request may be answered 200; the recipe body schema is the canonical shape, which the recipe
reader widens on purpose (documented defaults: a bare number as grams, a missing field filled),
so a body off that schema may be answered 200 with warnings, or 413 past 1,000 recipes; and a
body the schema allows may still be refused with a 422 naming the field, for what the schema does
not say (a volume's unit, physical plausibility) or for a generated string that is no BeerXML
document (BeerXML itself is tested in tests/ml/test_recipes.py).
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import unsupported_method  # expects 405; see above

from punkml.api.app import create_app
from punkml.api.openapi import DATE_PATTERN
from punkml.config import Settings
from punkml.ml.data import tables_from_beers
from punkml.ml.models import make_model, training_mask
from punkml.ml.registry import promote, save_model
from punkml.source.dataset import load_beers

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION = 25


# The application is built when the module is imported, as schemathesis reads its document then;
# its home gets a promoted model before the first test (the model is loaded on first use).
HOME = Path(tempfile.mkdtemp(prefix="punkml-openapi-"))
atexit.register(shutil.rmtree, HOME, True)  # also when the module is collected but not run
BEERS = load_beers()
APP = create_app(BEERS, rate_limit=0, settings=Settings.load(HOME))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def promoted_model() -> Iterator[None]:
    tables = tables_from_beers(BEERS)
    train = tables.take(np.flatnonzero(training_mask(tables, "baseline")))
    model = make_model("baseline").fit(train, train.target())
    models_dir = Settings.load(HOME).models_dir
    save_model(models_dir, model, fingerprint="0" * 64, metrics={}, card="#\n", version="v1")
    promote(models_dir, "v1")
    yield


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: Any) -> None:
    response = case.call()
    try:
        case.validate_response(response, excluded_checks=[unsupported_method])
    except FailureGroup as found:
        if _only(found, AcceptedNegativeData) and _has_a_free_form_date(case):
            return
        if _only(found, AcceptedNegativeData) and case.operation.path == "/v2/ibu":
            return  # the recipe reader accepts looser forms on purpose (documented defaults)
        if _only(found, RejectedPositiveData) and _names_the_field(response):
            return  # a recipe the schema allows but a brewer could not use: 422 naming the field
        raise


def _names_the_field(response: Any) -> bool:
    """A 422 of ``POST /v2/ibu`` whose every detail names where the recipe is wrong."""
    if response.status_code != 422:
        return False
    details = response.json().get("detail") or []
    return bool(details) and all(detail.get("loc") for detail in details)


def _only(found: FailureGroup, kind: type[Exception]) -> bool:
    return all(isinstance(failure, kind) for failure in found.exceptions)


def _has_a_free_form_date(case: Any) -> bool:
    """Whether the request's dates include one off the documented pattern: the original (and so
    this server) accepted any date text, and answers what moment.js reads in it."""
    query = case.query or {}
    return any(
        re.fullmatch(DATE_PATTERN, str(query[name])) is None
        for name in ("brewed_before", "brewed_after")
        if name in query
    )
