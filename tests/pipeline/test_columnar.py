"""The one cleaning, column-wise: a batch gives the rows its records give one at a time, and the
gate is never more permissive than the schema."""

from __future__ import annotations

import copy
import json
import random
from typing import Annotated, Any

import orjson
import pyarrow as pa
import pytest
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from punkml.errors import SchemaError
from punkml.pipeline import columnar
from punkml.pipeline.cleaned import MAX_BEER_BYTES
from punkml.pipeline.normalize import ibu_flag
from punkml.pipeline.stream import Record
from punkml.pipeline.transform import TransformedBatch, concat_batches, transform_batch
from punkml.source.schema import validate_beer_json

T0 = 1_767_322_800_000  # 2026-01-02 03:00:00 UTC


def _records(payloads: list[bytes], at: int = T0) -> list[Record]:
    # Two arrival times, so the per-row ingestion time is checked too.
    return [
        Record(seq, f"key-{seq}", at + (seq % 2) * 1500, data)
        for seq, data in enumerate(payloads, start=1)
    ]


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    # NaN (which the schema lets through) compared as a value, not as "unequal to itself".
    return [
        {key: "NaN" if value != value else value for key, value in row.items()}
        for row in table.to_pylist()
    ]


def one_by_one(records: list[Record]) -> TransformedBatch:
    """Each record cleaned as a batch of one, the results concatenated in stream order."""
    return concat_batches([transform_batch([record]) for record in records])


def _assert_same(fast: TransformedBatch, slow: TransformedBatch) -> None:
    assert fast.tables.keys() == slow.tables.keys()
    for name, table in slow.tables.items():
        assert fast.tables[name].schema == table.schema, name
        assert _rows(fast.tables[name]) == _rows(table), name
    assert fast.dead_letters.to_pylist() == slow.dead_letters.to_pylist()


def test_every_dataset_beer_passes_the_gate_and_a_batch_gives_the_rows_of_one_by_one(
    beers: list[dict[str, Any]],
) -> None:
    payloads = [orjson.dumps({**beer, "id": index}) for index, beer in enumerate(beers * 2, 1)]
    assert all(columnar.passes_gate(payload) for payload in payloads)
    parsed = columnar.parse_block(payloads)
    assert parsed is not None and parsed.num_rows == len(payloads)
    records = _records(payloads)
    slow = one_by_one(records[:40] + records[-40:])
    assert slow.tables["hop_additions"].num_rows > 400  # a real comparison, not two empty tables
    whole = transform_batch(records)
    assert whole.tables["beers"].num_rows == len(payloads) and whole.dead_letters.num_rows == 0
    _assert_same(transform_batch(records[:40] + records[-40:]), slow)


def test_records_the_gate_refuses_are_decided_by_the_schema(beers: list[dict[str, Any]]) -> None:
    beer = beers[4]
    missing_value = copy.deepcopy(beer)
    del missing_value["ingredients"]["hops"][1]["amount"]["value"]  # required, though nullable
    null_value = copy.deepcopy(beer)
    null_value["ingredients"]["hops"][1]["amount"]["value"] = None  # allowed: no grams
    no_attribute = copy.deepcopy(beer)
    del no_attribute["ingredients"]["hops"][0]["attribute"]  # optional: cleaned as ''
    null_attribute = copy.deepcopy(beer)
    null_attribute["ingredients"]["hops"][0]["attribute"] = 5  # refused: not a string
    payloads = [
        orjson.dumps(beers[0]),
        orjson.dumps(missing_value),
        orjson.dumps(null_value),
        orjson.dumps(beers[1], option=orjson.OPT_INDENT_2),  # valid, but spans lines
        b"\xffnot json",
        orjson.dumps(no_attribute),
        orjson.dumps(null_attribute),
        b'{"id": 1, "id": 2}',
        orjson.dumps({**beers[2], "padding": "x" * MAX_BEER_BYTES}),
        # NaN is not JSON; the schema refuses it too (numbers must be finite).
        orjson.dumps(beers[3]).replace(b'"abv":', b'"abv":NaN,"x":', 1),
        orjson.dumps(beers[3]),
    ]
    records = _records(payloads)
    slow = one_by_one(records)
    fast = transform_batch(records)
    _assert_same(fast, slow)
    assert [row["seq"] for row in fast.tables["beers"].to_pylist()] == [1, 3, 4, 6, 11]
    dead = {row["seq"] for row in fast.dead_letters.to_pylist()}
    assert dead == {2, 5, 7, 8, 9, 10}
    assert not columnar.passes_gate(payloads[1])  # the missing value is caught by the gate itself


def test_a_beer_arrow_cannot_parse_is_cleaned_alone(beers: list[dict[str, Any]]) -> None:
    # Duplicate keys are valid JSON that both validators accept (the last one wins), but Arrow's
    # reader refuses them: the batch is then cleaned one beer at a time.
    duplicated = orjson.dumps(beers[5]).replace(b'"abv":', b'"abv":99.0,"abv":', 1)
    assert columnar.passes_gate(duplicated)
    assert columnar.parse_block([orjson.dumps(beers[0]), duplicated]) is None
    records = _records([orjson.dumps(beers[0]), duplicated])
    _assert_same(transform_batch(records), one_by_one(records))
    assert transform_batch(records).tables["beers"].column("abv").to_pylist()[1] == beers[5]["abv"]


# -- the gate never accepts more than the schema -----------------------------------------------

_WRONG_VALUES: tuple[Any, ...] = (
    None,
    "",
    "12",
    "x" * 600,
    "y" * 25_000,
    0,
    -3,
    2**53,
    2**70,
    1.5,
    -0.0,
    1e308,
    True,
    [],
    [1, "a"],
    {},
    {"value": 1},
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(beer: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    mutant = copy.deepcopy(beer)
    for _ in range(rng.choice((1, 1, 2, 3))):
        paths = _paths(mutant)
        path = rng.choice(paths)
        parent = mutant
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = rng.random()
        if action < 0.25 and isinstance(parent, dict):
            del parent[last]
        elif action < 0.35 and isinstance(parent, dict):
            parent[f"extra_{rng.randrange(3)}"] = copy.deepcopy(rng.choice(_WRONG_VALUES))
        else:
            parent[last] = copy.deepcopy(rng.choice(_WRONG_VALUES))
    return mutant


def _schema_accepts(payload: bytes) -> bool:
    try:
        validate_beer_json(payload)
    except SchemaError:
        return False
    return True


def test_the_gate_accepts_only_what_the_schema_accepts(beers: list[dict[str, Any]]) -> None:
    rng = random.Random(20261128)
    payloads = [
        json.dumps(_mutate(rng.choice(beers), rng), ensure_ascii=False).encode()  # 2**70 too
        for _ in range(3000)
    ]
    verdicts = [(columnar.passes_gate(p), _schema_accepts(p)) for p in payloads]
    too_permissive = [
        p for p, (gate, schema) in zip(payloads, verdicts, strict=True) if gate and not schema
    ]
    assert too_permissive == []
    # Both verdicts occur plenty, so the comparison means something.
    assert sum(gate for gate, _ in verdicts) > 300
    assert sum(not schema for _, schema in verdicts) > 500
    # And the mutants, valid and invalid mixed, clean to the same rows either way.
    records = _records(payloads[:800])
    _assert_same(transform_batch(records), one_by_one(records))


def test_a_schema_constraint_without_a_msgspec_twin_is_refused() -> None:
    class Patterned(TypedDict):
        code: Annotated[str, Field(pattern="^[A-Z]+$")]

    with pytest.raises(TypeError, match="constraint"):
        columnar._gate_type(Patterned, {})

    class Odd(TypedDict):
        when: bytes

    with pytest.raises(TypeError, match="type"):
        columnar._gate_type(Odd, {})


def test_a_typed_dict_that_forbids_extra_keys_makes_the_gate_forbid_them() -> None:
    import msgspec

    @with_config(ConfigDict(strict=True, extra="forbid"))
    class Closed(TypedDict):
        name: str

    class Open(TypedDict):
        name: str

    payload = b'{"name": "x", "other": 1}'
    with pytest.raises(msgspec.ValidationError, match="other"):
        msgspec.json.decode(payload, type=columnar._gate_type(Closed, {}))
    assert msgspec.json.decode(payload, type=columnar._gate_type(Open, {})).name == "x"


def test_empty_lists_and_missing_optional_fields(beers: list[dict[str, Any]]) -> None:
    bare = {key: beers[0][key] for key in ("id", "name", "volume", "boil_volume", "method")} | {
        "ingredients": {}
    }
    no_hops = copy.deepcopy(beers[1])
    no_hops["ingredients"]["hops"] = []
    gallons = copy.deepcopy(beers[2])
    gallons["volume"] = {"value": 5, "unit": "gallons"}
    gallons["ingredients"]["malt"][0]["amount"] = {"value": None, "unit": "kilograms"}
    gallons["ingredients"]["hops"][0]["amount"] = {"value": 3, "unit": "pieces"}
    payloads = [orjson.dumps(b) for b in (bare, no_hops, gallons, beers[3])]
    assert all(columnar.passes_gate(p) for p in payloads)
    records = _records(payloads)
    fast = transform_batch(records)
    _assert_same(fast, one_by_one(records))
    rows = fast.tables["beers"].to_pylist()
    assert [(r["hop_count"], r["malt_count"]) for r in rows[:2]] == [
        (0, 0),
        (0, len(beers[1]["ingredients"]["malt"])),
    ]
    assert rows[2]["volume_litres"] == pytest.approx(5 * 3.785411784)
    assert isinstance(fast.tables["malts"], pa.Table)


def test_a_batch_of_all_distinct_spellings_is_cleaned_right(beers: list[dict[str, Any]]) -> None:
    # 8,000 hop additions, every name, add, attribute and unit distinct: a combined key of the
    # five normalization inputs would overflow 64 bits (8,000**5 > 2**64) unless renumbered.
    payloads = []
    for row in range(80):
        beer = copy.deepcopy(beers[row % len(beers)])
        beer["ingredients"]["hops"] = [
            {
                "name": f"Hop {row}-{item}",
                "amount": {"value": float(item), "unit": f"grams{row}-{item}"},
                "add": f"{row * 100 + item} min",
                "attribute": f"attr {row}-{item}",
            }
            for item in range(100)
        ]
        payloads.append(orjson.dumps(beer))
    records = _records(payloads)
    fast = transform_batch(records)
    assert fast.tables["hop_additions"].num_rows == 8_000
    _assert_same(fast, one_by_one(records))


def test_ibu_flags_and_blank_first_brewed_are_judged_row_by_row(
    beers: list[dict[str, Any]],
) -> None:
    # The flag and the blank date are computed once per distinct value: every row still gets
    # its own, whatever repeats around it.
    cases = [
        (None, 1050.0, ""),
        (45.0, None, "09/2007"),
        (1085.0, 1085.0, ""),
        (1085.0, 1050.0, "09/2007"),
        (450.0, 1060.0, "01/2010"),
        (45.0, 1060.0, ""),
        (None, None, "09/2007"),
    ]
    payloads = []
    for number, (ibu, target_og, first_brewed) in enumerate(cases * 2, 1):
        beer = {**beers[number % len(beers)], "id": number}
        beer.update(ibu=ibu, target_og=target_og, first_brewed=first_brewed)
        payloads.append(orjson.dumps(beer))
    records = _records(payloads)
    fast = transform_batch(records)
    assert not fast.dead_letters.num_rows
    rows = fast.tables["beers"].to_pylist()
    assert [row["ibu_flag"] for row in rows] == [ibu_flag(i, og) for i, og, _ in cases * 2]
    assert [row["first_brewed"] for row in rows] == [text or None for _, _, text in cases * 2]
    _assert_same(fast, one_by_one(records))
