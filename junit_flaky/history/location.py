"""Where the history database is: ``--db``, then $JUNIT_FLAKY_HISTORY_DB, then ``history-db`` in
``[tool.junit-flaky]`` (relative to that pyproject.toml), then .junit-flaky/history.sqlite in the
current directory, whatever ``run --rootdir`` says, so every command of a CI step finds the same file.

Any of these may instead be a ``postgresql://`` URL: a PostgreSQL database that many builds share
(``postgres.py``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import List, Mapping, Optional, Union
from urllib.parse import unquote

from junit_flaky import tokens

ENV_VAR = "JUNIT_FLAKY_HISTORY_DB"
CONFIG_KEY = "history-db"
DEFAULT = Path(".junit-flaky") / "history.sqlite"
HELP = f"History database: a SQLite file (a path ending in / is a folder to keep it in) or a postgresql:// URL (default: ${ENV_VAR}, then {CONFIG_KEY} in pyproject.toml, then {DEFAULT} in the current directory)."
URL_SCHEMES = ("postgresql://", "postgres://")  # libpq's two spellings


class DatabaseUrl:
    """A PostgreSQL history's URL. Its text (``str``, ``repr``, f-strings) hides the password,
    so every message that names the history names it safely; ``secret`` is what to connect with.

    The password, and PGPASSWORD, are registered with ``tokens`` as well: libpq's errors may
    quote the URL in their own way (the part of it they could not parse), and the consoles hide
    a registered secret long enough to tell apart from the words around it wherever it appears.
    One the shown URL spells in the open (PGPASSWORD=postgres in ``postgresql://postgres@h``)
    is masked only where it is quoted: masking it in all text would mask the URL itself."""

    def __init__(self, url: str) -> None:
        self.secret = url
        shown = str(self)
        for password in _passwords(url) + [os.environ.get("PGPASSWORD", "")]:
            for spelling in (password, unquote(password)):  # as written; as libpq reads it, which it may quote
                tokens.register(spelling, in_text=spelling not in shown)

    def __str__(self) -> str:
        """Everything between ``://`` and the last ``@`` but the user name is hidden (a
        password pasted unescaped may hold ``/``, ``@`` or spaces), and so is a password
        given in the query."""
        scheme, _, rest = _QUERY_PASSWORD.sub(r"\1***", self.secret).partition("://")
        login, at, host = rest.rpartition("@")
        if at and ":" in login:
            rest = f"{login.partition(':')[0]}:***@{host}"
        return f"{scheme}://{rest}"

    def unescaped(self) -> Optional[str]:
        """A character of the user name or password that the URL must percent-encode and does
        not: libpq would read the URL otherwise than meant (another host, part of the password
        as the host's name, which its errors then quote) or not at all."""
        found = _NEEDS_ESCAPING.search(_login(self.secret))
        return found.group() if found else None

    def __repr__(self) -> str:
        return f"DatabaseUrl({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUrl) and other.secret == self.secret

    def __hash__(self) -> int:
        return hash(self.secret)


_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:ssl)?password=)([^&]*)")
_NEEDS_ESCAPING = re.compile(r"[@/?#\s]")


def _passwords(url: str) -> List[str]:
    """The passwords written in ``url``, as written: the query's, then the login's."""
    found = [match.group(2) for match in _QUERY_PASSWORD.finditer(url)]
    return found + [_login(url).partition(":")[2]]


def _login(url: str) -> str:
    """``user:password`` of ``url``: all between ``://`` and the last ``@`` (a query's password
    may hold one too)."""
    return _QUERY_PASSWORD.sub("", url).partition("://")[2].rpartition("@")[0]


def shown(text: str) -> str:
    """A ``--db`` value as messages may show it."""
    return str(DatabaseUrl(text)) if text.startswith(URL_SCHEMES) else text


Location = Union[Path, DatabaseUrl]  # where a history is: a SQLite file or a PostgreSQL database


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
