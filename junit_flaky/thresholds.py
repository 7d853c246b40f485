"""Per-test thresholds: sources, validation, matching an entry to a test, resolution by priority.

Sources, later ones overriding earlier ones per test: built-in defaults (1 of 1: a test nobody
flagged is never rerun), ``[tool.junit-flaky]`` in pyproject.toml, ``--min-passes``/``--max-runs``
(defaults for unlisted tests), ``--thresholds FILE``, the Flakybot API. A value an entry leaves
out is the one unlisted tests get; every value lies between 1 and ``MAX_RUNS``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_read import Watch
from junit_flaky.limits import MAX_RUNS
from junit_flaky.model import TestId, Thresholds

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

BUILTIN = Thresholds(min_passes=1, max_runs=1, source="built-in default")
PYPROJECT_SOURCE = "pyproject.toml [tool.junit-flaky]"  # its defaults and its flaky_tests (config.py)
COUNT_KEYS = ("min_passes", "max_runs")
ENTRY_KEYS = ("test_name", "class_name", *COUNT_KEYS, "quarantined")
# What `thresholds compute` writes beside each rule for people to read: known, and not read.
NOTE_KEYS = ("flake_rate", "runs", "flaky_failures", "fail_correct", "pass_regressed", "expected_runs")
FILE_KEYS = ("flaky_tests",)


@dataclass(frozen=True)
class Entry:
    """One listed test: ``test_name`` (with or without ``[params]``), optional ``class_name``."""

    test_name: str
    class_name: str
    thresholds: Thresholds


def _count(key: str, value: Any, where: str) -> None:
    """An integer from 1 to MAX_RUNS (bool is an int to Python, not to a person writing ``true``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise JunitFlakyError(f"{where}: {key} must be an integer, got {value!r}")
    if value < 1:
        raise JunitFlakyError(f"{where}: {key} must be at least 1, got {value}")
    if value > MAX_RUNS:
        shown = str(value) if value < 10**40 else f"a {len(str(value))}-digit number"
        raise JunitFlakyError(f"{where}: {key} must be at most {MAX_RUNS}, got {shown}")


def combine(
    base: Thresholds, min_passes: Any, max_runs: Any, where: str, names: Tuple[str, str] = COUNT_KEYS,
    **changes: Any,
) -> Thresholds:
    """``base`` with the values a source gives (None: not given), checked; an error names
    ``where`` and the keys as that source spells them (``names``: min_passes's, max_runs's).

    A lone min_passes K implies at least K runs; a lone max_runs N keeps min_passes (so a lone
    --min-passes 3 is 3 of 3, and an entry with only ``max_runs = 5`` keeps the default passes).
    """
    for key, value in zip(names, (min_passes, max_runs)):
        if value is not None:
            _count(key, value, where)
    new_mp = base.min_passes if min_passes is None else min_passes
    new_mr = max(base.max_runs, new_mp) if max_runs is None else max_runs
    if new_mr < new_mp:
        raise JunitFlakyError(f"{where}: {names[1]} ({new_mr}) is less than {names[0]} ({new_mp})")
    return replace(base, min_passes=new_mp, max_runs=new_mr, **changes)


def _unknown(keys: Iterable[str], known: Sequence[str]) -> List[str]:
    return sorted(set(keys) - set(known))


def _where(index: int, record: Any, source: str) -> str:
    """How a message names an entry; JunitFlakyError when it has no test_name to be named by."""
    if not isinstance(record, dict) or not isinstance(record.get("test_name"), str):
        raise JunitFlakyError(f"{source}: entry {index} has no test_name")
    class_name = record.get("class_name")
    return f"{source}: entry {index} (test_name={record['test_name']!r}" + (
        f", class_name={class_name!r})" if class_name else ")"
    )


def _entry(record: Dict[str, Any], where: str, source: str, default: Thresholds) -> Entry:
    """One record as an Entry, a value it leaves out taken from ``default``; JunitFlakyError
    naming the entry when a value is impossible."""
    class_name = record.get("class_name") or ""
    if not isinstance(class_name, str):
        raise JunitFlakyError(f"{where}: class_name must be a string")
    quarantined = record.get("quarantined", default.quarantined)
    if not isinstance(quarantined, bool):
        raise JunitFlakyError(f"{where}: quarantined must be true or false, got {quarantined!r}")
    given = {key: record[key] for key in COUNT_KEYS if key in record}
    for key, value in given.items():
        if value is None:  # written as null: given and wrong, not left out
            raise JunitFlakyError(f"{where}: {key} must be an integer, got None")
    thresholds = combine(
        default, given.get("min_passes"), given.get("max_runs"), where, quarantined=quarantined, source=source, listed=True
    )
    return Entry(record["test_name"], class_name, thresholds)


def _records(data: Any, source: str) -> Tuple[List[Any], List[str]]:
    """The entries of a thresholds document, and its unknown top-level keys."""
    if isinstance(data, dict):
        return _records(data.get("flaky_tests"), source)[0], _unknown(data, FILE_KEYS)
    if not isinstance(data, list):
        raise JunitFlakyError(f"{source}: expected {{\"flaky_tests\": [...]}}")
    return data, []


def entries_from_records(data: Any, source: str, default: Thresholds) -> List[Entry]:
    """Entries a person wrote, in the Flakybot JSON shape ``{"flaky_tests": [{test_name, ...}]}``
    or as the bare list: an unknown key or an impossible value is a JunitFlakyError naming it, so a
    typo (``min_pass``) never passes silently as the defaults."""
    records, unknown = _records(data, source)
    if unknown:
        raise JunitFlakyError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(FILE_KEYS)})")
    entries = []
    for index, record in enumerate(records, 1):
        where = _where(index, record, source)
        unknown = _unknown(record, ENTRY_KEYS + NOTE_KEYS)
        if unknown:
            raise JunitFlakyError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(ENTRY_KEYS)})")
        entries.append(_entry(record, where, source, default))
    return entries


def entries_from_answer(data: Any, source: str, default: Thresholds) -> Tuple[List[Entry], List[str]]:
    """Entries from a server, read as ``entries_from_records`` reads them, but the build goes on:
    an impossible entry is left out (its tests take the other sources) and unknown keys are
    ignored, each with a warning (one line each, returned)."""
    records, unknown = _records(data, source)
    entries: List[Entry] = []
    ignored: List[str] = []
    for index, record in enumerate(records, 1):
        try:
            entries.append(_entry(record, _where(index, record, source), source, default))
        except JunitFlakyError as exc:
            ignored.append(str(exc))
            continue
        unknown += _unknown(record, ENTRY_KEYS + NOTE_KEYS)
    warnings = []  # a line for the first impossible entry, not one per entry of a broken answer
    if ignored:
        more = f"that entry and {len(ignored) - 1} more" if len(ignored) > 1 else "entry"
        warnings.append(f"{ignored[0]}; {more} ignored")
    if unknown:
        warnings.append(f"{source}: unknown key(s) ignored: {', '.join(sorted(set(unknown)))}")
    return entries, warnings


def load_file(path: Path, default: Thresholds) -> List[Entry]:
    """``--thresholds FILE``: JSON in the API's shape or TOML; ``default`` fills what an entry
    leaves out (the thresholds of unlisted tests)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JunitFlakyError(f"{source}: cannot read thresholds file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise JunitFlakyError(f"{source}: thresholds file is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except UNREADABLE as json_error:
        why = (
            f"{json_error.msg} at line {json_error.lineno}"
            if isinstance(json_error, json.JSONDecodeError)
            else unreadable(json_error)
        )
        try:
            data = tomllib.loads(text)
        except UNREADABLE as toml_error:
            if path.suffix == ".toml":
                raise JunitFlakyError(f"{source}: not valid TOML: {unreadable(toml_error)}") from None
            raise JunitFlakyError(f"{source}: neither JSON ({why}) nor TOML") from None
    return entries_from_records(data, source, default)


# What json and tomllib raise for a text they cannot read: besides their decode errors (both
# ValueErrors), a plain ValueError for an integer too long for Python (over 4300 digits), and
# RecursionError for arrays or tables nested deeper than its recursion limit.
UNREADABLE = (ValueError, RecursionError)


def unreadable(error: Exception) -> str:
    """Why json or tomllib refused a text, in one clause (the advice to programmers that comes
    with a too long integer, to call sys.set_int_max_str_digits(), left out)."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).split(";")[0]


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
        if not self._by_name:  # asked for every tracked test, from tables mostly empty
            return None
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
    """Resolves each test's thresholds from all sources, the highest-priority match winning.

    ``quarantines`` (the quarantine file's entries, then the history's automatic ones) are
    matched exactly as threshold entries are, and quarantine the test whatever rule it gets:
    a quarantine says whether a failure fails the build, not how often a test runs."""

    def __init__(
        self, default: Thresholds, tables: Sequence[ThresholdTable], quarantines: Sequence[ThresholdTable] = ()
    ) -> None:
        self.default = default
        self.tables = list(tables)  # in increasing priority
        self.quarantines = list(quarantines)  # in decreasing priority

    def resolve(self, test: TestId) -> Thresholds:
        found = self.default
        for table in reversed(self.tables):
            entry = table.match(test)
            if entry is not None:
                found = entry.thresholds
                break
        for table in self.quarantines:
            entry = table.match(test)
            if entry is not None:
                return replace(found, quarantined=True, quarantine=entry.thresholds.quarantine)
        return found

    def watch(self) -> Optional[Watch]:
        """Which passing testcases the reader must keep: those a threshold may still fail
        (min_passes > 1) or quarantine. None when no test needs that."""
        if self.default.min_passes > 1:
            return Watch((), everything=True)
        names = {n for table in self.tables + self.quarantines for n in table.names}
        return Watch(names) if names else None


def defaults(
    config: Dict[str, Any], min_passes: Optional[int], max_runs: Optional[int]
) -> Thresholds:
    """The thresholds of unlisted tests: built-in, then pyproject, then the CLI options."""
    result = BUILTIN
    pyproject = ("min-passes", "max-runs")  # as the table spells them
    for source, names, mp, mr in (
        (PYPROJECT_SOURCE, pyproject, config.get(pyproject[0]), config.get(pyproject[1])),
        ("--min-passes/--max-runs", COUNT_KEYS, min_passes, max_runs),
    ):
        if mp is not None or mr is not None:
            result = combine(result, mp, mr, source, names, source=source)
    return result
