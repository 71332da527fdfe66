"""Recipe input: Punk API v2 JSON or BeerXML by content, defaults with warnings, field-named
refusals, and XML that cannot hurt (no DTD, no entities, bounded size)."""

from __future__ import annotations

import copy
import json
import os
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from punkml.errors import RecipeError, TooManyRecipesError
from punkml.ml.data import read_beers_file, tables_from_beers
from punkml.ml.features import RecipeFeatures, feature_names
from punkml.ml.recipes import (
    MAX_BEERXML_BYTES,
    MAX_RECIPE_FILE_BYTES,
    Recipe,
    read_recipe_file,
    read_recipes,
)

from .conftest import make_beer

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
JSON_EXAMPLE = EXAMPLES / "my_recipe.json"
BEERXML_EXAMPLE = EXAMPLES / "my_recipe.beerxml.xml"


def hop(name: str, grams: float, add: str, attribute: Any = "Bittering") -> dict[str, Any]:
    return {
        "name": name,
        "amount": {"value": grams, "unit": "grams"},
        "add": add,
        "attribute": attribute,
    }


def only_hops(*hops: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"ingredients": {"hops": list(hops)}, **fields}


def dumps(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def beerxml(*recipes: str) -> bytes:
    return ("<?xml version='1.0'?>\n<RECIPES>" + "".join(recipes) + "</RECIPES>").encode()


def xml_recipe(hops: str, extra: str = "") -> str:
    return f"<RECIPE><NAME>XML Ale</NAME>{extra}<HOPS>{hops}</HOPS></RECIPE>"


def xml_hop(
    name: str = "Magnum",
    amount: str = "0.020",
    use: str = "Boil",
    time: str = "60",
    alpha: str | None = None,
) -> str:
    alpha_tag = "" if alpha is None else f"<ALPHA>{alpha}</ALPHA>"
    return (
        f"<HOP><NAME>{name}</NAME><AMOUNT>{amount}</AMOUNT><USE>{use}</USE>"
        f"<TIME>{time}</TIME>{alpha_tag}</HOP>"
    )


def the_recipe(data: bytes) -> Recipe:
    batch = read_recipes(data)
    assert batch.refusals() == []
    (recipe,) = batch.recipes
    return recipe


# --- the least a brewer knows ---------------------------------------------------------------


def test_hops_alone_make_a_recipe_with_the_documented_defaults() -> None:
    recipe = the_recipe(dumps(only_hops(hop("Magnum", 20, "60"))))
    beer = recipe.beer
    assert beer["id"] == 1 and beer["name"] == "Recipe 1"
    assert beer["volume"] == {"value": 20.0, "unit": "litres"}
    assert beer["boil_volume"] == {"value": 25.0, "unit": "litres"}
    assert any(w.startswith("volume: not given, 20 litres") for w in recipe.warnings)
    assert any(w.startswith("boil_volume: not given, 25 litres") for w in recipe.warnings)
    assert any("1.050 assumed" in w for w in recipe.warnings)


def test_a_stated_batch_sets_the_boil_volume_default() -> None:
    recipe = the_recipe(
        dumps(only_hops(hop("Magnum", 20, "60"), volume={"value": 40, "unit": "litres"}))
    )
    assert recipe.beer["boil_volume"] == {"value": 50.0, "unit": "litres"}
    assert not any(w.startswith("volume:") for w in recipe.warnings)


def test_gravity_from_abv_when_og_is_missing() -> None:
    recipe = the_recipe(dumps(only_hops(hop("Magnum", 20, "60"), abv=6.0)))
    # 6 % ABV at 75 % attenuation: 6 / 131.25 / 0.75 = 0.061 → 1061
    assert recipe.beer["target_og"] == pytest.approx(1061.0, abs=0.1)
    assert any("estimated from abv 6%" in w for w in recipe.warnings)
    stated = the_recipe(dumps(only_hops(hop("Magnum", 20, "60"), abv=6.0, attenuation_level=80.0)))
    assert stated.beer["target_og"] == pytest.approx(1057.1, abs=0.1)
    freeze_concentrated = the_recipe(dumps(only_hops(hop("Magnum", 20, "60"), abv=55.0)))
    assert "target_og" not in freeze_concentrated.beer
    assert any("beyond what a fermented wort" in w for w in freeze_concentrated.warnings)
    given = the_recipe(dumps(only_hops(hop("Magnum", 20, "60"), abv=6.0, target_og=1050)))
    assert given.beer["target_og"] == 1050 and not any("target_og" in w for w in given.warnings)


def test_nulls_where_a_real_recipe_has_nothing() -> None:
    beer = make_beer(7)
    beer["method"] = None
    beer["ingredients"]["yeast"] = None
    beer["ingredients"]["malt"] = None
    beer["ingredients"]["hops"][0]["attribute"] = None
    recipe = the_recipe(dumps(beer))
    assert recipe.beer["id"] == 7
    tables = tables_from_beers([recipe.beer])
    assert tables.hop_additions["attribute"].tolist()[0] == "other"
    assert len(tables.malts) == 0


def test_a_bare_number_amount_is_grams() -> None:
    recipe = the_recipe(dumps(only_hops({"name": "Magnum", "amount": 20, "add": "60"})))
    assert recipe.beer["ingredients"]["hops"][0]["amount"] == {"value": 20, "unit": "grams"}


def test_the_dataset_reads_unchanged_and_quietly(dataset_beers: list[dict[str, Any]]) -> None:
    batch = read_recipes(dumps(dataset_beers))
    assert batch.format == "json" and not batch.single
    assert len(batch.recipes) == 325 and batch.refused == []
    assert batch.beers[0] == dataset_beers[0]  # complete recipes get nothing added
    noisy = {r.beer["id"]: r.warnings for r in batch.recipes if r.warnings}
    assert set(noisy) == {169}  # AB:19: a blend, no hops and no gravity


def test_unknown_variety_falls_back_with_a_warning() -> None:
    recipe = the_recipe(dumps(only_hops(hop("Zyzzyva Gold", 20, "60"), hop("Citra", 10, "5"))))
    unknown = [w for w in recipe.warnings if "unknown hop variety" in w]
    assert len(unknown) == 1 and "hops[0] 'Zyzzyva Gold'" in unknown[0] and "8%" in unknown[0]
    stated = the_recipe(dumps(only_hops(hop("Zyzzyva Gold", 20, "60", "Bittering, 11% Alpha"))))
    assert not any("unknown hop variety" in w for w in stated.warnings)


def test_non_hops_and_unplaceable_additions() -> None:
    recipe = the_recipe(
        dumps(
            only_hops(
                hop("Magnum", 20, "60"),
                hop("Coffee Beans", 100, "whenever"),
                hop("Citra", 5, "sometime"),
                {"name": "Cascade", "amount": {"value": 2, "unit": "handfuls"}, "add": "10"},
            )
        )
    )
    text = "\n".join(recipe.warnings)
    assert "Coffee" not in text  # not a hop: nothing to place, nothing to warn about
    assert "hops[2] 'Citra': add 'sometime'" in text
    assert "hops[3] 'Cascade': amount 2 'handfuls' is not a mass" in text


# --- refusals name the field; one bad recipe never stops the others -------------------------


def test_a_mixed_list_answers_the_valid_recipes_and_names_the_rest() -> None:
    good = only_hops(hop("Magnum", 20, "60"), name="Good")
    no_hops = {"name": "No hops"}
    bad_amount = only_hops(hop("Magnum", 20, "60"), hop("Citra", 10, "5"))
    bad_amount["ingredients"]["hops"][1]["amount"]["value"] = "lots"
    no_add = only_hops({"name": "Magnum", "amount": {"value": 20, "unit": "grams"}})
    batch = read_recipes(dumps([good, no_hops, bad_amount, no_add, "text", good]))
    assert [r.index for r in batch.recipes] == [0, 5]
    assert [r.index for r in batch.refused] == [1, 2, 3, 4]
    lines = batch.refusals()
    assert lines[0].startswith("recipes[1].ingredients.hops: missing: a recipe needs its hops")
    assert lines[1].startswith("recipes[2].ingredients.hops[1].amount.value:")
    assert lines[2].startswith("recipes[3].ingredients.hops[0].add: Field required")
    assert lines[3] == "recipes[4]: expected a recipe object, not str"


def test_one_object_names_fields_without_an_index() -> None:
    bad = make_beer()
    bad["volume"] = {"value": 20, "unit": "furlongs"}
    batch = read_recipes(dumps(bad))
    assert batch.single and batch.recipes == []
    assert batch.refusals()[0].startswith("volume.unit: 20 'furlongs' is not a positive volume")


def test_an_empty_hops_list_is_a_recipe_without_hops() -> None:
    recipe = the_recipe(dumps(only_hops()))
    assert "hops: none listed" in recipe.warnings[-1]


# --- format by content ----------------------------------------------------------------------


def test_the_format_is_chosen_by_content_not_by_name(tmp_path: Path) -> None:
    disguised_xml = tmp_path / "recipe.json"
    disguised_xml.write_bytes(BEERXML_EXAMPLE.read_bytes())
    disguised_json = tmp_path / "recipe.xml"
    disguised_json.write_bytes(b"\xef\xbb\xbf\n  " + JSON_EXAMPLE.read_bytes())  # BOM, blanks
    assert read_recipe_file(disguised_xml).format == "beerxml"
    assert read_recipe_file(disguised_json).format == "json"


def test_utf16_beerxml_as_some_windows_programs_write_it() -> None:
    text = BEERXML_EXAMPLE.read_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    (recipe,) = read_recipes(text.encode("utf-16")).recipes
    assert recipe.beer["name"] == "Backyard Pale Ale"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"name: my ale", "neither JSON"),
        (b'"a string"', "neither JSON"),
        (b"[]", "an empty list"),
        (b'{"name": ', "not valid JSON"),
    ],
)
def test_what_is_not_a_recipe_document(data: bytes, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        read_recipes(data)


def test_the_recipe_count_is_bounded() -> None:
    with pytest.raises(TooManyRecipesError, match="3 recipes; at most 2"):
        read_recipes(dumps([only_hops()] * 3), max_recipes=2)


# --- the shipped examples -------------------------------------------------------------------


def test_the_json_example_is_hops_and_a_name() -> None:
    raw = json.loads(JSON_EXAMPLE.read_text())
    assert set(raw) == {"name", "ingredients"} and set(raw["ingredients"]) == {"hops"}
    (recipe,) = read_recipe_file(JSON_EXAMPLE).recipes
    assert recipe.beer["name"] == "Backyard Pale Ale"
    assert recipe.beer["ingredients"]["hops"][1]["attribute"] is None


def test_the_beerxml_example_in_punk_api_terms() -> None:
    batch = read_recipe_file(BEERXML_EXAMPLE)
    assert batch.format == "beerxml"
    (recipe,) = batch.recipes
    beer = recipe.beer
    assert recipe.warnings == ()  # a complete export needs no default
    assert beer["volume"] == {"value": 20.0, "unit": "litres"}
    assert beer["boil_volume"] == {"value": 25.0, "unit": "litres"}
    assert (beer["target_og"], beer["target_fg"]) == (1052.0, 1011.0)
    assert beer["ingredients"]["yeast"] == "Wyeast Labs 1056 - American Ale"
    assert beer["attenuation_level"] == 75.0
    hops = tables_from_beers([beer]).hop_additions
    assert hops["grams"].tolist() == [15.0, 30.0, 50.0]  # AMOUNT is kilograms
    assert hops["stage"].tolist() == ["boil", "boil", "dry-hop"]
    assert hops["boil_minutes"].tolist()[:2] == [60.0, 10.0]
    assert hops["attribute"].tolist() == ["bittering", "aroma", "aroma"]
    assert hops["alpha_acid_pct"].tolist() == [14.2, 6.8, 12.5]


def test_both_examples_describe_the_same_hop_bill() -> None:
    from_json = tables_from_beers(read_beers_file(JSON_EXAMPLE)).hop_additions
    from_xml = tables_from_beers(read_beers_file(BEERXML_EXAMPLE)).hop_additions
    columns = ["hop_name", "grams", "stage", "boil_minutes"]
    assert from_json[columns].equals(from_xml[columns])


# --- BeerXML details ------------------------------------------------------------------------


def tinseth(beer: dict[str, Any]) -> float:
    features = RecipeFeatures().fit(None).transform(tables_from_beers([beer]))
    return float(features[0, feature_names().index("tinseth_ibu")])


def test_a_stated_alpha_wins_over_the_table() -> None:
    stated = the_recipe(beerxml(xml_recipe(xml_hop("Magnum", alpha="20.0"))))
    table = the_recipe(beerxml(xml_recipe(xml_hop("Magnum"))))
    assert tables_from_beers([stated.beer]).hop_additions["alpha_acid_pct"].tolist() == [20.0]
    assert tables_from_beers([table.beer]).hop_additions["alpha_acid_pct"].isna().all()
    # the same hop mass bitters in proportion to the alpha acid: 20 % here, the table's below
    from punkml.ml.alpha import default_table

    magnum = default_table().lookup("Magnum")
    assert magnum is not None and magnum != 20.0
    assert tinseth(stated.beer) / tinseth(table.beer) == pytest.approx(20.0 / magnum, rel=1e-6)


def test_beerxml_hop_uses_map_to_stages() -> None:
    hops = "".join(
        xml_hop("Magnum", use=use, time=time)
        for use, time in (
            ("Boil", "60"),
            ("Boil", "0"),
            ("First Wort", "60"),
            ("Aroma", "20"),
            ("Dry Hop", "4320"),
            ("Mash", "60"),
            ("boil", ""),
        )
    )
    recipe = the_recipe(beerxml(xml_recipe(hops)))
    table = tables_from_beers([recipe.beer]).hop_additions
    assert table["stage"].tolist() == [
        "boil",
        "boil",
        "first-wort",
        "whirlpool",
        "dry-hop",
        "mash",
        "boil",
    ]
    assert table["boil_minutes"].tolist()[:3] == [60.0, 0.0, 60.0]
    assert table["boil_minutes"].tolist()[6] == 60.0  # a boil hop without TIME: the whole boil


def test_beerxml_lower_case_tags_and_a_lone_recipe() -> None:
    data = (
        b"<recipe><name>Lower</name><hops><hop><name>Citra</name><amount>0.01</amount>"
        b"<use>Boil</use><time>15</time></hop></hops></recipe>"
    )
    recipe = the_recipe(data)
    assert recipe.beer["name"] == "Lower" and recipe.beer["ingredients"]["hops"][0]["add"] == "15"


def test_beerxml_display_fields_are_read_leniently() -> None:
    extra = "<EST_OG>1.060 SG</EST_OG><EST_ABV>6.1 %</EST_ABV><IBU>40.2 IBUs</IBU>"
    recipe = the_recipe(beerxml(xml_recipe(xml_hop(), extra)))
    assert recipe.beer["target_og"] == 1060.0 and recipe.beer["abv"] == 6.1
    assert recipe.beer["ibu"] == 40.2


def test_beerxml_refusals_name_the_tag_and_keep_the_other_recipes() -> None:
    data = beerxml(
        xml_recipe(xml_hop()),
        xml_recipe(xml_hop(amount="a pinch")),
        xml_recipe(xml_hop(use="Sometimes")),
        "<RECIPE><NAME>No hops</NAME></RECIPE>",
        xml_recipe(xml_hop(amount="-0.01") + "<HOP><AMOUNT>0.01</AMOUNT><USE>Boil</USE></HOP>"),
        xml_recipe(xml_hop(), "<BATCH_SIZE>twenty</BATCH_SIZE>"),
    )
    batch = read_recipes(data)
    assert [r.index for r in batch.recipes] == [0]
    assert batch.refusals() == [
        "recipes[1].HOPS.HOP[0].AMOUNT: 'a pinch' is not a number",
        "recipes[2].HOPS.HOP[0].USE: 'Sometimes' is not a BeerXML hop use: Boil, Dry Hop, Mash, "
        "First Wort or Aroma",
        "recipes[3].HOPS: missing: a recipe needs its hops (NAME, AMOUNT and USE)",
        "recipes[4].HOPS.HOP[0].AMOUNT: -0.01 kg: must not be negative",
        "recipes[4].HOPS.HOP[1].NAME: required: the hop's variety",
        "recipes[5].BATCH_SIZE: 'twenty' is not a number",
    ]


# --- XML that cannot hurt -------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<RECIPES><RECIPE><NAME>&lol3;</NAME></RECIPE></RECIPES>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<RECIPES><RECIPE><NAME>&secret;</NAME></RECIPE></RECIPES>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE RECIPES SYSTEM "http://127.0.0.1:9/beerxml.dtd">
<RECIPES><RECIPE><NAME>x</NAME></RECIPE></RECIPES>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(RecipeError, match=r"document type declaration \(<!DOCTYPE …>\) is refused"):
        read_recipes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"<RECIPES><RECIPE><NAME>x</RECIPE></RECIPES>",
            r"not well-formed XML: mismatched tag: line 1, column 26",
        ),
        (b"<RECIPES><RECIPE>", "not well-formed XML: no element found"),
        (b"<RECIPES></RECIPES>", "holds no <RECIPE>"),
        (b"<HOPS><HOP/></HOPS>", "the root element is <HOPS>"),
    ],
)
def test_malformed_xml_names_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        read_recipes(data)


def test_a_huge_xml_body_is_refused_before_parsing() -> None:
    data = b"<RECIPES>" + b" " * MAX_BEERXML_BYTES + b"</RECIPES>"
    with pytest.raises(RecipeError, match=f"at most {MAX_BEERXML_BYTES} bytes"):
        read_recipes(data)


def test_a_huge_file_is_refused_by_its_size(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # sparse: no disk is spent
        handle.truncate(MAX_RECIPE_FILE_BYTES + 1)
    with pytest.raises(RecipeError, match=f"may hold at most {MAX_RECIPE_FILE_BYTES}"):
        read_recipe_file(huge)


def test_a_stream_without_a_size_is_read_with_the_bound(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import punkml.ml.recipes as recipes

    monkeypatch.setattr(recipes, "MAX_RECIPE_FILE_BYTES", 1000)
    with pytest.raises(RecipeError, match="holds more than 1000 bytes"):
        read_recipe_file(Path("/dev/zero"))  # endless, and its size says 0
    fifo = tmp_path / "recipe.pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(JSON_EXAMPLE.read_bytes()))
    writer.start()
    assert read_recipe_file(fifo).recipes[0].beer["name"] == "Backyard Pale Ale"
    writer.join()


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_files_that_are_not_recipe_files(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "nothing" if kind == "missing" else tmp_path
    with pytest.raises(RecipeError, match="not found" if kind == "missing" else "is a directory"):
        read_recipe_file(path)


def test_reading_does_not_change_the_input() -> None:
    raw = only_hops(hop("Magnum", 20, "60", None))
    before = copy.deepcopy(raw)
    read_recipes(dumps(raw))
    assert raw == before


# --- mutated recipes: a clear answer for every one, never a crash -------------------------

ODD_VALUES: list[Any] = [None, "", "x", "60", -1, 0, 1e308, True, [], {}, [1], {"value": None}]


def mutations(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """``value`` with one random field removed or replaced by an odd value, somewhere inside."""
    if isinstance(value, dict) and value and depth < 6:
        key = rng.choice(sorted(value))
        changed = dict(value)
        roll = rng.random()
        if roll < 0.2:
            del changed[key]
        elif roll < 0.45:
            changed[key] = rng.choice(ODD_VALUES)
        else:
            changed[key] = mutations(value[key], rng, depth + 1)
        return changed
    if isinstance(value, list) and value and depth < 6:
        position = rng.randrange(len(value))
        changed_list = list(value)
        changed_list[position] = mutations(value[position], rng, depth + 1)
        return changed_list
    return rng.choice(ODD_VALUES)


def test_mutated_json_recipes_are_answered_or_refused_by_field() -> None:
    rng = random.Random(14)
    base = [json.loads(JSON_EXAMPLE.read_text()), make_beer(2)]
    for _ in range(200):
        batch = read_recipes(dumps(mutations(base, rng)))
        assert len(batch) == 2
        for refused in batch.refused:
            assert refused.problems and all(p.message for p in refused.problems)
        tables_from_beers(batch.beers)  # what is accepted, the cleaning takes


def test_mutated_beerxml_is_answered_or_refused_with_a_reason() -> None:
    from xml.etree import ElementTree

    rng = random.Random(13)
    template = BEERXML_EXAMPLE.read_text()
    elements = ElementTree.fromstring(template.encode()).iter()
    texts = sorted({e.text.strip() for e in elements if e.text and e.text.strip()})
    odd = ["", "-1", "nan", "inf", "1e400", "lots", "0", "Boil", "&amp;", "<X/>", "9" * 400]
    for _ in range(200):
        text = template
        for _ in range(rng.randint(1, 3)):
            text = text.replace(f">{rng.choice(texts)}<", f">{rng.choice(odd)}<", 1)
        if rng.random() < 0.2:
            cut = rng.randrange(len(text))
            text = text[:cut]
        try:
            batch = read_recipes(text.encode())
        except RecipeError as exc:
            assert str(exc).startswith("BeerXML: ")
            continue
        tables_from_beers(batch.beers)
