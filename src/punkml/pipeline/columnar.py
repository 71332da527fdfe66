"""The cleaning: beers validated, parsed and cleaned into the cleaned tables by columns.

This is the one cleaning implementation. It builds no Python object per value:

1. **Gate.** Each payload is decoded once by a msgspec decoder generated from the schema's typed
   dicts (``punkml.source.schema``: the schema stays declared once), with the same strictness, the
   same required and optional keys and the same length and range constraints. The decoder runs in
   C and accepts a subset of what pydantic accepts (see ``tests/pipeline/test_columnar.py``, which
   checks that on thousands of mutated beers). What it refuses is judged by the schema's pydantic
   adapter, which has the last word: its error for a dead letter, or the beer re-serialized as one
   line of JSON for the next steps (``punkml.pipeline.cleaned``).
2. **Parse.** The valid payloads are joined into one newline-delimited block and parsed by Arrow's
   JSON reader into nested columns, only the fields the cleaned tables need.
3. **Clean.** The tables (``punkml.pipeline.lake_schema``, built by column name) are computed
   column-wise with the rules of ``punkml.pipeline.normalize``, applied once per distinct spelling
   (units, ``add`` texts, hop and malt names).
"""

from __future__ import annotations

import functools
import io
import operator
import types
import typing
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, NotRequired, Required

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
from typing_extensions import is_typeddict

from punkml.pipeline.lake_schema import BEERS, HOP_ADDITIONS, MALTS, TIMESTAMP
from punkml.pipeline.normalize import (
    DEFAULT_BOIL_MINUTES,
    HopFacts,
    addition_minutes,
    grams,
    hop_facts,
    ibu_flag,
    litres,
)
from punkml.source.schema import Beer, Bounds

# The annotated-types constraints pydantic's ``Field`` records, by class name → msgspec.Meta keyword.
_CONSTRAINTS = {
    "MaxLen": "max_length",
    "MinLen": "min_length",
    "Gt": "gt",
    "Ge": "ge",
    "Lt": "lt",
    "Le": "le",
}
_PLAIN_TYPES = (str, int, float, bool, type(None))


# -- 1. the gate -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def gate_decoder() -> msgspec.json.Decoder[Any]:
    """A msgspec JSON decoder that accepts exactly the beers the schema's pydantic adapter
    accepts, or fewer (never more)."""
    return msgspec.json.Decoder(_gate_type(Beer, {}), strict=True)


def _constraints(extras: Sequence[Any]) -> dict[str, Any]:
    """msgspec.Meta keywords for the metadata of an ``Annotated`` type.

    A ``Bounds`` with an alternative range (gravities as 1.050 or 1050) becomes its first range
    only: a subset of what pydantic accepts, so the other convention goes to pydantic.
    """
    constraints: dict[str, Any] = {}
    for extra in extras:
        if isinstance(extra, Bounds):
            constraints["ge"], constraints["le"] = extra.low, extra.high
            continue
        for item in getattr(extra, "metadata", None) or [extra]:
            keyword = _CONSTRAINTS.get(type(item).__name__)
            if keyword is None:
                raise TypeError(f"no msgspec equivalent for the schema constraint {item!r}")
            constraints[keyword] = getattr(item, keyword)
    return constraints


def _gate_type(hint: Any, structs: dict[type, Any]) -> Any:
    """The msgspec type checking what pydantic checks for ``hint`` (strict, extra keys ignored).

    Raises ``TypeError`` for anything it does not know how to mirror, so a schema change cannot
    silently weaken the gate.
    """
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *extras = typing.get_args(hint)
        return Annotated[_gate_type(base, structs), msgspec.Meta(**_constraints(extras))]
    if origin in (typing.Union, types.UnionType):
        members = [_gate_type(arg, structs) for arg in typing.get_args(hint)]
        return functools.reduce(operator.or_, members)
    if origin is list:
        (item,) = typing.get_args(hint)
        return list[_gate_type(item, structs)]  # type: ignore[misc]
    if is_typeddict(hint):
        if hint not in structs:
            fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
            for name, field_hint in typing.get_type_hints(hint, include_extras=True).items():
                required = typing.get_origin(field_hint) is not NotRequired
                if typing.get_origin(field_hint) in (NotRequired, Required):
                    (field_hint,) = typing.get_args(field_hint)
                gate = _gate_type(field_hint, structs)
                # A missing optional key decodes to None; the decoded value is never used.
                fields.append((name, gate) if required else (name, gate, None))
            # pydantic ignores unknown keys unless the typed dict's config forbids them.
            extra = (getattr(hint, "__pydantic_config__", None) or {}).get("extra", "ignore")
            structs[hint] = msgspec.defstruct(
                f"Gate{hint.__name__}",
                fields,
                kw_only=True,
                gc=False,
                forbid_unknown_fields=extra == "forbid",
            )
        return structs[hint]
    if hint in _PLAIN_TYPES:
        return hint
    raise TypeError(f"no msgspec equivalent for the schema type {hint!r}")


def passes_gate(data: bytes) -> bool:
    """True if ``data`` is one line of JSON that is certainly a valid beer."""
    if b"\n" in data or b"\r" in data:
        return False  # valid JSON may span lines, but the block parser reads one record a line
    try:
        gate_decoder().decode(data)
    except Exception:
        return False
    return True


# -- 2. the parse ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def parse_schema() -> pa.Schema:
    """The fields of a beer the cleaned tables read, typed as the tables store them."""
    quantity = pa.struct([("value", pa.float64()), ("unit", pa.string())])
    hop = pa.struct(
        [
            ("name", pa.string()),
            ("amount", quantity),
            ("add", pa.string()),
            ("attribute", pa.string()),
        ]
    )
    malt = pa.struct([("name", pa.string()), ("amount", quantity)])
    numbers = ("abv", "ibu", "target_fg", "target_og", "ebc", "srm", "ph", "attenuation_level")
    return pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("first_brewed", pa.string()),
            *[(name, pa.float64()) for name in numbers],
            ("volume", quantity),
            ("boil_volume", quantity),
            (
                "ingredients",
                pa.struct(
                    [
                        ("malt", pa.list_(malt)),
                        ("hops", pa.list_(hop)),
                        ("yeast", pa.string()),
                    ]
                ),
            ),
        ]
    )


def parse_block(payloads: Sequence[bytes]) -> pa.Table | None:
    """The payloads (each one line of JSON) parsed into one row each; None if Arrow refuses."""
    block = b"\n".join(payloads)
    try:
        table = pajson.read_json(
            io.BytesIO(block),
            # One block per batch (Arrow splits larger ones; its block size is a 32-bit int).
            read_options=pajson.ReadOptions(
                use_threads=False, block_size=min(len(block) + 1, 1 << 30)
            ),
            parse_options=pajson.ParseOptions(
                explicit_schema=parse_schema(), unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return table if table.num_rows == len(payloads) else None


# -- 3. the cleaning -------------------------------------------------------------------------------


def clean_columns(
    parsed: pa.Table, seqs: Sequence[int], arrived_at_ms: Sequence[int]
) -> dict[str, pa.Table]:
    """The cleaned tables (by name) of valid beers parsed by ``parse_block``; row i is stream
    record ``seqs[i]``, arrived at ``arrived_at_ms[i]`` (its ``ingested_at``)."""
    seq = np.asarray(seqs, dtype=np.int64)
    micros = np.asarray(arrived_at_ms, dtype=np.int64) * 1000
    column = {name: parsed.column(name).combine_chunks() for name in parsed.column_names}
    ingredients = column["ingredients"]
    hops = _list_column(ingredients.field("hops"))
    malts = _list_column(ingredients.field("malt"))
    boil_total = _boil_totals(hops.values.field("add"), hops.offsets)
    as_received = ("id", "name", "abv", "ibu", "target_fg", "target_og", "ebc", "srm", "ph")
    beers = BEERS.table(
        {
            **{name: column[name] for name in (*as_received, "attenuation_level")},
            "volume_litres": _converted(column["volume"], litres, positive_only=True),
            "boil_volume_litres": _converted(column["boil_volume"], litres, positive_only=True),
            "boil_minutes": boil_total,
            "yeast": ingredients.field("yeast"),
            "first_brewed": _mapped(column["first_brewed"], _blank_as_none, pa.string()),
            "ibu_flag": _ibu_flags(column["ibu"], column["target_og"]),
            "hop_count": np.diff(hops.offsets),
            "malt_count": np.diff(malts.offsets),
            "seq": seq,
            "ingested_at": _timestamps(micros),
        }
    )
    rows = Rows(seq, column["id"].to_numpy(zero_copy_only=False), micros)
    return {
        BEERS.name: beers,
        HOP_ADDITIONS.name: _hop_additions(hops, rows, boil_total),
        MALTS.name: _malts(malts, rows),
    }


class _Lists(typing.NamedTuple):
    """A list column's items and offsets (row i's items are ``values[offsets[i]:offsets[i+1]]``)."""

    values: pa.StructArray
    offsets: np.ndarray[Any, np.dtype[np.int64]]

    def parents(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """For each item, the row it belongs to."""
        counts = np.diff(self.offsets)
        return np.repeat(np.arange(len(counts), dtype=np.int64), counts)

    def positions(self, parents: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
        """For each item, its index within its row's list."""
        return np.arange(len(self.values), dtype=np.int64) - self.offsets[:-1][parents]


class Rows(typing.NamedTuple):
    """Per beer row: its stream sequence number, beer id and arrival time (µs since the epoch)."""

    seq: np.ndarray[Any, np.dtype[np.int64]]
    beer_id: np.ndarray[Any, np.dtype[np.int64]]
    micros: np.ndarray[Any, np.dtype[np.int64]]

    def columns(self, items: _Lists) -> dict[str, Any]:
        """The ``seq``, ``beer_id``, ``position`` and ``ingested_at`` columns of child rows."""
        parents = items.parents()
        return {
            "seq": self.seq[parents],
            "beer_id": self.beer_id[parents],
            "position": items.positions(parents),
            "ingested_at": _timestamps(self.micros[parents]),
        }


def _timestamps(micros: np.ndarray[Any, Any]) -> pa.Array:
    return pa.array(micros, pa.int64()).cast(TIMESTAMP)


def _list_column(column: pa.Array) -> _Lists:
    """A list column's items and offsets, with a missing (null) list read as an empty one."""
    counts = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return _Lists(pc.list_flatten(column), offsets)


def _encode(array: pa.Array) -> tuple[np.ndarray[Any, Any], list[Any]]:
    """Codes and distinct values of a column (nulls become the value None)."""
    encoded = pc.dictionary_encode(array, null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary.to_pylist()


def _mapped(array: pa.Array, function: Any, type_: pa.DataType) -> pa.Array:
    """``function`` of every value, computed once per distinct value."""
    codes, distinct = _encode(array)
    return pa.array([function(value) for value in distinct], type_).take(pa.array(codes))


def _blank_as_none(text: str | None) -> str | None:
    return text or None


def _ibu_flags(ibu: pa.Array, target_og: pa.Array) -> pa.Array:
    """``normalize.ibu_flag`` of every row, computed once per distinct (ibu, target_og) pair."""
    ibu_codes, ibus = _encode(ibu)
    og_codes, ogs = _encode(target_og)
    _, first, inverse = np.unique(
        ibu_codes * len(ogs) + og_codes, return_index=True, return_inverse=True
    )
    flags = [ibu_flag(ibus[ibu_codes[row]], ogs[og_codes[row]]) for row in first.tolist()]
    return pa.array(flags, pa.string()).take(pa.array(inverse.reshape(-1), pa.int64()))


def _boil_totals(adds: pa.Array, offsets: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Each beer's boil length: ``normalize.boil_length_minutes`` of its hops' ``add`` texts."""
    codes, distinct = _encode(adds)
    minutes = np.array(
        [np.nan if (m := addition_minutes(text)) is None else m for text in distinct],
        dtype=np.float64,
    )[codes]
    totals = np.full(len(offsets) - 1, DEFAULT_BOIL_MINUTES, dtype=np.float64)
    counts = np.diff(offsets)
    starts = offsets[:-1][counts > 0]
    if len(starts):
        # Items of a beer are contiguous: each segment runs to the next non-empty beer's start.
        longest = np.fmax.reduceat(minutes, starts)
        totals[counts > 0] = np.fmax(totals[counts > 0], longest)
    return totals


def _converted(quantity: pa.StructArray, convert: Any, *, positive_only: bool) -> pa.Array:
    """``convert(value, unit)`` for every row, for a conversion that is ``value * factor(unit)``
    (``litres``, ``grams``), refused for a missing value or an unknown unit, and for a negative
    value (or, with ``positive_only``, a zero one): the factor is looked up once per unit."""
    codes, units = _encode(quantity.field("unit"))
    factors = _floats([convert(1.0, unit) for unit in units])[codes]
    return _scaled(quantity.field("value"), factors, positive_only=positive_only)


def _scaled(
    values: pa.Array, factors: np.ndarray[Any, Any], *, positive_only: bool = False
) -> pa.Array:
    """``value * factor`` per row; null where the value is missing or negative (or not positive
    with ``positive_only``) or the factor is NaN (no factor)."""
    numbers = values.to_numpy(zero_copy_only=False).astype(np.float64)
    with np.errstate(invalid="ignore"):
        usable = (numbers > 0) if positive_only else (numbers >= 0)
        result = numbers * factors
    usable &= ~np.isnan(factors)
    return pa.array(result, pa.float64(), mask=~usable)


def _floats(values: Sequence[float | None]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``values`` as a float array, None as NaN."""
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


def _hop_additions(hops: _Lists, rows: Rows, boil_total: np.ndarray[Any, Any]) -> pa.Table:
    """The ``hop_additions`` rows, with ``normalize.hop_facts`` once per distinct (name, add,
    attribute, unit, boil length)."""
    items, parents = hops.values, hops.parents()
    amount = items.field("amount")
    attribute = pc.fill_null(items.field("attribute"), "")  # null here means the key was absent
    parts = [
        _encode(items.field("name")),
        _encode(items.field("add")),
        _encode(attribute),
        _encode(amount.field("unit")),
    ]
    totals, total_codes = np.unique(boil_total, return_inverse=True)
    parts.append((total_codes.reshape(-1)[parents], totals.tolist()))
    key, span = np.zeros(len(items), dtype=np.int64), 1
    for codes, distinct in parts:
        if span * len(distinct) >= 2**62:  # renumber densely (< len(items)) before it overflows
            key = np.unique(key, return_inverse=True)[1].reshape(-1)
            span = len(items)
        key, span = key * len(distinct) + codes, span * len(distinct)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    facts = [
        hop_facts(*(distinct[codes[item]] for codes, distinct in parts)) for item in first.tolist()
    ]
    take = pa.array(inverse.reshape(-1), pa.int64())

    def fact(name: str) -> pa.Array:
        values = [getattr(one, name) for one in facts]
        return pa.array(values, HOP_ADDITIONS.column(name).type).take(take)

    factors = _floats([one.grams_per_unit for one in facts])[inverse.reshape(-1)]
    return HOP_ADDITIONS.table(
        {
            **rows.columns(hops),
            "grams": _scaled(amount.field("value"), factors),
            "amount_value": amount.field("value"),
            "amount_unit": amount.field("unit"),
            "add_raw": items.field("add"),
            "attribute_raw": attribute,
            **{name: fact(name) for name in _HOP_FACT_COLUMNS},
        }
    )


# The hop_additions columns that are a ``HopFacts`` field of the same name.
_HOP_FACT_COLUMNS = tuple(name for name in HopFacts._fields if name != "grams_per_unit")


def _malts(malts: _Lists, rows: Rows) -> pa.Table:
    """The ``malts`` rows."""
    items = malts.values
    amount = items.field("amount")
    return MALTS.table(
        {
            **rows.columns(malts),
            "malt_name": _mapped(items.field("name"), str.strip, pa.string()),
            "kilograms": pc.divide(_converted(amount, grams, positive_only=False), 1000.0),
            "amount_value": amount.field("value"),
            "amount_unit": amount.field("unit"),
        }
    )
