"""The registry: versions, promotion, SHA-256 verification, trusted types only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from punkml.errors import ModelError
from punkml.ml.models import IbuModel
from punkml.ml.registry import (
    MANIFEST_FILE,
    MODEL_FILE,
    list_models,
    load_model,
    promote,
    promoted_version,
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
