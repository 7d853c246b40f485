"""Where the history database is: ``--db``, then $JUNIT_FLAKY_HISTORY_DB, then ``history-db`` in
``[tool.junit-flaky]`` (relative to that pyproject.toml), then .junit-flaky/history.sqlite in the
current directory, whatever ``run --rootdir`` says, so every command of a CI step finds the same file.

Any of these may instead be a ``postgresql://`` URL: a PostgreSQL database that many builds share
(``postgres.py``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping, Optional, Union

ENV_VAR = "JUNIT_FLAKY_HISTORY_DB"
CONFIG_KEY = "history-db"
DEFAULT = Path(".junit-flaky") / "history.sqlite"
HELP = f"History database: a SQLite file (a path ending in / is a folder to keep it in) or a postgresql:// URL (default: ${ENV_VAR}, then {CONFIG_KEY} in pyproject.toml, then {DEFAULT} in the current directory)."
URL_SCHEMES = ("postgresql://", "postgres://")  # libpq's two spellings


class DatabaseUrl:
    """A PostgreSQL history's URL. Its text (``str``, ``repr``, f-strings) hides the password,
    so every message that names the history names it safely; ``secret`` is what to connect with."""

    def __init__(self, url: str) -> None:
        self.secret = url

    def __str__(self) -> str:
        return redact(self.secret)

    def __repr__(self) -> str:
        return f"DatabaseUrl({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUrl) and other.secret == self.secret

    def __hash__(self) -> int:
        return hash(self.secret)


Location = Union[Path, DatabaseUrl]  # where a history is: a SQLite file or a PostgreSQL database


def redact(text: str) -> str:
    """``text`` with the password of a URL in it (``user:PASSWORD@``, ``password=PASSWORD``) hidden."""
    text = re.sub(r"(://[^:/@\s]*):[^@/\s]*@", r"\1:***@", text)
    return re.sub(r"(?i)(\bpassword=)[^&\s]*", r"\1***", text)


def resolve_db_path(option: Optional[str], env: Mapping[str, str], start: Path) -> Location:
    """The database's path or URL; ``start`` is where pyproject.toml is looked for."""
    if option:
        return database_at(option)
    if env.get(ENV_VAR):
        return database_at(env[ENV_VAR])
    from junit_flaky import config  # the CLI imports this module for HELP, before any command runs

    table, _ = config.load(start)  # checks that history-db is a path
    value = table.get(CONFIG_KEY)
    pyproject = config.find_pyproject(start)
    if value is None or pyproject is None:
        return DEFAULT
    found = database_at(value)
    return found if isinstance(found, DatabaseUrl) else pyproject.parent / found  # an absolute value stays as it is


def database_at(text: str) -> Location:
    """``ci-cache/`` names a folder (Path() would drop the slash and make it a file's name);
    ``~`` is the home folder, as a shell would have made it."""
    if text.startswith(URL_SCHEMES):
        return DatabaseUrl(text)
    path = Path(text).expanduser()
    return path / DEFAULT.name if text.endswith(("/", os.sep)) else path
