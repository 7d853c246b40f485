"""The quarantine file: tests quarantined by hand, in a TOML file meant to be committed and reviewed.

A quarantined test still runs and is reported; its failure never fails the build. Each entry
names its test as a person copies it from pytest's output (a node id) or from junit-flaky's
(``CLASSNAME::NAME``), says why, since when, and optionally who owns it and until when::

    [[quarantine]]
    test = "tests/test_cache.py::TestWarm::test_race"
    reason = "races with the cache warmer"
    owner = "alice"
    since = 2026-11-27
    until = 2026-12-31

An entry becomes a threshold entry (test_name, class_name), so a quarantine matches a test
exactly as a thresholds entry does (``thresholds.ThresholdTable``).

``quarantine add``/``remove`` edit the file as text, entry by entry: entries stay sorted by test,
comments above an entry (no blank line between) or inside it move with it, the file's leading
comments stay; removing an entry removes its comments and says how many. The result is parsed
again before it is written (atomically), so an edit that would change anything else is refused.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from junit_flaky.errors import JunitFlakyError
from junit_flaky.files import atomic_write
from junit_flaky.model import Quarantine, Thresholds
from junit_flaky.thresholds import UNREADABLE, Entry, tomllib, unreadable

TEST_FORMAT = "a pytest node id (tests/test_x.py::TestC::test_y) or CLASSNAME::NAME as junit-flaky prints it"
REQUIRED = ("test", "reason", "since")
KEYS = REQUIRED + ("owner", "until")
HEADER = (
    "# Quarantined tests: they run and are reported, but their failures never fail the build.\n"
    "# Written by `junit-flaky quarantine add|remove` (entries sorted by test; comments above or\n"
    "# inside an entry move with it); edit by hand as you like.\n"
)
_TABLE = re.compile(r"^\s*\[\[\s*quarantine\s*\]\]\s*(#.*)?$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z_-]+)\s*=")


@dataclass(frozen=True)
class ManualEntry:
    test: str  # as written
    class_name: str
    test_name: str
    reason: str
    since: datetime.date
    owner: str = ""
    until: Optional[datetime.date] = None

    @property
    def identity(self) -> Tuple[str, str]:
        return self.class_name, self.test_name

    def expired(self, today: datetime.date) -> bool:
        """Past its ``until``: the quarantine holds through that day (UTC)."""
        return self.until is not None and today > self.until

    def quarantine(self) -> Quarantine:
        until = self.until.isoformat() if self.until else ""
        return Quarantine("manual", self.reason, self.since.isoformat(), self.owner, until)


def today() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()


def _split(text: str) -> List[str]:
    """``a::b[x::y]`` -> ``["a", "b[x::y]"]``: ``::`` inside a parameter id is the name's."""
    parts, depth, start, index = [], 0, 0, 0
    while index < len(text):
        char = text[index]
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif depth == 0 and text.startswith("::", index):
            parts.append(text[start:index])
            start = index = index + 2
            continue
        index += 1
    return parts + [text[start:]]


def parse_test(text: str) -> Tuple[str, str]:
    """(class_name, test_name) of a TEST as a person gives it; JunitFlakyError if it is neither
    form. A node id becomes what pytest writes in JUnit: the path with ``/`` as ``.`` and no
    ``.py``, then the classes, joined by ``.``."""
    parts = _split(text)
    bad = JunitFlakyError(f"{text!r} is not a test: expected {TEST_FORMAT}")
    if len(parts) < 2 or not all(parts) or any(c.isspace() for c in "".join(parts[:-1])) or "\n" in text:
        raise bad
    if parts[0].endswith(".py"):
        module = parts[0][: -len(".py")].replace("\\", "/")
        while module.startswith("./"):
            module = module[2:]
        if not module or module.startswith("/") or "//" in module:
            raise bad
        return ".".join([module.replace("/", "."), *parts[1:-1]]), parts[-1]
    if len(parts) != 2:  # a JUnit classname has no "::"
        raise bad
    return parts[0], parts[1]


def parse_date(text: str, what: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise JunitFlakyError(f"{what} must be a date as YYYY-MM-DD, got {text!r}") from None


def _entry(record: Any, index: int, source: str) -> ManualEntry:
    where = f"{source}: entry {index}"
    if not isinstance(record, dict):
        raise JunitFlakyError(f"{where} must be a [[quarantine]] table")
    unknown = sorted(set(record) - set(KEYS))
    if unknown:
        raise JunitFlakyError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise JunitFlakyError(f"{where}: {missing[0]} is missing")
    for key in ("test", "reason", "owner"):
        if key in record and not isinstance(record[key], str):
            raise JunitFlakyError(f"{where}: {key} must be a string, got {record[key]!r}")
    if not record["reason"].strip():
        raise JunitFlakyError(f"{where}: reason is empty")
    for key in ("since", "until"):
        value = record.get(key)
        if value is not None and (not isinstance(value, datetime.date) or isinstance(value, datetime.datetime)):
            raise JunitFlakyError(f"{where}: {key} must be a date (since = 2026-11-27), got {value!r}")
    try:
        class_name, test_name = parse_test(record["test"])
    except JunitFlakyError as exc:
        raise JunitFlakyError(f"{where}: {exc}") from None
    return ManualEntry(
        record["test"], class_name, test_name, record["reason"], record["since"], record.get("owner", ""), record.get("until")
    )


def parse(text: str, source: str) -> List[ManualEntry]:
    """The entries of a quarantine file's text; JunitFlakyError naming what is wrong."""
    try:
        data = tomllib.loads(text)
    except UNREADABLE as exc:
        raise JunitFlakyError(f"{source}: not valid TOML: {unreadable(exc)}") from None
    unknown = sorted(set(data) - {"quarantine"})
    if unknown:
        raise JunitFlakyError(f"{source}: unknown key {unknown[0]!r} (entries are [[quarantine]] tables)")
    records = data.get("quarantine", [])
    if not isinstance(records, list):
        raise JunitFlakyError(f"{source}: quarantine must be [[quarantine]] tables")
    entries = [_entry(record, index, source) for index, record in enumerate(records, 1)]
    seen: Dict[Tuple[str, str], str] = {}
    for entry in entries:
        if entry.identity in seen:
            raise JunitFlakyError(f"{source}: {entry.test!r} is listed twice (also as {seen[entry.identity]!r})")
        seen[entry.identity] = entry.test
    return entries


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JunitFlakyError(f"{path}: cannot read quarantine file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise JunitFlakyError(f"{path}: quarantine file is not UTF-8 text") from None


def load(path: Path) -> List[ManualEntry]:
    """The file's entries; none when there is no file."""
    text = _read(path)
    return [] if text is None else parse(text, str(path))


def threshold_entries(entries: Sequence[ManualEntry], source: str, on: datetime.date) -> List[Entry]:
    """The entries in force ``on`` that day, as threshold entries that quarantine their test."""
    return [
        Entry(e.test_name, e.class_name, Thresholds(quarantined=True, source=source, quarantine=e.quarantine()))
        for e in entries
        if not e.expired(on)
    ]


# Editing -------------------------------------------------------------------------------------


def _chunks(text: str) -> Tuple[List[str], List[List[str]]]:
    """The file's lines before its first entry, and each entry's lines: its own comments just
    above it (no blank line between), its table header, its keys and comments."""
    head: List[str] = []
    blocks: List[List[str]] = []
    for line in text.splitlines():
        if _TABLE.match(line):
            current = blocks[-1] if blocks else head
            above = 0
            while above < len(current) and current[len(current) - 1 - above].lstrip().startswith("#"):
                above += 1
            moved = current[len(current) - above :] if above else []
            del current[len(current) - above :]
            blocks.append(moved + [line])
        elif blocks:
            blocks[-1].append(line)
        else:
            head.append(line)
    return head, blocks


def _editable(path: Path, text: str, entries: List[ManualEntry]) -> Tuple[List[str], List[List[str]]]:
    head, blocks = _chunks(text)
    if len(blocks) != len(entries):  # e.g. a [[quarantine]] line inside a multi-line string
        raise JunitFlakyError(f"{path}: cannot edit this file safely; change it by hand")
    return head, blocks


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def _render(entry: ManualEntry) -> List[str]:
    lines = ["[[quarantine]]", f"test = {_toml_string(entry.test)}", f"reason = {_toml_string(entry.reason)}"]
    if entry.owner:
        lines.append(f"owner = {_toml_string(entry.owner)}")
    lines.append(f"since = {entry.since.isoformat()}")
    if entry.until:
        lines.append(f"until = {entry.until.isoformat()}")
    return lines


def _trailing_comment(line: str) -> Optional[str]:
    """The comment after a key's value (``reason = "x"  # ticket 12``), as a line of its own: the
    first ``#`` before which the line reads as TOML (a ``#`` inside a string does not)."""
    for index, char in enumerate(line):
        if char == "#":
            try:
                tomllib.loads(line[:index])
            except UNREADABLE:
                continue
            return line[index:].strip()
    return None


def _comments(block: List[str]) -> Tuple[List[str], List[str]]:
    """An entry's comment lines above its header, and those among its keys (a comment after a
    value becomes a line of its own, since the values are written anew)."""
    header, table = next((i, match) for i, match in enumerate(map(_TABLE.match, block)) if match)
    inside = [table.group(1).strip()] if table.group(1) else []  # [[quarantine]]  # why
    for line in block[header + 1 :]:
        comment = line.strip() if line.lstrip().startswith("#") else _trailing_comment(line)
        if comment:
            inside.append(comment)
    return block[:header], inside


def _join(head: List[str], blocks: List[List[str]]) -> str:
    """One blank line between entries and after the head; no trailing blank lines."""
    parts = ["\n".join(head).strip("\n")] if "".join(head).strip() else []
    for block in blocks:
        parts.append("\n".join(block).strip("\n"))
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class Edit:
    added: List[ManualEntry]
    updated: List[Tuple[ManualEntry, ManualEntry]]  # (as it was, as it is now)
    removed: List[ManualEntry]
    comments_removed: int = 0


def _write(path: Path, text: str, expected: List[ManualEntry]) -> None:
    """Write ``text`` after checking that it holds exactly ``expected``: an edit that would
    change any other entry (a file whose layout the line-by-line edit misreads) is refused."""
    if parse(text, str(path)) != expected:
        raise JunitFlakyError(f"{path}: cannot edit this file safely; change it by hand")
    with atomic_write(path) as handle:
        handle.write(text.encode("utf-8"))


def add(path: Path, new: Sequence[ManualEntry], keep: Sequence[str] = ()) -> Edit:
    """Add entries (or update an entry of the same test, keeping its ``since`` and comments, and
    the fields named in ``keep``, "owner" or "until": the ones the command was not given)."""
    text = _read(path)
    current = [] if text is None else parse(text, str(path))
    head, blocks = _editable(path, HEADER if text is None else text, current)
    by_identity = {e.identity: i for i, e in enumerate(current)}
    entries = list(current)
    added, updated = [], []
    for entry in new:
        index = by_identity.get(entry.identity)
        if index is not None:
            old = entries[index]
            kept = {field: getattr(old, field) for field in keep}
            entry = replace(entry, test=old.test, class_name=old.class_name, test_name=old.test_name, since=old.since, **kept)
            above, inside = _comments(blocks[index])
            blocks[index] = above + _render(entry) + inside
            entries[index] = entry
            updated.append((old, entry))
            continue
        position = next((i for i, e in enumerate(entries) if e.test > entry.test), len(entries))
        blocks.insert(position, _render(entry))
        entries.insert(position, entry)
        by_identity = {e.identity: i for i, e in enumerate(entries)}
        added.append(entry)
    _write(path, _join(head, blocks), entries)
    return Edit(added, updated, [])


def changes(old: ManualEntry, new: ManualEntry) -> List[str]:
    """What an update changed, as ``reason 'a' -> 'b'``, ``owner 'bob' -> none``, ``until X -> never``."""
    said = []
    if old.reason != new.reason:
        said.append(f"reason {old.reason!r} -> {new.reason!r}")
    if old.owner != new.owner:
        said.append(f"owner {repr(old.owner) if old.owner else 'none'} -> {repr(new.owner) if new.owner else 'none'}")
    if old.until != new.until:
        said.append(f"until {old.until or 'never'} -> {new.until or 'never'}")
    return said


def remove(path: Path, tests: Sequence[str]) -> Edit:
    """Remove the entries of these tests (a test named either way), with their comments.
    Naming a test the file does not list is an error, and then nothing is removed."""
    text = _read(path)
    current = [] if text is None else parse(text, str(path))
    wanted = [parse_test(test) for test in tests]
    listed = {e.identity for e in current}
    for test, identity in zip(tests, wanted):
        if identity not in listed:
            raise JunitFlakyError(f"{test!r} is not in {path}; nothing removed")
    head, blocks = _editable(path, text or "", current)
    keep = [(e, b) for e, b in zip(current, blocks) if e.identity not in set(wanted)]
    gone = [(e, b) for e, b in zip(current, blocks) if e.identity in set(wanted)]
    comments = sum(len(above) + len(inside) for above, inside in (_comments(b) for _, b in gone))
    _write(path, _join(head, [b for _, b in keep]), [e for e, _ in keep])
    return Edit([], [], [e for e, _ in gone], comments)

