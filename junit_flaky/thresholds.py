"""Per-test thresholds: sources, validation, matching an entry to a test, resolution by priority.

Sources, later ones overriding earlier ones per test: built-in defaults (1 of 1: a test nobody
flagged is never rerun), ``[tool.junit-flaky]`` in pyproject.toml, ``--min-passes``/``--max-runs``
(defaults for unlisted tests), ``--thresholds FILE``, the Flakybot API.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_read import Watch
from junit_flaky.model import TestId, Thresholds

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

BUILTIN = Thresholds(min_passes=1, max_runs=1, source="built-in default")


@dataclass(frozen=True)
class Entry:
    """One listed test: ``test_name`` (with or without ``[params]``), optional ``class_name``."""

    test_name: str
    class_name: str
    thresholds: Thresholds


def validate(min_passes: Any, max_runs: Any, quarantined: Any, where: str) -> None:
    """Reject impossible thresholds with a message that names where they came from."""
    for key, value in (("min_passes", min_passes), ("max_runs", max_runs)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise JunitFlakyError(f"{where}: {key} must be an integer, got {value!r}")
    if min_passes < 1:
        raise JunitFlakyError(f"{where}: min_passes must be at least 1, got {min_passes}")
    if max_runs < min_passes:
        raise JunitFlakyError(f"{where}: max_runs ({max_runs}) is less than min_passes ({min_passes})")
    if not isinstance(quarantined, bool):
        raise JunitFlakyError(f"{where}: quarantined must be true or false, got {quarantined!r}")


def entries_from_records(records: Any, source: str) -> List[Entry]:
    """Entries from the Flakybot JSON shape: ``{"flaky_tests": [{test_name, class_name, ...}]}``."""
    if isinstance(records, dict):
        records = records.get("flaky_tests")
    if not isinstance(records, list):
        raise JunitFlakyError(f"{source}: expected {{\"flaky_tests\": [...]}}")
    entries = []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("test_name"), str):
            raise JunitFlakyError(f"{source}: entry {index + 1} has no test_name")
        class_name = record.get("class_name") or ""
        where = f"{source}: entry {index + 1} (test_name={record['test_name']!r}"
        where += f", class_name={class_name!r})" if class_name else ")"
        if not isinstance(class_name, str):
            raise JunitFlakyError(f"{where}: class_name must be a string")
        min_passes = record.get("min_passes", 1)
        max_runs = record.get("max_runs", 1)
        quarantined = record.get("quarantined", False)
        validate(min_passes, max_runs, quarantined, where)
        entries.append(
            Entry(record["test_name"], class_name, Thresholds(min_passes, max_runs, quarantined, source))
        )
    return entries


def load_file(path: Path) -> List[Entry]:
    """``--thresholds FILE``: JSON in the API's own shape (a saved response works) or TOML."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JunitFlakyError(f"{source}: cannot read thresholds file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise JunitFlakyError(f"{source}: thresholds file is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as json_error:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as toml_error:
            if path.suffix == ".toml":
                raise JunitFlakyError(f"{source}: not valid TOML: {toml_error}") from None
            raise JunitFlakyError(
                f"{source}: neither JSON ({json_error.msg} at line {json_error.lineno}) nor TOML"
            ) from None
    return entries_from_records(data, source)


def class_match_length(class_name: str, classname: str) -> Optional[int]:
    """How specific an entry's class_name is for a testcase's classname; None if it does not match.

    Empty matches everything (0); otherwise it must equal the classname or be a dotted suffix of
    it: ``TestSample`` matches ``src.test_sample.TestSample``, not ``...TestSampleSlow``.
    """
    if not class_name:
        return 0
    if classname == class_name or classname.endswith("." + class_name):
        return class_name.count(".") + 1
    return None


class ThresholdTable:
    """One source's entries, indexed by test name for lookups in O(1) per test."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        self._by_name: Dict[str, List[Entry]] = {}
        for entry in self.entries:
            self._by_name.setdefault(entry.test_name, []).append(entry)

    @property
    def names(self) -> Iterable[str]:
        return self._by_name.keys()

    def match(self, test: TestId) -> Optional[Entry]:
        """The most specific entry: exact name over base name, then the longer class match."""
        best: Optional[Tuple[Tuple[int, int], Entry]] = None
        names = [(2, test.name)]
        if test.base_name != test.name:
            names.append((1, test.base_name))
        for name_rank, name in names:
            for entry in self._by_name.get(name, ()):
                length = class_match_length(entry.class_name, test.classname)
                if length is None:
                    continue
                rank = (name_rank, length)
                if best is None or rank > best[0]:
                    best = (rank, entry)
        return best[1] if best else None


class Resolver:
    """Resolves each test's thresholds from all sources, the highest-priority match winning."""

    def __init__(self, default: Thresholds, tables: Sequence[ThresholdTable]) -> None:
        self.default = default
        self.tables = list(tables)  # in increasing priority

    def resolve(self, test: TestId) -> Thresholds:
        for table in reversed(self.tables):
            entry = table.match(test)
            if entry is not None:
                return entry.thresholds
        return self.default

    def watch(self) -> Optional[Watch]:
        """Which passing testcases the reader must keep: those a threshold may still fail
        (min_passes > 1) or quarantine. None when no test needs that."""
        if self.default.min_passes > 1:
            return Watch((), everything=True)
        names = {n for table in self.tables for n in table.names}
        return Watch(names) if names else None


def defaults(
    config: Dict[str, Any], min_passes: Optional[int], max_runs: Optional[int]
) -> Thresholds:
    """The thresholds of unlisted tests: built-in, then pyproject, then the CLI options."""
    result = BUILTIN
    for source, mp, mr in (
        ("pyproject.toml [tool.junit-flaky]", config.get("min-passes"), config.get("max-runs")),
        ("--min-passes/--max-runs", min_passes, max_runs),
    ):
        if mp is None and mr is None:
            continue
        # A lone --min-passes K implies at least K runs; a lone --max-runs N keeps min_passes.
        new_mp = result.min_passes if mp is None else mp
        if mr is None:
            validate(new_mp, new_mp, False, source)  # before max(): "2" from a TOML file is no int
        new_mr = max(result.max_runs, new_mp) if mr is None else mr
        validate(new_mp, new_mr, False, source)
        result = replace(result, min_passes=new_mp, max_runs=new_mr, source=source)
    return result
