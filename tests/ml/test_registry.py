"""The registry: versions, promotion, SHA-256 verification, trusted types only."""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import locale
import os
import platform
import re
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from punkml.errors import ModelError
from punkml.ml.data import RecipeTables
from punkml.ml.features import SeedFeatures
from punkml.ml.models import MODEL_FORMAT, IbuModel, training_mask
from punkml.ml.registry import (
    CARD_FILE,
    FEATURES_FILE,
    IMPORTANCES_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_FILE,
    OUT_OF_FOLD_FILE,
    PROMOTED_FILE,
    TRUSTED_TYPES,
    library_versions,
    list_models,
    load_model,
    new_version,
    promote,
    promoted_version,
    read_manifest,
    read_verified_json,
    resolve_model_dir,
    save_model,
    sha256_file,
)


@pytest.fixture(scope="module")
def small_model(dataset_tables: RecipeTables) -> IbuModel:
    """A model fitted in milliseconds (a linear regression on the seed's columns): the registry
    stores any ``IbuModel``; the served types' round trip is ``test_save_load_round_trip``'s."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    train = dataset_tables.take(np.flatnonzero(training_mask(dataset_tables, "baseline")))
    model = IbuModel(
        model_type="baseline",
        features=SeedFeatures(),
        regressor=make_pipeline(SimpleImputer(), LinearRegression()),
        interval_scale="absolute",
    )
    return model.fit(train, train.target())


def save(models_dir: Path, model: IbuModel, version: str) -> Path:
    return save_model(
        models_dir,
        model,
        fingerprint="ab" * 32,
        metrics={"seed": {"mae": 1.0}},
        card="# card\n",
        version=version,
    )


def test_save_load_round_trip(tmp_path: Path, fitted_models: dict[str, IbuModel]) -> None:
    path = save(tmp_path, fitted_models["recipe"], "v1-recipe")
    for name in (MODEL_FILE, MANIFEST_FILE, "metrics.json", "features.json", "MODEL_CARD.md"):
        assert (path / name).is_file()
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    assert manifest["training_data_fingerprint"] == "ab" * 32
    assert {"scikit-learn", "numpy", "skops"} <= set(manifest["libraries"])
    model, _ = load_model(path)
    assert model.feature_names_ == fitted_models["recipe"].feature_names_


def test_a_tampered_model_is_refused(tmp_path: Path, small_model: IbuModel) -> None:
    path = save(tmp_path, small_model, "v1-baseline")
    data = bytearray((path / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(path)


@pytest.mark.parametrize("stored", [None, MODEL_FORMAT + 1], ids=["before-formats", "newer"])
def test_a_model_of_another_format_is_refused_with_a_hint_to_train_again(
    tmp_path: Path, small_model: IbuModel, stored: int | None
) -> None:
    # A model stored by an earlier punkml lacks attributes the code now reads: refused at load,
    # by name, instead of an AttributeError on its first prediction.
    other = copy.deepcopy(small_model)
    if stored is None:
        del other.model_format_
    else:
        other.model_format_ = stored
    path = save(tmp_path, other, "v1-baseline")
    found = 1 if stored is None else stored
    with pytest.raises(ModelError) as refused:
        load_model(path)
    assert str(refused.value) == (
        f"model v1-baseline was trained by another punkml (model format {found}; this one "
        f"reads format {MODEL_FORMAT}): train it again with `punkml train` (or `punkml run`)"
    )
    assert small_model.model_format_ == MODEL_FORMAT
    load_model(save(tmp_path, small_model, "v2-baseline"))  # the current format loads


def test_untrusted_types_are_refused(tmp_path: Path, small_model: IbuModel) -> None:
    import skops.io as sio

    path = save(tmp_path, small_model, "v1-baseline")
    sio.dump({"model": small_model, "extra": Path("/")}, path / MODEL_FILE)
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    from punkml.ml.registry import sha256_file

    manifest["sha256"] = sha256_file(path / MODEL_FILE)  # a consistent but hostile file
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="untrusted"):
        load_model(path)


def test_promote_and_list(tmp_path: Path, small_model: IbuModel) -> None:
    assert promoted_version(tmp_path) is None
    with pytest.raises(ModelError, match="no promoted model"):
        resolve_model_dir(tmp_path)
    save(tmp_path, small_model, "v1-baseline")
    save(tmp_path, small_model, "v2-recipe")
    promote(tmp_path, "v2-recipe")
    infos = list_models(tmp_path)
    assert [(i.version, i.promoted) for i in infos] == [("v1-baseline", False), ("v2-recipe", True)]
    assert resolve_model_dir(tmp_path) == tmp_path / "v2-recipe"
    with pytest.raises(ModelError):
        promote(tmp_path, "../etc")
    with pytest.raises(ModelError):
        promote(tmp_path, "v9-missing")


def test_out_of_fold_files_are_verified(tmp_path: Path, small_model: IbuModel) -> None:
    rows = [{"id": 1, "recipe_key": "k", "ibu_pred": 40.0, "ibu_low": 30.0, "ibu_high": 50.0}]
    importances = [{"feature": "tinseth_ibu", "mae_rise": 3.5}]
    path = save_model(
        tmp_path,
        small_model,
        fingerprint="ab" * 32,
        metrics={},
        card="",
        version="v1",
        out_of_fold=rows,
        importances=importances,
    )
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    assert set(manifest["files"]) == {OUT_OF_FOLD_FILE, IMPORTANCES_FILE}
    assert read_verified_json(path, OUT_OF_FOLD_FILE, manifest) == rows
    assert read_verified_json(path, IMPORTANCES_FILE, manifest) == importances
    assert read_verified_json(path, "other.json", manifest) is None
    (path / OUT_OF_FOLD_FILE).write_text(json.dumps([{**rows[0], "ibu_pred": 99.0}]))
    with pytest.raises(ModelError, match="SHA-256"):
        read_verified_json(path, OUT_OF_FOLD_FILE, manifest)
    (path / IMPORTANCES_FILE).unlink()
    with pytest.raises(ModelError, match="missing"):
        read_verified_json(path, IMPORTANCES_FILE, manifest)


@pytest.mark.parametrize(
    "named", ["../elsewhere", "/tmp/elsewhere", "..", "a/../../b", "x\x00y", "v1..2", "v" * 300]
)
def test_a_promoted_path_outside_the_registry_is_refused(tmp_path: Path, named: str) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / PROMOTED_FILE).write_text(named + "\n")
    with pytest.raises(ModelError) as refused:
        promoted_version(models_dir)
    assert str(refused.value) == (
        f"refusing {models_dir / PROMOTED_FILE}: it names {named[:120]!r}, which is not a version "
        "of this registry; run `punkml models promote VERSION`"
    )
    with pytest.raises(ModelError, match="PROMOTED"):
        resolve_model_dir(models_dir)


def test_model_names_a_version_or_a_registry(tmp_path: Path, small_model: IbuModel) -> None:
    version = save(tmp_path, small_model, "v1")
    promote(tmp_path, "v1")
    elsewhere = tmp_path / "elsewhere"
    assert resolve_model_dir(elsewhere, version) == version
    assert resolve_model_dir(elsewhere, tmp_path) == version
    with pytest.raises(ModelError) as refused:
        resolve_model_dir(tmp_path, elsewhere)
    assert str(refused.value) == (
        f"no promoted model in {elsewhere}: run `punkml train` then `punkml models promote VERSION`"
    )


def test_a_promoted_link_leading_out_is_refused(tmp_path: Path, small_model: IbuModel) -> None:
    outside = tmp_path / "outside"
    save(outside, small_model, "v1")
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / "v1").symlink_to(outside / "v1")
    (models_dir / PROMOTED_FILE).write_text("v1\n")
    with pytest.raises(ModelError) as refused:
        promoted_version(models_dir)
    assert str(refused.value) == (
        f"refusing {models_dir / PROMOTED_FILE}: version v1 leads outside the registry "
        f"({(outside / 'v1').resolve()}); run `punkml models promote VERSION`"
    )


def test_a_version_is_named_by_its_utc_time_type_and_data_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert new_version("recipe", "0123456789abcdef", moment) == (
        "20260102T030405678901Z-recipe-01234567"
    )
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # the local time is not what the name says
    time.tzset()
    try:
        name = new_version("baseline", "f" * 64)
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp, model_type, prefix = name.split("-")
    named = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - named) < timedelta(minutes=5)
    assert (model_type, prefix) == ("baseline", "ffffffff")


@pytest.mark.parametrize("files", [None, ["out_of_fold.json"], "out_of_fold.json"])
def test_a_manifest_without_a_table_of_files_verifies_none(tmp_path: Path, files: object) -> None:
    manifest = {} if files is None else {"files": files}
    (tmp_path / OUT_OF_FOLD_FILE).write_text("[]")
    assert read_verified_json(tmp_path, OUT_OF_FOLD_FILE, manifest) is None


def test_a_file_that_matches_its_digest_but_is_not_json_is_refused_by_name(tmp_path: Path) -> None:
    from punkml.ml.registry import sha256_file

    path = tmp_path / OUT_OF_FOLD_FILE
    path.write_text("[{not json")
    manifest = {"files": {OUT_OF_FOLD_FILE: sha256_file(path)}}
    with pytest.raises(ModelError, match=f"^{path} is not valid JSON: "):
        read_verified_json(tmp_path, OUT_OF_FOLD_FILE, manifest)


def test_a_save_killed_before_its_rename_is_not_listed(
    tmp_path: Path, small_model: IbuModel
) -> None:
    version = save(tmp_path, small_model, "v1")
    staging = tmp_path / ".v2.k1ll3d"  # a save's staging folder, manifest written, never renamed
    staging.mkdir()
    (staging / MANIFEST_FILE).write_bytes((version / MANIFEST_FILE).read_bytes())
    assert [info.version for info in list_models(tmp_path)] == ["v1"]


def test_the_list_shows_what_each_version_recorded(tmp_path: Path, small_model: IbuModel) -> None:
    first = save(tmp_path, small_model, "v1")
    second = save(tmp_path, small_model, "v2")
    (second / "metrics.json").unlink()  # older versions may lack a file: shown with what is known
    manifest = json.loads((second / MANIFEST_FILE).read_text())
    del manifest["model_type"], manifest["created_at"]
    (second / MANIFEST_FILE).write_text(json.dumps(manifest))
    created = json.loads((first / MANIFEST_FILE).read_text())["created_at"]
    infos = list_models(tmp_path)
    assert [(i.path, i.model_type, i.created_at, i.metrics) for i in infos] == [
        (first, "baseline", created, {"seed": {"mae": 1.0}}),
        (second, "?", "?", {}),
    ]


def test_the_model_file_is_the_one_the_manifest_names(
    tmp_path: Path, small_model: IbuModel
) -> None:
    from punkml.ml.registry import sha256_file

    path = save(tmp_path, small_model, "v1")
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    (path / MODEL_FILE).rename(path / "renamed.skops")
    with pytest.raises(ModelError) as missing:
        load_model(path)
    assert str(missing.value) == f"model file missing: {path / MODEL_FILE}"
    (path / MANIFEST_FILE).write_text(json.dumps({**manifest, "model_file": "renamed.skops"}))
    assert load_model(path)[0].feature_names_ == small_model.feature_names_
    (path / "renamed.skops").rename(path / MODEL_FILE)  # a manifest naming none: model.skops
    del manifest["model_file"]
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert load_model(path)[0].feature_names_ == small_model.feature_names_
    (path / MODEL_FILE).rename(path / "renamed.skops")
    (path / MANIFEST_FILE).write_text(json.dumps({**manifest, "model_file": "renamed.skops"}))
    (path / "renamed.skops").write_bytes(b"not the model")  # changed after training
    with pytest.raises(ModelError) as tampered:
        load_model(path)
    assert str(tampered.value) == (
        f"refusing to load {path / 'renamed.skops'}: its SHA-256 is "
        f"{sha256_file(path / 'renamed.skops')} but the manifest records {manifest['sha256']}; "
        "the file changed after training: retrain, or restore it"
    )


def test_a_folder_without_a_manifest_or_a_file_without_a_model_is_refused(
    tmp_path: Path, small_model: IbuModel
) -> None:
    import skops.io as sio

    from punkml.ml.registry import sha256_file

    with pytest.raises(ModelError) as not_a_version:
        load_model(tmp_path)
    assert str(not_a_version.value) == (
        f"{tmp_path} is not a model version: {MANIFEST_FILE} is missing"
    )
    path = save(tmp_path, small_model, "v1")
    sio.dump({"coefficients": [1.0, 2.0]}, path / MODEL_FILE)  # trusted types, but no model
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["sha256"] = sha256_file(path / MODEL_FILE)
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelError) as not_a_model:
        load_model(path)
    assert str(not_a_model.value) == f"{path / MODEL_FILE} does not hold an IBU model"


def test_a_version_records_the_versions_of_the_libraries_it_needs() -> None:
    from importlib.metadata import version

    from punkml.ml.registry import library_versions

    versions = library_versions()
    packages = set(versions) - {"python"}
    assert {"punkml", "scikit-learn", "numpy", "skops"} < packages
    assert packages & {"xgboost-cpu", "xgboost"}  # whichever XGBoost distribution is installed
    assert all(versions[package] == version(package) for package in packages)


def test_an_unsafe_version_name_is_refused_with_what_is_allowed() -> None:
    from punkml.ml.registry import check_version

    with pytest.raises(ModelError) as refused:
        check_version("../etc")
    assert str(refused.value) == (
        "invalid model version '../etc': letters, digits, '.', '_', '-' only"
    )


def test_a_manifest_records_what_the_version_is_made_of(
    tmp_path: Path, small_model: IbuModel, dataset_tables: RecipeTables
) -> None:
    import skops.io as sio

    path = save(tmp_path, small_model, "v1")
    manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    created = datetime.fromisoformat(manifest.pop("created_at"))
    assert created.utcoffset() == timedelta(0)  # UTC, whatever the machine's time zone
    assert created.microsecond == 0  # to the second
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    trusted = manifest["trusted_types"]
    assert manifest == {
        "version": "v1",
        "model_type": "baseline",
        "model_file": MODEL_FILE,
        "sha256": hashlib.sha256((path / MODEL_FILE).read_bytes()).hexdigest(),
        "trusted_types": sorted(sio.get_untrusted_types(file=path / MODEL_FILE)),
        "training_data_fingerprint": "ab" * 32,
        "n_train": int(training_mask(dataset_tables, "baseline").sum()),  # beers it fitted on
        "interval": pytest.approx(0.9),  # the intervals' nominal coverage: 1 - alpha (0.10)
        "libraries": library_versions(),
        "files": {},  # no out-of-fold predictions or importances were given
    }
    # The recorded types are exactly what building the model needs, and all are trusted.
    assert set(trusted) <= set(TRUSTED_TYPES)
    assert isinstance(sio.load(path / MODEL_FILE, trusted=trusted), IbuModel)


def test_a_version_saved_without_a_name_is_named_by_time_type_and_data(
    tmp_path: Path, small_model: IbuModel
) -> None:
    path = save_model(tmp_path, small_model, fingerprint="0123456789" * 6, metrics={}, card="")
    stamp, model_type, prefix = path.name.split("-")
    named = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - named) < timedelta(minutes=5)
    assert (model_type, prefix) == ("baseline", "01234567")
    assert read_manifest(path)["version"] == path.name


def test_a_save_creates_the_registry_and_never_replaces_a_version(
    tmp_path: Path, small_model: IbuModel
) -> None:
    models_dir = tmp_path / "home" / "models"  # neither folder exists yet
    first = save(models_dir, small_model, "v1")
    assert first == models_dir / "v1"
    manifest = (first / MANIFEST_FILE).read_bytes()
    with pytest.raises(ModelError) as refused:
        save(models_dir, small_model, "v1")
    assert str(refused.value) == f"model version v1 already exists in {models_dir}"
    assert [child.name for child in models_dir.iterdir()] == ["v1"]  # nothing staged is left
    assert (first / MANIFEST_FILE).read_bytes() == manifest


def test_a_save_that_fails_before_its_rename_leaves_a_hidden_folder_in_the_registry(
    tmp_path: Path, small_model: IbuModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(source: object, target: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save(tmp_path, small_model, "v1")
    monkeypatch.undo()
    (staged,) = tmp_path.iterdir()  # inside the registry, where the rename cannot cross devices
    assert staged.name.startswith(".v1.")  # hidden, named for the version it was saving
    assert (staged / MANIFEST_FILE).is_file()
    assert list_models(tmp_path) == []
    assert save(tmp_path, small_model, "v1") == tmp_path / "v1"  # a retry is not blocked


def test_the_json_files_are_indented_sorted_and_end_with_a_newline(
    tmp_path: Path, small_model: IbuModel
) -> None:
    """Stable bytes: the same content always has the same SHA-256, and a person can read and diff
    the files."""
    metrics = {"seed": {"mae": 1.5, "coverage": 0.9}, "brewery": "BrewDog\u2019s"}
    rows = [{"name": "Punk IPA", "id": 1}]
    path = save_model(
        tmp_path,
        small_model,
        fingerprint="ab" * 32,
        metrics=metrics,
        card="",
        version="v1",
        out_of_fold=rows,
        importances=[],
    )
    assert (path / METRICS_FILE).read_bytes() == (
        b'{\n  "brewery": "BrewDog\\u2019s",\n  "seed": {\n    "coverage": 0.9,\n    "mae": 1.5\n'
        b"  }\n}\n"
    )
    assert (path / OUT_OF_FOLD_FILE).read_bytes() == (
        b'[\n  {\n    "id": 1,\n    "name": "Punk IPA"\n  }\n]\n'
    )
    assert (path / IMPORTANCES_FILE).read_bytes() == b"[]\n"
    features = {"features": small_model.feature_names_}
    for name, content in ((FEATURES_FILE, features), (MANIFEST_FILE, read_manifest(path))):
        expected = json.dumps(content, indent=2, sort_keys=True) + "\n"
        assert (path / name).read_bytes() == expected.encode("ascii")


def test_a_file_is_hashed_whole_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / MODEL_FILE
    data = np.random.default_rng(0).bytes(3 * (1 << 20) + 123)  # larger than any read buffer
    path.write_bytes(data)
    tracemalloc.start()
    try:
        digest = sha256_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest == hashlib.sha256(data).hexdigest()
    assert peak < (1 << 20)  # a model of any size is hashed without being read whole


def test_whichever_xgboost_distribution_is_installed_is_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata

    installed = {"punkml": "1.0", "scikit-learn": "1.6.1", "numpy": "2.2.0", "skops": "0.11.0"}

    def version(name: str) -> str:
        if name not in installed:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed[name]

    monkeypatch.setattr(importlib.metadata, "version", version)
    python = {"python": platform.python_version()}
    for distribution in ("xgboost", "xgboost-cpu"):
        installed[distribution] = "3.0.2"
        assert library_versions() == {**python, **installed}
        del installed[distribution]


@pytest.fixture
def ascii_locale() -> Iterator[None]:
    """The C locale, whose text encoding is ASCII: a container without locales runs so."""
    previous = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, previous)


@pytest.mark.usefixtures("ascii_locale")
def test_the_registry_reads_and_writes_utf8_whatever_the_locale(
    tmp_path: Path, small_model: IbuModel
) -> None:
    card = "# Caf\u00e9 Racer IPA \u2014 IBU model\n"
    path = save_model(
        tmp_path, small_model, fingerprint="ab" * 32, metrics={}, card=card, version="v1"
    )
    assert (path / CARD_FILE).read_bytes() == card.encode("utf-8")
    # Files written as raw UTF-8 (JSON's own encoding) by another tool read back the same.
    manifest = read_manifest(path)
    rows = [{"name": "Caf\u00e9 Racer"}]
    (path / OUT_OF_FOLD_FILE).write_bytes(json.dumps(rows, ensure_ascii=False).encode("utf-8"))
    manifest["files"] = {OUT_OF_FOLD_FILE: sha256_file(path / OUT_OF_FOLD_FILE)}
    manifest["note"] = "brewed in Ellon \u2014 Scotland"
    (path / MANIFEST_FILE).write_bytes(json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
    assert read_manifest(path) == manifest
    assert read_verified_json(path, OUT_OF_FOLD_FILE, manifest) == rows
    (tmp_path / PROMOTED_FILE).write_bytes("v1\u00e9\n".encode("utf-8"))
    with pytest.raises(ModelError, match="it names 'v1\u00e9'"):
        promoted_version(tmp_path)


def test_a_promoted_file_that_is_not_text_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / PROMOTED_FILE).write_bytes(b"v1\xff\n")
    with pytest.raises(ModelError, match=f"^refusing {re.escape(str(tmp_path / PROMOTED_FILE))}: "):
        promoted_version(tmp_path)


@pytest.mark.parametrize("content", [b"{not json", b'{"version": "v1\xff"}'])
def test_a_manifest_that_is_not_json_is_refused_by_name(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / MANIFEST_FILE
    path.write_bytes(content)
    with pytest.raises(ModelError, match=f"^{re.escape(str(path))} is not valid JSON: "):
        read_manifest(tmp_path)
