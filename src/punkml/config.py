"""Where things live: one place that turns ``--home`` into the paths of a local deployment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path(".punkml")
HOME_ENV = "PUNKML_HOME"
CACHE_ENV = "PUNKML_CACHE_DIR"


def resolve_home(home: Path | str | None = None) -> Path:
    """The deployment root: the explicit value, else ``$PUNKML_HOME``, else ``./.punkml``."""
    if home is None or str(home) == "":
        home = os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(home).expanduser()


def cache_dir(home: Path | str | None = None) -> Path:
    """Where the pinned dataset is cached.

    ``$PUNKML_CACHE_DIR`` if set; else ``<home>/cache`` when a home is given (``--home`` or
    ``$PUNKML_HOME``); else the XDG cache (``$XDG_CACHE_HOME/punkml``, ``~/.cache/punkml``).
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    home = home or os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "punkml"


@dataclass(frozen=True)
class Settings:
    """Paths of one local deployment, all derived from its home directory."""

    home: Path

    @classmethod
    def load(cls, home: Path | str | None = None) -> Settings:
        return cls(home=resolve_home(home))

    @property
    def stream_path(self) -> Path:
        return self.home / "stream.sqlite"

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.duckdb"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    def ensure(self) -> Settings:
        """Create the home directory (and its children) if missing; return self."""
        for path in (self.home, self.lake_dir, self.models_dir, self.state_dir):
            path.mkdir(parents=True, exist_ok=True)
        return self
