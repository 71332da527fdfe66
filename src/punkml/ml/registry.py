"""The model registry: ``<models>/<version>/`` directories and the promoted version.

Each version holds ``model.skops`` (the fitted ``IbuModel``, stored with skops: no pickle),
``manifest.json`` (its SHA-256, model type, training-data fingerprint, library versions, the
trusted types it needs, the SHA-256 of the JSON files below), ``metrics.json``, ``features.json``,
``out_of_fold.json`` (each training beer predicted by a model fitted without it, with the grouped
CV's folds) and ``importances.json`` (permutation importances on those held-out folds), and
``MODEL_CARD.md``. ``<models>/PROMOTED`` names the served version: a version directory inside the
registry, nothing else. Loading checks the SHA-256 first and refuses a file that changed, then lets
skops build only the types listed in ``TRUSTED_TYPES``; the JSON files are checked the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punkml.atomic import atomic_write
from punkml.errors import ModelError

if TYPE_CHECKING:
    from punkml.ml.models import IbuModel

MODEL_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
FEATURES_FILE = "features.json"
CARD_FILE = "MODEL_CARD.md"
OUT_OF_FOLD_FILE = "out_of_fold.json"
IMPORTANCES_FILE = "importances.json"
PROMOTED_FILE = "PROMOTED"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

# Types skops may build beyond its own defaults (scikit-learn, numpy basics): ours and XGBoost's.
TRUSTED_TYPES = (
    "punkml.ml.models.IbuModel",
    "punkml.ml.models.MonotoneRecipeRegressor",
    "punkml.ml.features.RecipeFeatures",
    "punkml.ml.features.SeedFeatures",
    "xgboost.sklearn.XGBRegressor",
    "xgboost.core.Booster",
    "numpy.dtype",
    "builtins.tuple",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.tree._classes.ExtraTreeRegressor",
)


@dataclass(frozen=True)
class ModelInfo:
    """One registered version, as ``punkml models list`` shows it."""

    version: str
    path: Path
    model_type: str
    created_at: str
    promoted: bool
    metrics: dict[str, Any]


def library_versions() -> dict[str, str]:
    """Versions of the libraries a stored model depends on."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("punkml", "scikit-learn", "xgboost-cpu", "xgboost", "numpy", "skops"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return versions


def new_version(model_type: str, fingerprint: str, now: datetime | None = None) -> str:
    """``<UTC time>-<model type>-<data fingerprint prefix>``: sortable and self-describing."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{moment}-{model_type}-{fingerprint[:8]}"


def check_version(version: str) -> str:
    """A version name safe as a directory name, or ``ModelError``."""
    if not _VERSION.match(version):
        raise ModelError(f"invalid model version {version!r}: letters, digits, '.', '_', '-' only")
    return version


def sha256_file(path: Path) -> str:
    """The file's SHA-256 (hex), read through one small buffer: a large model costs no memory."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, hashlib.sha256).hexdigest()


def save_model(
    models_dir: Path,
    model: IbuModel,
    *,
    fingerprint: str,
    metrics: dict[str, Any],
    card: str,
    version: str | None = None,
    out_of_fold: list[dict[str, Any]] | None = None,
    importances: list[dict[str, Any]] | None = None,
) -> Path:
    """Write a new version directory (atomically: built aside, then renamed); its path."""
    import skops.io as sio

    version = check_version(version or new_version(model.model_type, fingerprint))
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / version
    if target.exists():
        raise ModelError(f"model version {version} already exists in {models_dir}")
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=models_dir))
    model_path = staging / MODEL_FILE
    sio.dump(model, model_path)
    verified: dict[str, str] = {}
    for name, payload in ((OUT_OF_FOLD_FILE, out_of_fold), (IMPORTANCES_FILE, importances)):
        if payload is not None:
            _write_json(staging / name, payload)
            verified[name] = sha256_file(staging / name)
    manifest = {
        "version": version,
        "model_type": model.model_type,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_file": MODEL_FILE,
        "sha256": sha256_file(model_path),
        "trusted_types": sorted(sio.get_untrusted_types(file=model_path)),
        "training_data_fingerprint": fingerprint,
        "n_train": model.n_train_,
        "interval": 1.0 - model.interval_alpha,
        "libraries": library_versions(),
        "files": verified,
    }
    _write_json(staging / MANIFEST_FILE, manifest)
    _write_json(staging / METRICS_FILE, metrics)
    _write_json(staging / FEATURES_FILE, {"features": model.feature_names_})
    (staging / CARD_FILE).write_text(card, encoding="utf-8")
    os.replace(staging, target)
    return target


def load_model(version_dir: Path) -> tuple[IbuModel, dict[str, Any]]:
    """The verified model of a version directory and its manifest.

    Refuses (``ModelError``) a model file whose SHA-256 differs from the manifest's, and one that
    would need a type outside ``TRUSTED_TYPES``.
    """
    import skops.io as sio

    manifest = read_manifest(version_dir)
    model_path = version_dir / str(manifest.get("model_file", MODEL_FILE))
    if not model_path.is_file():
        raise ModelError(f"model file missing: {model_path}")
    actual = sha256_file(model_path)
    if actual != manifest.get("sha256"):
        raise ModelError(
            f"refusing to load {model_path}: its SHA-256 is {actual} but the manifest records "
            f"{manifest.get('sha256')}; the file changed after training: retrain, or restore it"
        )
    untrusted = sorted(set(sio.get_untrusted_types(file=model_path)) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelError(f"refusing to load {model_path}: it needs untrusted types {untrusted}")
    model = sio.load(model_path, trusted=list(TRUSTED_TYPES))
    # XGBoost, scikit-learn: only once a model is loaded
    from punkml.ml.models import MODEL_FORMAT, IbuModel

    if not isinstance(model, IbuModel):
        raise ModelError(f"{model_path} does not hold an IBU model")
    stored_format = vars(model).get("model_format_", 1)
    if stored_format != MODEL_FORMAT:
        raise ModelError(
            f"model {version_dir.name} was trained by another punkml (model format "
            f"{stored_format}; this one reads format {MODEL_FORMAT}): train it again with "
            "`punkml train` (or `punkml run`)"
        )
    return model, manifest


def read_verified_json(version_dir: Path, name: str, manifest: dict[str, Any]) -> Any:
    """A JSON file of a version, checked against the SHA-256 its manifest records; None when the
    version has no such file (older versions)."""
    expected = (
        manifest.get("files", {}).get(name) if isinstance(manifest.get("files"), dict) else None
    )
    if expected is None:
        return None
    path = version_dir / name
    if not path.is_file():
        raise ModelError(f"{path} is missing but the manifest records it: retrain, or restore it")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelError(
            f"refusing to read {path}: its SHA-256 is {actual} but the manifest records "
            f"{expected}; the file changed after training: retrain, or restore it"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from exc


def read_manifest(version_dir: Path) -> dict[str, Any]:
    path = version_dir / MANIFEST_FILE
    if not path.is_file():
        raise ModelError(f"{version_dir} is not a model version: {MANIFEST_FILE} is missing")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from exc
    return manifest


def list_models(models_dir: Path) -> list[ModelInfo]:
    """Every version in the registry, oldest first."""
    if not models_dir.is_dir():
        return []
    promoted = promoted_version(models_dir)
    infos = []
    for path in sorted(models_dir.iterdir()):
        if not path.is_dir() or path.name.startswith(".") or not (path / MANIFEST_FILE).exists():
            continue
        manifest = read_manifest(path)
        metrics_path = path / METRICS_FILE
        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        infos.append(
            ModelInfo(
                version=path.name,
                path=path,
                model_type=str(manifest.get("model_type", "?")),
                created_at=str(manifest.get("created_at", "?")),
                promoted=path.name == promoted,
                metrics=metrics,
            )
        )
    return infos


def promoted_version(models_dir: Path) -> str | None:
    """The promoted version's name, or None; ``ModelError`` when ``PROMOTED`` names anything but a
    version directory inside the registry (a path, ``..``, a link leading out)."""
    path = models_dir / PROMOTED_FILE
    if not path.is_file():
        return None
    # A byte that is not UTF-8 (a damaged or hand-edited file) becomes U+FFFD, which no version
    # name holds: refused below with the file's name, like any other name that is not a version.
    version = path.read_text(encoding="utf-8", errors="replace").strip()
    if not version:
        return None
    if not _VERSION.match(version) or ".." in version:
        raise ModelError(
            f"refusing {path}: it names {version[:120]!r}, which is not a version of this "
            "registry; run `punkml models promote VERSION`"
        )
    target = (models_dir / version).resolve()
    if target.parent != models_dir.resolve():
        raise ModelError(
            f"refusing {path}: version {version} leads outside the registry ({target}); "
            "run `punkml models promote VERSION`"
        )
    return version


def promote(models_dir: Path, version: str) -> Path:
    """Make ``version`` the served model (atomic replace of ``PROMOTED``); its directory."""
    version_dir = models_dir / check_version(version)
    read_manifest(version_dir)  # must be a real version
    atomic_write(models_dir / PROMOTED_FILE, version + "\n")
    return version_dir


def resolve_model_dir(models_dir: Path, model: Path | None = None) -> Path:
    """``--model DIR`` (a version directory, or a registry whose promoted version is used), else
    the promoted version of ``models_dir``."""
    if model is not None:
        if (model / MANIFEST_FILE).exists():
            return model
        models_dir = model
    version = promoted_version(models_dir)
    if version is None:
        raise ModelError(
            f"no promoted model in {models_dir}: run `punkml train` then "
            "`punkml models promote VERSION`"
        )
    return models_dir / version


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
