"""``[tool.junit-flaky]`` in the project's pyproject.toml: defaults and listed tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from junit_flaky.errors import JunitFlakyError
from junit_flaky.thresholds import Entry, entries_from_records, tomllib

KNOWN_KEYS = {"min-passes", "max-runs", "flaky_tests", "history-db"}


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml at or above ``start``, as pytest finds its rootdir."""
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(start: Path) -> Tuple[Dict[str, Any], List[Entry]]:
    """The ``[tool.junit-flaky]`` table and its ``flaky_tests`` entries (empty if there is none)."""
    path = find_pyproject(start)
    if path is None:
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise JunitFlakyError(f"{path}: cannot read [tool.junit-flaky]: {exc}") from None
    table = data.get("tool", {}).get("junit-flaky", {})
    if not isinstance(table, dict):
        raise JunitFlakyError(f"{path}: [tool.junit-flaky] must be a table")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise JunitFlakyError(
            f"{path}: unknown key(s) in [tool.junit-flaky]: {', '.join(unknown)}"
            f" (known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    source = f"{path.name} [tool.junit-flaky]"
    entries = entries_from_records(table.get("flaky_tests", []), source)
    return table, entries
