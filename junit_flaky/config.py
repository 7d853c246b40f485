"""``[tool.junit-flaky]`` in the project's pyproject.toml: defaults and listed tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from junit_flaky.errors import JunitFlakyError
from junit_flaky.model import Thresholds
from junit_flaky.thresholds import PYPROJECT_SOURCE, UNREADABLE, Entry, entries_from_records, tomllib, unreadable

SWITCHES = {"record-history", "thresholds-from-history", "auto-quarantine", "fail-on-flake-regression", "allow-new-flaky", "fail-on-flaky"}
NEW_TEST_KEYS = {"new-test-runs", "new-test-budget"}  # checked by new_tests.options
PATHS = {"history-db", "quarantine-file", "codeowners"}  # file paths, relative to the pyproject.toml
KNOWN_KEYS = {"min-passes", "max-runs", "flaky_tests"} | PATHS | SWITCHES | NEW_TEST_KEYS
# The table, and its flaky_tests as written: they become entries once the defaults of unlisted
# tests are known (``entries``), since a value an entry leaves out is theirs.
Project = Tuple[Dict[str, Any], List[Any]]


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml at or above ``start``, as pytest finds its rootdir."""
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(start: Path) -> Project:
    """The ``[tool.junit-flaky]`` table and its ``flaky_tests`` (empty if there is none)."""
    path = find_pyproject(start)
    if path is None:
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise JunitFlakyError(f"{path}: cannot read [tool.junit-flaky]: {exc.strerror}") from None
    except UNREADABLE as exc:  # also not UTF-8 (a ValueError)
        raise JunitFlakyError(f"{path}: cannot read [tool.junit-flaky]: {unreadable(exc)}") from None
    tools = data.get("tool", {})
    if not isinstance(tools, dict):
        raise JunitFlakyError(f"{path}: [tool] must be a table")
    if "junit_flaky" in tools:  # the package's name; the table is the tool's
        raise JunitFlakyError(f"{path}: [tool.junit_flaky] is not read: the table is [tool.junit-flaky]")
    table = tools.get("junit-flaky", {})
    if not isinstance(table, dict):
        raise JunitFlakyError(f"{path}: [tool.junit-flaky] must be a table")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise JunitFlakyError(
            f"{path}: unknown key(s) in [tool.junit-flaky]: {', '.join(unknown)}"
            f" (known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    for key in sorted(PATHS & set(table)):
        if not (isinstance(table[key], str) and table[key]):
            raise JunitFlakyError(f"{path}: [tool.junit-flaky] {key} must be a path, got {table[key]!r}")
    for key in sorted(SWITCHES & set(table)):
        if not isinstance(table[key], bool):
            raise JunitFlakyError(f"{path}: [tool.junit-flaky] {key} must be true or false, got {table[key]!r}")
    records = table.get("flaky_tests", [])
    if not isinstance(records, list):
        raise JunitFlakyError(
            f"{path}: [tool.junit-flaky] flaky_tests must be [[tool.junit-flaky.flaky_tests]] tables"
        )
    return table, records


def entries(project: Project, default: Thresholds) -> List[Entry]:
    """The tests ``[tool.junit-flaky]`` lists, a value an entry leaves out taken from ``default``."""
    return entries_from_records(project[1], PYPROJECT_SOURCE, default)


def switch(table: Dict[str, Any], key: str, given: Optional[bool]) -> bool:
    """A yes/no setting: the command line (or its environment variable) first, then the table."""
    return bool(table.get(key, False)) if given is None else given
