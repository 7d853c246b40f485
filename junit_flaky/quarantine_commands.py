"""``junit-flaky quarantine add|remove|list``: typer wiring; the file's rules live in quarantine_file.py,
the automatic quarantines in history/auto_quarantine.py."""

# No `from __future__ import annotations`: typer reads the commands' annotations on every start.

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Dict, List, Optional, Tuple

import typer

from junit_flaky import cli_help
from junit_flaky import quarantine_location as location
from junit_flaky.console import bounded, stdout, warn
from junit_flaky.errors import JunitFlakyError
from junit_flaky.history.commands import DbOpt, Format

if TYPE_CHECKING:
    from junit_flaky.history.location import Location
    from junit_flaky.history.store import QuarantineRow
    from junit_flaky.model import Quarantine, TestId

quarantine_app = cli_help.command_group(
    "Quarantine tests: they still run and are reported, but never fail the build."
)

NEVER = "never"  # --until never: an update clears the entry's until
FileOpt = Annotated[Optional[str], typer.Option("--file", metavar="PATH", help=location.HELP, show_default=False)]
TestsArg = Annotated[List[str], typer.Argument(metavar="TEST...", help="pytest node ids (tests/test_x.py::TestC::test_y) or CLASSNAME::NAME as junit-flaky prints them.", show_default=False)]


def _path(option: Optional[str]) -> Path:
    return location.resolve_path(option, os.environ, Path.cwd())


@quarantine_app.command("add", cls=cli_help.Command)
@bounded
def add_command(
    tests: TestsArg,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (shown wherever the test is reported).", show_default=False)],
    owner: Annotated[Optional[str], typer.Option("--owner", metavar="NAME", help="Who looks after it (an update keeps the owner unless given; --owner '' clears it).", show_default=False)] = None,
    until: Annotated[Optional[str], typer.Option("--until", metavar="DATE", help="The last day (YYYY-MM-DD, UTC) it is quarantined; from the next day its failures fail the build again (an update keeps it unless given; --until never clears it).", show_default=False)] = None,
    file: FileOpt = None,
) -> None:
    """Quarantine tests by hand, in the quarantine file (add again to change the reason, and the owner or until where given)."""
    from junit_flaky import quarantine_file as qf

    if not reason.strip():
        raise JunitFlakyError("--reason is empty: say why the test is quarantined")
    today = qf.today()
    last_day = None if until in (None, NEVER) else qf.parse_date(until, "--until")
    if last_day is not None and last_day < today:
        raise JunitFlakyError(f"--until {until} is in the past (today is {today.isoformat()} UTC)")
    entries = [qf.ManualEntry(test, *qf.parse_test(test), reason.strip(), today, (owner or "").strip(), last_day) for test in tests]
    path = _path(file)
    keep = [field for field, given in (("owner", owner), ("until", until)) if given is None]  # not given: kept
    edit = qf.add(path, entries, keep)
    for entry in edit.added:
        stdout.print(f"junit-flaky: quarantined {entry.test} in {path}", markup=False)
    for old, entry in edit.updated:
        changed = qf.changes(old, entry)
        if changed:
            stdout.print(f"junit-flaky: updated the quarantine of {entry.test} in {path}: {', '.join(changed)}", markup=False)
        else:
            stdout.print(f"junit-flaky: {entry.test} is quarantined as it was already, in {path}", markup=False)


@quarantine_app.command("remove", cls=cli_help.Command)
@bounded
def remove_command(tests: TestsArg, file: FileOpt = None, db: DbOpt = None) -> None:
    """Release tests: take them out of the quarantine file and end their automatic quarantine in
    the history, whichever holds. Their failures fail the build again."""
    import time

    from junit_flaky import quarantine_file as qf
    from junit_flaky.history import auto_quarantine
    from junit_flaky.history.store import open_store
    from junit_flaky.verdicts import plural

    path = _path(file)
    listed = {entry.identity for entry in qf.load(path)}
    db_path = _db(db)
    # A test listed by hand may hold an automatic quarantine too (started before it was listed):
    # releasing it from the file alone would leave it quarantined.
    try:
        rows, unread = [q for q, _ in _held(db_path)], None
    except JunitFlakyError as exc:
        rows, unread = [], exc
    held = {(q.classname, q.name): q for q in rows}
    # An automatic quarantine is named as `list` shows it, which need not be a TEST the file could
    # list: a test without a classname shows its name alone, a jest describe block has spaces.
    shown = {auto_quarantine.label(q): (q.classname, q.name) for q in rows}
    identity = {test: shown.get(test) or qf.parse_test(test) for test in tests}
    by_hand = [test for test in tests if identity[test] in listed]
    if unread is not None:
        if len(by_hand) < len(tests):
            raise unread
        warn(f"automatic quarantines not checked: {unread}")
    for test in tests:
        if test not in by_hand and identity[test] not in held:
            raise JunitFlakyError(f"{test!r} is not in {path}, nor quarantined automatically in {db_path}; nothing removed")
    automatic = [held[identity[test]] for test in tests if identity[test] in held]
    if by_hand:
        edit = qf.remove(path, by_hand)
        for entry in edit.removed:
            stdout.print(f"junit-flaky: released {entry.test} from {path}", markup=False)
        if edit.comments_removed:
            stdout.print(f"junit-flaky: removed {plural(edit.comments_removed, 'comment')} that belonged to them", markup=False)
    if automatic:
        with open_store(db_path, create=False) as store:
            store.release_quarantines([(q.id, "released by hand") for q in automatic], time.time())
        for q in automatic:
            stdout.print(f"junit-flaky: released {auto_quarantine.label(q)} from its automatic quarantine in {db_path}", markup=False)


def _db(option: Optional[str]) -> "Location":
    from junit_flaky.history.location import resolve_db_path

    return resolve_db_path(option, os.environ, Path.cwd())


def _held(db: "Location") -> "List[Tuple[QuarantineRow, TestId]]":
    """The automatic quarantines in the history; none without a history."""
    from junit_flaky.history import auto_quarantine

    if isinstance(db, Path) and not db.exists():  # a PostgreSQL history is asked, always
        return []
    return auto_quarantine.held(db)


@dataclass(frozen=True)
class Listed:
    """One quarantine as ``list`` shows it."""

    test: str
    quarantine: "Quarantine"
    expired: bool = False
    identity: "Optional[TestId]" = None  # an automatic quarantine's test, as its reports named it


def _until(item: Listed) -> str:
    return f"{item.quarantine.until} (expired)" if item.expired else item.quarantine.until


COLUMNS = [
    ("Test", lambda i: i.test, False),
    ("Source", lambda i: i.quarantine.origin, False),
    ("Since", lambda i: i.quarantine.since, False),
    ("Until", _until, False),
    ("Owner", lambda i: i.quarantine.owner, False),
    ("Reason", lambda i: i.quarantine.reason, False),
]


def as_json(items: List[Listed]) -> List[Dict[str, Any]]:
    return [{"test": item.test, **item.quarantine.as_json(), "expired": item.expired} for item in items]


def manual_listing(path: Path) -> List[Listed]:
    from junit_flaky import quarantine_file as qf

    today = qf.today()
    return [Listed(e.test, e.quarantine(), e.expired(today)) for e in qf.load(path)]


def _owned(items: List[Listed]) -> List[Listed]:
    """A quarantine that names no owner shows the test's owners from CODEOWNERS, marked so, since
    someone has to look after it."""
    from dataclasses import replace

    from junit_flaky import codeowners
    from junit_flaky import quarantine_file as qf
    from junit_flaky.model import TestId

    lookup = codeowners.configured(Path.cwd(), None, os.environ, warn)
    if lookup is None:
        return items
    owned = []
    for item in items:
        if not item.quarantine.owner:
            try:
                owners = lookup(item.identity or TestId(*qf.parse_test(item.test)))
            except JunitFlakyError:  # a bare name (no class): no file to look up
                owners = ()
            if owners:
                item = replace(item, quarantine=replace(item.quarantine, owner=f"{' '.join(owners)} (CODEOWNERS)"))
        owned.append(item)
    return owned


@quarantine_app.command("list", cls=cli_help.Command)
@bounded
def list_command(
    output_format: Annotated[Format, typer.Option("--format", metavar="table|json|markdown", help="How to show them.")] = Format.TABLE,
    file: FileOpt = None,
    db: DbOpt = None,
) -> None:
    """The quarantined tests: by hand (the quarantine file) and automatic (the history)."""
    from rich.console import Console

    from junit_flaky.history import auto_quarantine, stats

    items = manual_listing(_path(file))
    try:
        items += [Listed(auto_quarantine.label(q), auto_quarantine.as_quarantine(q), identity=test) for q, test in _held(_db(db))]
    except JunitFlakyError as exc:  # the file's quarantines are still worth showing
        warn(f"no automatic quarantines: {exc}")
    items = _owned(items)
    if output_format is Format.JSON:
        stdout.out(json.dumps(as_json(items), indent=2), highlight=False)
    elif not items:
        stdout.out("No quarantined test.", highlight=False)
    elif output_format is Format.MARKDOWN:
        stdout.out(stats.as_markdown(items, COLUMNS), end="", highlight=False)
    else:
        wide = stdout if stdout.is_terminal else Console(file=stdout.file, width=max(stdout.width, 160), highlight=False, emoji=False)
        wide.print(stats.as_table(items, COLUMNS))
