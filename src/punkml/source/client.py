"""The Punk API v2 client: ``PunkClient(base_url)`` reads beers from any compatible server.

Every answer is checked before it is returned: the body must be JSON of the documented shape and
every beer must pass ``validate_beer``; the dicts handed back are the parsed JSON exactly as
received. Transient failures (connection errors, timeouts, 5xx, 429) are retried with exponential
backoff and full jitter within a bounded budget (attempts and total sleep per request);
``Retry-After`` and the ``x-ratelimit-*`` headers are honoured. Failures surface as
``SourceError`` subclasses whose one-line message names the URL and the cause.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random as _random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import tenacity

from punkml import __version__
from punkml.closing import Closeable
from punkml.errors import (
    ConfigError,
    SchemaError,
    SourceConnectionError,
    SourceResponseError,
    SourceStatusError,
)
from punkml.source.schema import validate_beer

log = logging.getLogger(__name__)

MAX_PER_PAGE = 80
NUMERIC_FILTERS = frozenset({"abv_gt", "abv_lt", "ibu_gt", "ibu_lt", "ebc_gt", "ebc_lt"})
TEXT_FILTERS = frozenset({"beer_name", "yeast", "hops", "malt", "food"})
DATE_FILTERS = frozenset({"brewed_before", "brewed_after"})
FILTER_NAMES = NUMERIC_FILTERS | TEXT_FILTERS | DATE_FILTERS | {"ids"}
MAX_TEXT_FILTER_CHARS = 200
MAX_IDS = 1_000
# The original API's rate-limit window (one hour); with x-ratelimit-limit it gives the pause
# after which one more request is due when the remaining count hits 0.
RATE_LIMIT_WINDOW_SECONDS = 3600.0
_MONTH_YEAR = re.compile(r"(0[1-9]|1[0-2])-\d{4}")

SleepFn = Callable[[float], None]
RandomFn = Callable[[], float]
InvalidBeerHandler = Callable[[str], None]
"""Told why a served beer fails the schema (the message names the URL, the beer and the field);
the beer is then handed back as received instead of raising."""


@dataclass
class ClientStats:
    """Counters of one client's traffic; read them at any time, e.g. for logs or metrics.

    ``requests`` counts HTTP attempts sent, ``retries`` the attempts that repeated a failed one,
    ``errors`` the ``SourceError`` raised to the caller, ``rate_limit_waits`` the pauses taken
    because the server said no request was left, ``slept_seconds`` the total time slept.
    """

    requests: int = 0
    retries: int = 0
    errors: int = 0
    rate_limit_waits: int = 0
    slept_seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class _DeadlineExceeded(Exception):
    """One attempt took longer than ``attempt_deadline_seconds`` (retried like a timeout)."""


@dataclass(frozen=True)
class _Failure:
    """Why one attempt failed, and how long the server asked us to wait (if it did)."""

    cause: str
    status_code: int | None = None
    retry_after_seconds: float | None = None
    connection: bool = False


class _RetryPolicy:
    """When one request retries, how long it waits and why it gives up, for ``tenacity``.

    At most ``max_retries + 1`` attempts; before retry ``n`` (from 0) it waits the server's
    ``Retry-After``, else a full-jitter backoff uniform in ``[0, min(backoff_max_seconds,
    backoff_base_seconds * 2**n)]``; all waits of the request (``slept`` counts a rate-limit pause
    already taken) stay within ``max_total_sleep_seconds``: a longer ``Retry-After`` gives up at
    once, a longer backoff is cut to what is left of the budget.
    """

    def __init__(self, client: PunkClient, url: str, *, slept: float) -> None:
        self.client = client
        self.url = url
        self.slept = slept
        self.reason = ""

    def delay(self, state: tenacity.RetryCallState) -> float:
        failure = _failure_of(state)
        if failure.retry_after_seconds is not None:
            return failure.retry_after_seconds
        client = self.client
        ceiling = min(
            client.backoff_max_seconds,
            client.backoff_base_seconds * 2 ** (state.attempt_number - 1),
        )
        wanted = client._random() * ceiling
        return min(wanted, max(0.0, client.max_total_sleep_seconds - self.slept))

    def should_stop(self, state: tenacity.RetryCallState) -> bool:
        failure, client = _failure_of(state), self.client
        budget = client.max_total_sleep_seconds
        attempts = client.max_retries + 1
        if state.attempt_number >= attempts:
            self.reason = f"gave up after {attempts} attempts"
        elif failure.retry_after_seconds is not None:
            if self.slept + failure.retry_after_seconds > budget:
                self.reason = (
                    f"the server asked to retry after {failure.retry_after_seconds:g} s, "
                    f"beyond the retry budget of {budget:g} s; gave up"
                )
        elif self.slept >= budget:
            self.reason = (
                f"gave up after {state.attempt_number} attempts and {budget:g} s of backoff"
            )
        return bool(self.reason)

    def count_retry(self, state: tenacity.RetryCallState) -> None:
        if state.attempt_number > 1:
            with self.client._lock:
                self.client.stats.retries += 1

    def note_sleep(self, state: tenacity.RetryCallState) -> None:
        delay = state.upcoming_sleep
        # Per request: shown at --log-level debug; the error, if it gives up, says it all.
        log.debug("GET %s failed (%s); retry in %.2f s", self.url, _failure_of(state).cause, delay)
        self.slept += delay

    def give_up(self, state: tenacity.RetryCallState) -> Any:
        raise self.client._give_up(self.url, _failure_of(state), self.reason)


def _failure_of(state: tenacity.RetryCallState) -> _Failure:
    assert state.outcome is not None  # tenacity calls the policy after an attempt
    failure = state.outcome.result()
    assert isinstance(failure, _Failure)
    return failure


class PunkClient(Closeable):
    """A resilient, validating client of a Punk API v2 server (``http://host:port/v2``).

    Timeouts are in seconds: ``connect_timeout`` to open a connection, ``timeout`` for every read
    (and write), ``attempt_deadline_seconds`` for a whole answer (headers and body). A request is
    tried at most ``max_retries + 1`` times and sleeps at most ``max_total_sleep_seconds`` in total
    between its attempts; backoff before retry ``n`` (from 0) is uniform in
    ``[0, min(backoff_max_seconds, backoff_base_seconds * 2**n)]`` unless the server sent
    ``Retry-After``. When ``x-ratelimit-remaining`` reaches 0, the next request first waits
    ``rate_limit_window_seconds / x-ratelimit-limit`` (a 429 without ``Retry-After`` too), unless
    that is longer than the sleep budget. Bodies above ``max_body_bytes`` (decoded) are refused;
    ``iter_beers`` reads at most ``max_pages`` pages. ``sleep`` and ``random`` can be injected.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_retries: int = 4,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        max_total_sleep_seconds: float = 60.0,
        max_body_bytes: int = 4 * 1024 * 1024,
        max_pages: int = 1_000,
        rate_limit_window_seconds: float = RATE_LIMIT_WINDOW_SECONDS,
        attempt_deadline_seconds: float = 60.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: SleepFn = time.sleep,
        random: RandomFn = _random.random,
    ) -> None:
        self.base_url = _check_base_url(base_url)
        _check_positive("timeout", timeout)
        _check_positive("connect_timeout", connect_timeout)
        _check_positive("backoff_max_seconds", backoff_max_seconds)
        _check_non_negative("backoff_base_seconds", backoff_base_seconds)
        _check_non_negative("max_total_sleep_seconds", max_total_sleep_seconds)
        _check_positive("rate_limit_window_seconds", rate_limit_window_seconds)
        _check_positive("attempt_deadline_seconds", attempt_deadline_seconds)
        _check_count("max_retries", max_retries, minimum=0)
        _check_count("max_body_bytes", max_body_bytes, minimum=1)
        _check_count("max_pages", max_pages, minimum=1)
        self.max_retries = max_retries
        self.backoff_base_seconds = float(backoff_base_seconds)
        self.backoff_max_seconds = float(backoff_max_seconds)
        self.max_total_sleep_seconds = float(max_total_sleep_seconds)
        self.max_body_bytes = max_body_bytes
        self.max_pages = max_pages
        self.rate_limit_window_seconds = float(rate_limit_window_seconds)
        self.attempt_deadline_seconds = float(attempt_deadline_seconds)
        self.stats = ClientStats()
        self._sleep = sleep
        self._random = random
        self._lock = threading.Lock()
        self._wait_before_next_seconds = 0.0
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={
                "User-Agent": f"punkml/{__version__}",
                "Accept": "application/json",
                **(headers or {}),
            },
            follow_redirects=True,
            max_redirects=5,
            transport=transport,
        )

    # -- public API ---------------------------------------------------------------------------

    def get_random_beer(self, *, on_invalid: InvalidBeerHandler | None = None) -> Any:
        """One random beer (``GET /beers/random``), as received; one that fails the schema is
        an error, or with ``on_invalid`` reported to it and returned as received."""
        url = f"{self.base_url}/beers/random"
        return self._single_beer(url, self._get_json(url, {}), on_invalid)

    def get_beer(self, beer_id: int) -> dict[str, Any]:
        """The beer with this id (``GET /beers/{id}``), as received; an unknown id raises
        ``SourceStatusError`` (404)."""
        if isinstance(beer_id, bool) or not isinstance(beer_id, int) or beer_id < 1:
            raise ConfigError(f"beer id must be a positive integer, got {beer_id!r}")
        url = f"{self.base_url}/beers/{beer_id}"
        beer: dict[str, Any] = self._single_beer(url, self._get_json(url, {}))
        if beer.get("id") != beer_id:
            raise self._error(
                SourceResponseError(f"GET {url}: asked for beer {beer_id}, got {beer.get('id')!r}")
            )
        return beer

    def iter_beers(
        self,
        per_page: int = MAX_PER_PAGE,
        *,
        on_invalid: InvalidBeerHandler | None = None,
        **filters: Any,
    ) -> Iterator[Any]:
        """Every beer matching ``filters``, page after page, in the server's (ascending id) order.

        A served beer that fails the schema is an error, or with ``on_invalid`` reported to it and
        yielded as received (the rest of the page and the pages after it go on).

        Filters are the Punk API v2 query parameters (``abv_gt=6``, ``hops="citra"``,
        ``brewed_after="01-2012"``, ``ids=[1, 2, 3]``, …); they are checked before any request.
        Stops after the first page with fewer than ``per_page`` beers.
        """
        _check_count("per_page", per_page, minimum=1, maximum=MAX_PER_PAGE)
        # Checked here, not lazily inside the generator, so a bad filter fails at the call.
        return self._pages(build_query(filters), per_page, on_invalid)

    def _pages(
        self, query: Mapping[str, str], per_page: int, on_invalid: InvalidBeerHandler | None
    ) -> Iterator[Any]:
        url = f"{self.base_url}/beers"
        seen: set[int] = set()
        for page in range(1, self.max_pages + 1):
            params = {**query, "page": str(page), "per_page": str(per_page)}
            payload = self._get_json(url, params)
            beers = self._beer_list(url, params, payload, per_page, on_invalid)
            for beer in beers:
                beer_id = beer.get("id") if isinstance(beer, dict) else None
                if not isinstance(beer_id, int):
                    continue  # an invalid beer, already reported
                if beer_id in seen:
                    raise self._error(
                        SourceResponseError(
                            f"GET {url} page {page}: beer {beer_id} was already served on an "
                            "earlier page; the server does not paginate"
                        )
                    )
                seen.add(beer_id)
            yield from beers
            if len(beers) < per_page:
                return
        raise self._error(
            SourceResponseError(
                f"GET {url}: still full pages after {self.max_pages} pages; "
                "raise max_pages if the source really holds that many beers"
            )
        )

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self._http.close()

    def __repr__(self) -> str:
        return f"PunkClient({self.base_url!r})"

    # -- one request, with retries ------------------------------------------------------------

    def _get_json(self, url: str, params: Mapping[str, str]) -> Any:
        """GET ``url`` with retries; the parsed JSON body of the first 2xx answer."""
        policy = _RetryPolicy(self, url, slept=self._wait_for_rate_limit())
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda outcome: isinstance(outcome, _Failure)),
            wait=policy.delay,
            stop=policy.should_stop,
            before=policy.count_retry,
            before_sleep=policy.note_sleep,
            sleep=self._pause,
            retry_error_callback=policy.give_up,
        )
        body = retrying(self._attempt, url, params)
        assert isinstance(body, bytes)  # a failure either retries or raises in give_up
        return self._parse_json(url, body)

    def _attempt(self, url: str, params: Mapping[str, str]) -> bytes | _Failure:
        """Send one GET; the body of a 2xx answer, a retryable ``_Failure``, or raise (4xx…)."""
        with self._lock:
            self.stats.requests += 1
        deadline = time.monotonic() + self.attempt_deadline_seconds
        try:
            with self._http.stream("GET", url, params=params) as response:
                self._note_rate_limit(response)
                if response.status_code == 429 or response.status_code >= 500:
                    return self._retryable_status(response)
                body = self._read_bounded(response, deadline)
                if not 200 <= response.status_code < 300:
                    raise self._error(_status_error(response, body))
                return body
        except _DeadlineExceeded:
            cause = f"the answer took longer than {self.attempt_deadline_seconds:g} s"
            return _Failure(cause=cause, connection=True)
        except httpx.TimeoutException as exc:
            return _Failure(cause=_describe_timeout(exc, self._http.timeout), connection=True)
        except httpx.TransportError as exc:
            return _Failure(cause=f"{type(exc).__name__}: {exc}", connection=True)
        except httpx.DecodingError as exc:
            raise self._error(
                SourceResponseError(f"GET {url}: the body could not be decoded ({exc})")
            ) from exc
        except httpx.HTTPError as exc:  # TooManyRedirects and any other request failure
            raise self._error(
                SourceResponseError(f"GET {url}: {type(exc).__name__}: {exc}")
            ) from exc

    def _retryable_status(self, response: httpx.Response) -> _Failure:
        """A 5xx or 429 answer as a ``_Failure``, with the wait the server asked for."""
        wait = _retry_after_seconds(response.headers)
        limit = _header_int(response.headers, "x-ratelimit-limit")
        if wait is None and response.status_code == 429 and limit:
            # No Retry-After: one request is due again after the window's share of one request.
            wait = self.rate_limit_window_seconds / limit
        return _Failure(
            cause=f"HTTP {response.status_code} {response.reason_phrase}".strip(),
            status_code=response.status_code,
            retry_after_seconds=wait,
        )

    def _read_bounded(self, response: httpx.Response, deadline: float) -> bytes:
        """The decoded body, refusing anything larger than ``max_body_bytes``.

        Raises ``_DeadlineExceeded`` past ``deadline`` (``time.monotonic()``): each read has its
        own timeout, so only this bounds a server that trickles a body byte by byte.
        """
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._error(_too_large(response, self.max_body_bytes))
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._error(_too_large(response, self.max_body_bytes))
            if time.monotonic() > deadline:
                raise _DeadlineExceeded
            chunks.append(chunk)
        return b"".join(chunks)

    def _give_up(self, url: str, failure: _Failure, outcome: str) -> Exception:
        """The error ending a request whose last attempt failed with ``failure``."""
        if failure.connection:
            message = f"GET {url}: {failure.cause}; {outcome}; is the server running?"
            return self._error(SourceConnectionError(message))
        message = f"GET {url}: {failure.cause}; {outcome}"
        return self._error(SourceStatusError(message, failure.status_code or 0))

    # -- rate limiting ------------------------------------------------------------------------

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """Remember to pause before the next request when the server says none is left."""
        remaining = _header_int(response.headers, "x-ratelimit-remaining")
        if remaining is None or remaining > 0 or response.status_code == 429:
            return
        wait = _retry_after_seconds(response.headers)
        limit = _header_int(response.headers, "x-ratelimit-limit")
        if wait is None and limit:
            wait = self.rate_limit_window_seconds / limit
        if wait is None:
            return  # nothing says how long to wait: a 429 on the next request will tell
        with self._lock:
            self._wait_before_next_seconds = wait

    def _wait_for_rate_limit(self) -> float:
        """Take the pause owed to the rate limiter, if any; return the seconds slept."""
        with self._lock:
            wait, self._wait_before_next_seconds = self._wait_before_next_seconds, 0.0
        if wait <= 0:
            return 0.0
        if wait > self.max_total_sleep_seconds:
            # Longer than a request may sleep: do not wait on a guess; the server's 429 and its
            # Retry-After will decide whether this request can still be served.
            log.info("rate limit reached at %s; next request may be refused", self.base_url)
            return 0.0
        with self._lock:
            self.stats.rate_limit_waits += 1
        log.info("rate limit reached at %s; waiting %.2f s", self.base_url, wait)
        self._pause(wait)
        return wait

    def _pause(self, seconds: float) -> None:
        with self._lock:
            self.stats.slept_seconds += seconds
        self._sleep(seconds)

    # -- body checks --------------------------------------------------------------------------

    def _parse_json(self, url: str, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise self._error(
                SourceResponseError(f"GET {url}: the body is not valid JSON ({exc}): {_peek(body)}")
            ) from exc

    def _single_beer(
        self, url: str, payload: Any, on_invalid: InvalidBeerHandler | None = None
    ) -> Any:
        if not isinstance(payload, list) or len(payload) != 1:
            raise self._error(
                SourceResponseError(
                    f"GET {url}: expected a JSON array holding one beer, got {_shape(payload)}"
                )
            )
        self._validate(url, payload[0], on_invalid)
        return payload[0]

    def _beer_list(
        self,
        url: str,
        params: Mapping[str, str],
        payload: Any,
        per_page: int,
        on_invalid: InvalidBeerHandler | None,
    ) -> list[Any]:
        where = f"{url}?page={params['page']}"
        if not isinstance(payload, list):
            raise self._error(
                SourceResponseError(
                    f"GET {where}: expected a JSON array of beers, got {_shape(payload)}"
                )
            )
        if len(payload) > per_page:
            raise self._error(
                SourceResponseError(
                    f"GET {where}: {len(payload)} beers on a page of per_page={per_page}"
                )
            )
        for beer in payload:
            self._validate(where, beer, on_invalid)
        return payload

    def _validate(self, url: str, beer: Any, on_invalid: InvalidBeerHandler | None) -> None:
        """Raise ``SourceResponseError`` for a beer that fails the schema, or tell
        ``on_invalid`` why."""
        try:
            if not isinstance(beer, dict):
                raise SourceResponseError(f"GET {url}: expected a beer object, got {_shape(beer)}")
            try:
                validate_beer(beer)
            except SchemaError as exc:
                raise SourceResponseError(f"GET {url}: {exc}") from exc
        except SourceResponseError as exc:
            if on_invalid is None:
                raise self._error(exc) from exc.__cause__
            on_invalid(str(exc))

    def _error(self, exc: Exception) -> Exception:
        """Count an error about to be raised to the caller, and return it."""
        with self._lock:
            self.stats.errors += 1
        return exc


# -- query parameters ---------------------------------------------------------------------------


def build_query(filters: Mapping[str, Any]) -> dict[str, str]:
    """Check Punk API v2 filters and turn them into query parameters; ``None`` values are dropped.

    Raises ``ConfigError`` naming the parameter for an unknown name or a bad value.
    """
    query: dict[str, str] = {}
    for name, value in filters.items():
        if value is None:
            continue
        if name in NUMERIC_FILTERS:
            query[name] = _number_param(name, value)
        elif name in TEXT_FILTERS:
            query[name] = _text_param(name, value)
        elif name in DATE_FILTERS:
            query[name] = _month_year_param(name, value)
        elif name == "ids":
            query[name] = _ids_param(value)
        else:
            known = ", ".join(sorted(FILTER_NAMES))
            raise ConfigError(f"unknown Punk API filter {name!r}; known filters: {known}")
    return query


def _number_param(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"filter {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"filter {name} must be a finite number >= 0, got {value!r}")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _text_param(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"filter {name} must be a non-empty string, got {value!r}")
    if len(value) > MAX_TEXT_FILTER_CHARS:
        raise ConfigError(f"filter {name} is longer than {MAX_TEXT_FILTER_CHARS} characters")
    if any(ord(char) < 32 for char in value):
        raise ConfigError(f"filter {name} must not contain control characters")
    return value


def _month_year_param(name: str, value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%m-%Y")
    if not isinstance(value, str) or not _MONTH_YEAR.fullmatch(value):
        raise ConfigError(f"filter {name} must be a month as mm-yyyy (e.g. 05-2012), got {value!r}")
    return value


def _ids_param(value: Any) -> str:
    parts: Iterable[Any]
    if isinstance(value, int) and not isinstance(value, bool):
        parts = [value]
    else:
        parts = value.split("|") if isinstance(value, str) else value
    try:
        ids = [_positive_id(part) for part in parts]
    except TypeError:
        raise ConfigError(
            f"filter ids must be ids like [1, 2, 3] or '1|2|3', got {value!r}"
        ) from None
    if not ids or len(ids) > MAX_IDS:
        raise ConfigError(f"filter ids must hold between 1 and {MAX_IDS} ids")
    return "|".join(str(beer_id) for beer_id in ids)


def _positive_id(part: Any) -> int:
    if isinstance(part, str) and part.isdigit():
        part = int(part)
    if isinstance(part, bool) or not isinstance(part, int) or part < 1:
        raise ConfigError(f"filter ids must hold positive integers, got {part!r}")
    return part


# -- small helpers ------------------------------------------------------------------------------


def _check_base_url(base_url: str) -> str:
    if not isinstance(base_url, str):
        raise ConfigError(
            f"base_url must be a string such as http://127.0.0.1:8000/v2, not {base_url!r}"
        )
    parts = urlsplit(base_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"base_url must be an http(s) URL such as http://127.0.0.1:8000/v2, got {base_url!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"base_url must not have a query or fragment, got {base_url!r}")
    return base_url.strip().rstrip("/")


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{name} must be a number of seconds > 0, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}")


def _check_count(name: str, value: int, *, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be an integer <= {maximum}, got {value!r}")


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


def _retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP date; ``None`` if absent."""
    raw = headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _status_error(response: httpx.Response, body: bytes) -> SourceStatusError:
    """A 4xx (or unexpected) status as one line with the server's own message."""
    url = str(response.request.url)
    message = _server_message(body)
    detail = f": {message}" if message else ""
    return SourceStatusError(
        f"GET {url}: HTTP {response.status_code} {response.reason_phrase}{detail}",
        response.status_code,
    )


def _server_message(body: bytes) -> str:
    """The Punk API error body's ``message`` (and each bad parameter), else the body's start."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _peek(body)
    if not isinstance(payload, dict):
        return _peek(body)
    message = str(payload.get("message", "")).strip()
    details = [
        f"{entry.get('param')}: {entry.get('msg')}"
        for entry in payload.get("data") or []
        if isinstance(entry, dict)
    ]
    if details:
        message = f"{message} ({'; '.join(details)})"
    return message[:500] or _peek(body)


def _too_large(response: httpx.Response, limit: int) -> SourceResponseError:
    return SourceResponseError(
        f"GET {response.request.url}: the body is larger than the {limit} bytes allowed; refused"
    )


def _describe_timeout(exc: httpx.TimeoutException, timeout: httpx.Timeout) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within the {timeout.connect:g} s connect timeout"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no answer within the {timeout.read:g} s read timeout"
    return f"{type(exc).__name__}: {exc}"


def _peek(body: bytes, limit: int = 80) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return repr(text + ("…" if len(body) > limit else ""))


def _shape(payload: Any) -> str:
    if isinstance(payload, list):
        return f"an array of {len(payload)} items"
    if isinstance(payload, dict):
        keys = ", ".join(list(payload)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    return type(payload).__name__ if payload is not None else "null"
