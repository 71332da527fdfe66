"""Where things live: the one place that resolves a deployment's home and every location under it.

The home rule (README, ``punkml --help``): ``--home``, else ``$PUNKML_HOME``, else the nearest
``.punkml`` directory in the current folder or its parents (as git finds its repository), else
``./.punkml``. Only commands that write create it (``Settings.for_command(..., writes=True)``); a
read-only command that finds no deployment stops with one line naming where it looked.

Every path and URI of a deployment is an attribute of ``Settings``; no other module joins a
file name onto the home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

from punkml.errors import ConfigError

HOME_DIR_NAME = ".punkml"
DEFAULT_HOME = Path(HOME_DIR_NAME)
HOME_ENV = "PUNKML_HOME"
CACHE_ENV = "PUNKML_CACHE_DIR"


class DeploymentNotFoundError(ConfigError):
    """A read-only command found no deployment where the home rule looked."""


def find_home(start: Path | None = None) -> Path | None:
    """The nearest ``.punkml`` directory in ``start`` (default: the current folder) or its parents."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / HOME_DIR_NAME).is_dir():
            return candidate / HOME_DIR_NAME
    return None


def _explicit_home(home: Path | str | None) -> Path | None:
    """``home`` if given, else ``$PUNKML_HOME`` if set (either may be relative or use ``~``)."""
    if home is None or str(home) == "":
        home = os.environ.get(HOME_ENV) or None
    return None if home is None else Path(home).expanduser()


def resolve_home(home: Path | str | None = None) -> Path:
    """The deployment root by the home rule, as an absolute path (it may not exist yet)."""
    return _apply_home_rule(home)[0]


def _apply_home_rule(home: Path | str | None) -> tuple[Path, str]:
    """The home and which rule gave it: ``--home``, ``$PUNKML_HOME``, ``search`` or ``default``."""
    if home is not None and str(home) != "":
        return Path(home).expanduser().resolve(), "--home"
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser().resolve(), f"${HOME_ENV}"
    found = find_home()
    if found is not None:
        return found, "search"
    return DEFAULT_HOME.resolve(), "default"


def cache_dir(home: Path | str | None = None) -> Path:
    """Where the pinned dataset is cached.

    ``$PUNKML_CACHE_DIR`` if set; else ``<home>/cache`` when a home is chosen explicitly
    (``--home`` or ``$PUNKML_HOME``); else the shared XDG cache (``$XDG_CACHE_HOME/punkml``,
    ``~/.cache/punkml``), so one fetch serves every deployment found by the home rule.
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    chosen = _explicit_home(home)
    if chosen is not None:
        return chosen.resolve() / "cache"
    return shared_cache_dir()


def shared_cache_dir() -> Path:
    """The XDG cache of this user (``$XDG_CACHE_HOME/punkml``, ``~/.cache/punkml``)."""
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "punkml"


class _Below:
    """A location of the home's layout: the file or folder ``name`` below the settings' location
    ``parent`` (``home`` or another ``_Below``), as a read-only attribute."""

    def __init__(self, parent: str, name: str) -> None:
        self.parent = parent
        self.name = name

    @overload
    def __get__(self, settings: None, owner: type) -> _Below: ...

    @overload
    def __get__(self, settings: Settings, owner: type) -> Path: ...

    def __get__(self, settings: Settings | None, owner: type) -> Path | _Below:
        if settings is None:  # on the class: the declaration itself
            return self
        parent: Path = getattr(settings, self.parent)
        return parent / self.name


@dataclass(frozen=True)
class Settings:
    """Every location of one deployment: its home, the dataset cache and the backends' URIs.

    ``stream_uri`` is ``sqlite:///…`` or ``kinesis://NAME``; ``lake_uri`` a local directory or
    ``s3://bucket/prefix``; ``catalog_uri`` ``glue://DATABASE`` or ``None`` for the local DuckDB
    views only (see ``punkml.backends``). Files of the deployment itself are the layout below.
    """

    home: Path
    cache_dir: Path
    stream_uri: str
    lake_uri: str
    catalog_uri: str | None = None
    found_by: str = field(default="--home", compare=False)
    """Which part of the home rule chose ``home``: --home, $PUNKML_HOME, search or default."""

    @classmethod
    def load(
        cls,
        home: Path | str | None = None,
        *,
        stream: str | None = None,
        lake: str | None = None,
        catalog: str | None = None,
    ) -> Settings:
        """The settings of the deployment at ``home`` (by the home rule when ``None``).

        ``stream``, ``lake`` and ``catalog`` override the local defaults
        (``<home>/stream.sqlite``, ``<home>/lake``, no external catalog).
        """
        root, found_by = _apply_home_rule(home)
        return cls(
            home=root,
            cache_dir=cache_dir(home),
            stream_uri=stream or f"sqlite://{root / cls.stream_path.name}",
            lake_uri=lake or str(root / cls.lake_dir.name),
            catalog_uri=catalog or None,
            found_by=found_by,
        )

    @classmethod
    def for_command(
        cls,
        home: Path | str | None = None,
        *,
        writes: bool,
        stream: str | None = None,
        lake: str | None = None,
        catalog: str | None = None,
    ) -> Settings:
        """``load`` for a command: one that writes creates the home; one that only reads refuses a
        home that does not exist (``DeploymentNotFoundError`` naming where it looked)."""
        settings = cls.load(home, stream=stream, lake=lake, catalog=catalog)
        return settings.ensure() if writes else settings.require()

    def require(self) -> Settings:
        """Self if the home exists; else ``DeploymentNotFoundError`` naming where it looked."""
        try:
            exists = self.home.is_dir()
        except OSError as exc:  # e.g. a parent this user may not read
            raise DeploymentNotFoundError(
                f"cannot read the Punk ML deployment at {self.home}: {exc.strerror or exc}"
            ) from exc
        if not exists:
            raise DeploymentNotFoundError(_not_found_message(self))
        return self

    # The home's layout, one location a line (read-only; see ``_Below``).
    stream_path = _Below("home", "stream.sqlite")
    """The local SQLite stream (the default ``stream_uri``)."""
    lake_dir = _Below("home", "lake")
    """The local lake (the default ``lake_uri``)."""
    catalog_path = _Below("home", "catalog.duckdb")
    """The DuckDB file holding the catalog's views, for any DuckDB client."""
    models_dir = _Below("home", "models")
    """The model registry."""
    report_path = _Below("home", "report.html")
    """Where ``punkml report`` writes by default."""
    state_dir = _Below("home", "state")
    """Small state files of the stages (below); safe to delete only when nothing runs."""
    collector_state_path = _Below("state_dir", "collector.json")
    """The collector's last fetch and error counts, for ``punkml status``."""
    catalog_stamp_path = _Below("state_dir", "catalog.json")
    """What ``catalog.duckdb`` was last built from."""

    def kinesis_ledger_path(self, stream_name: str) -> Path:
        """The local ledger (checkpoints, leases) of a Kinesis stream's consumers."""
        return self.state_dir / f"kinesis-{stream_name}.sqlite"

    def ensure(self) -> Settings:
        """Create the home directory (and its children) if missing; return self."""
        for path in (self.home, self.lake_dir, self.models_dir, self.state_dir):
            path.mkdir(parents=True, exist_ok=True)
        return self


def _not_found_message(settings: Settings) -> str:
    if settings.found_by == "--home":
        where = f"--home {settings.home} does not exist"
    elif settings.found_by == f"${HOME_ENV}":
        where = f"${HOME_ENV} names {settings.home}, which does not exist"
    else:
        where = f"no {HOME_DIR_NAME} in {settings.home.parent} or its parents"
    return (
        f"no Punk ML deployment found: {where}; run `punkml run` (or `punkml data fetch`) to "
        "create one, or point --home / $PUNKML_HOME at an existing one"
    )
