"""Where the history database is: ``--db``, then $JUNIT_FLAKY_HISTORY_DB, then ``history-db`` in
``[tool.junit-flaky]`` (relative to that pyproject.toml), then .junit-flaky/history.sqlite in the
current directory, whatever ``run --rootdir`` says, so every command of a CI step finds the same file."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

from junit_flaky import config
from junit_flaky.errors import JunitFlakyError

ENV_VAR = "JUNIT_FLAKY_HISTORY_DB"
CONFIG_KEY = "history-db"
DEFAULT = Path(".junit-flaky") / "history.sqlite"
HELP = f"History database (default: ${ENV_VAR}, then {CONFIG_KEY} in pyproject.toml, then {DEFAULT} in the current directory)."


def resolve_db_path(option: Optional[Path], env: Mapping[str, str], start: Path) -> Path:
    """The database path; ``start`` is where pyproject.toml is looked for."""
    if option is not None:
        return option
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    table, _ = config.load(start)
    value = table.get(CONFIG_KEY)
    if value is None:
        return DEFAULT
    pyproject = config.find_pyproject(start)
    if not isinstance(value, str) or not value or pyproject is None:
        raise JunitFlakyError(f"{pyproject}: [tool.junit-flaky] {CONFIG_KEY} must be a path")
    return pyproject.parent / value
