"""The registry: versions, promotion, SHA-256 verification, trusted types only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from punkml.errors import ModelError
from punkml.ml.models import IbuModel
from punkml.ml.registry import (
    IMPORTANCES_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    OUT_OF_FOLD_FILE,
    PROMOTED_FILE,
    list_models,
    load_model,
    promote,
    promoted_version,
    read_verified_json,
    resolve_model_dir,
    save_model,
)


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


def test_a_tampered_model_is_refused(tmp_path: Path, fitted_models: dict[str, IbuModel]) -> None:
    path = save(tmp_path, fitted_models["baseline"], "v1-baseline")
    data = bytearray((path / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(path)


def test_untrusted_types_are_refused(tmp_path: Path, fitted_models: dict[str, IbuModel]) -> None:
    import skops.io as sio

    path = save(tmp_path, fitted_models["baseline"], "v1-baseline")
    sio.dump({"model": fitted_models["baseline"], "extra": Path("/")}, path / MODEL_FILE)
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    from punkml.ml.registry import sha256_file

    manifest["sha256"] = sha256_file(path / MODEL_FILE)  # a consistent but hostile file
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="untrusted"):
        load_model(path)


def test_promote_and_list(tmp_path: Path, fitted_models: dict[str, IbuModel]) -> None:
    assert promoted_version(tmp_path) is None
    with pytest.raises(ModelError, match="no promoted model"):
        resolve_model_dir(tmp_path)
    save(tmp_path, fitted_models["baseline"], "v1-baseline")
    save(tmp_path, fitted_models["recipe"], "v2-recipe")
    promote(tmp_path, "v2-recipe")
    infos = list_models(tmp_path)
    assert [(i.version, i.promoted) for i in infos] == [("v1-baseline", False), ("v2-recipe", True)]
    assert resolve_model_dir(tmp_path) == tmp_path / "v2-recipe"
    with pytest.raises(ModelError):
        promote(tmp_path, "../etc")
    with pytest.raises(ModelError):
        promote(tmp_path, "v9-missing")


def test_out_of_fold_files_are_verified(tmp_path: Path, fitted_models: dict[str, IbuModel]) -> None:
    rows = [{"id": 1, "recipe_key": "k", "ibu_pred": 40.0, "ibu_low": 30.0, "ibu_high": 50.0}]
    importances = [{"feature": "tinseth_ibu", "mae_rise": 3.5}]
    path = save_model(
        tmp_path,
        fitted_models["recipe"],
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


@pytest.mark.parametrize("named", ["../elsewhere", "/tmp/elsewhere", "..", "a/../../b", "x\x00y"])
def test_a_promoted_path_outside_the_registry_is_refused(tmp_path: Path, named: str) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / PROMOTED_FILE).write_text(named + "\n")
    with pytest.raises(ModelError, match="not a version of this registry"):
        promoted_version(models_dir)
    with pytest.raises(ModelError, match="PROMOTED"):
        resolve_model_dir(models_dir)


def test_a_promoted_link_leading_out_is_refused(
    tmp_path: Path, fitted_models: dict[str, IbuModel]
) -> None:
    outside = tmp_path / "outside"
    save(outside, fitted_models["baseline"], "v1")
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / "v1").symlink_to(outside / "v1")
    (models_dir / PROMOTED_FILE).write_text("v1\n")
    with pytest.raises(ModelError, match="outside the registry"):
        promoted_version(models_dir)
