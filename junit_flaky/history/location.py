"""Where the history database is: ``--db``, then $JUNIT_FLAKY_HISTORY_DB, then ``history-db`` in
``[tool.junit-flaky]`` (relative to that pyproject.toml), then .junit-flaky/history.sqlite in the
current directory, whatever ``run --rootdir`` says, so every command of a CI step finds the same file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

ENV_VAR = "JUNIT_FLAKY_HISTORY_DB"
CONFIG_KEY = "history-db"
DEFAULT = Path(".junit-flaky") / "history.sqlite"
HELP = f"History database; a path ending in / is a folder to keep it in (default: ${ENV_VAR}, then {CONFIG_KEY} in pyproject.toml, then {DEFAULT} in the current directory)."


def resolve_db_path(option: Optional[str], env: Mapping[str, str], start: Path) -> Path:
    """The database path; ``start`` is where pyproject.toml is looked for."""
    if option:
        return _database_in(option)
    if env.get(ENV_VAR):
        return _database_in(env[ENV_VAR])
    from junit_flaky import config  # the CLI imports this module for HELP, before any command runs

    table, _ = config.load(start)  # checks that history-db is a path
    value = table.get(CONFIG_KEY)
    pyproject = config.find_pyproject(start)
    if value is None or pyproject is None:
        return DEFAULT
    return pyproject.parent / _database_in(value)  # an absolute value stays as it is


def _database_in(text: str) -> Path:
    """``ci-cache/`` names a folder (Path() would drop the slash and make it a file's name);
    ``~`` is the home folder, as a shell would have made it."""
    path = Path(text).expanduser()
    return path / DEFAULT.name if text.endswith(("/", os.sep)) else path
