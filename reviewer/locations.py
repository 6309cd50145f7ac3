"""Where reviewer keeps its data. Every path can be overridden (option or environment
variable), which is also how tests stay off the user's real data."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP = "reviewer"


def data_dir() -> Path:
    """The user data directory (created on demand); ``REVIEWER_DATA_DIR`` overrides it."""
    override = os.environ.get("REVIEWER_DATA_DIR")
    path = Path(override) if override else user_data_path(APP, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    override = os.environ.get("REVIEWER_CONFIG_DIR")
    path = Path(override) if override else user_config_path(APP, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store: ``--db`` first, then ``REVIEWER_DB``, then ``<data dir>/reviewer.db``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("REVIEWER_DB")
    if env:
        return Path(env)
    return data_dir() / "reviewer.db"
