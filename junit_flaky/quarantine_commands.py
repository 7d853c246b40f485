"""``junit-flaky quarantine add|remove|list``: typer wiring; the file's rules live in quarantine_file.py,
the automatic quarantines in history/auto_quarantine.py."""

# No `from __future__ import annotations`: typer reads the commands' annotations on every start.

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Dict, List, Optional

import typer

from junit_flaky import cli_help
from junit_flaky import quarantine_location as location
from junit_flaky.console import bounded, stdout
from junit_flaky.errors import JunitFlakyError
from junit_flaky.history.commands import Format

if TYPE_CHECKING:
    from junit_flaky.model import Quarantine

quarantine_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Quarantine tests: they still run and are reported, but never fail the build.",
)

FileOpt = Annotated[Optional[str], typer.Option("--file", metavar="PATH", help=location.HELP, show_default=False)]
TestsArg = Annotated[List[str], typer.Argument(metavar="TEST...", help="pytest node ids (tests/test_x.py::TestC::test_y) or CLASSNAME::NAME as junit-flaky prints them.", show_default=False)]


def _path(option: Optional[str]) -> Path:
    return location.resolve_path(option, os.environ, Path.cwd())


@quarantine_app.command("add", cls=cli_help.Command)
@bounded
def add_command(
    tests: TestsArg,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (shown wherever the test is reported).", show_default=False)],
    owner: Annotated[str, typer.Option("--owner", metavar="NAME", help="Who looks after it.", show_default=False)] = "",
    until: Annotated[Optional[str], typer.Option("--until", metavar="DATE", help="The last day (YYYY-MM-DD, UTC) it is quarantined; from the next day its failures fail the build again.", show_default=False)] = None,
    file: FileOpt = None,
) -> None:
    """Quarantine tests by hand, in the quarantine file (add again to change reason, owner or until)."""
    from junit_flaky import quarantine_file as qf

    if not reason.strip():
        raise JunitFlakyError("--reason is empty: say why the test is quarantined")
    today = qf.today()
    last_day = None if until is None else qf.parse_date(until, "--until")
    if last_day is not None and last_day < today:
        raise JunitFlakyError(f"--until {until} is in the past (today is {today.isoformat()} UTC)")
    entries = [qf.ManualEntry(test, *qf.parse_test(test), reason.strip(), today, owner.strip(), last_day) for test in tests]
    path = _path(file)
    edit = qf.add(path, entries)
    for entry in edit.added:
        stdout.print(f"junit-flaky: quarantined {entry.test} in {path}", markup=False)
    for entry in edit.updated:
        stdout.print(f"junit-flaky: updated the quarantine of {entry.test} in {path}", markup=False)


@quarantine_app.command("remove", cls=cli_help.Command)
@bounded
def remove_command(tests: TestsArg, file: FileOpt = None) -> None:
    """Take tests out of the quarantine file: their failures fail the build again."""
    from junit_flaky import quarantine_file as qf
    from junit_flaky.verdicts import plural

    path = _path(file)
    edit = qf.remove(path, tests)
    for entry in edit.removed:
        stdout.print(f"junit-flaky: released {entry.test} from {path}", markup=False)
    if edit.comments_removed:
        stdout.print(f"junit-flaky: removed {plural(edit.comments_removed, 'comment line')} that belonged to them", markup=False)


@dataclass(frozen=True)
class Listed:
    """One quarantine as ``list`` shows it."""

    test: str
    quarantine: "Quarantine"
    expired: bool = False


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
    return [
        {
            "test": item.test,
            "source": item.quarantine.origin,
            "since": item.quarantine.since,
            "until": item.quarantine.until or None,
            "owner": item.quarantine.owner or None,
            "reason": item.quarantine.reason,
            "expired": item.expired,
        }
        for item in items
    ]


def manual_listing(path: Path) -> List[Listed]:
    from junit_flaky import quarantine_file as qf

    today = qf.today()
    return [Listed(e.test, e.quarantine(), e.expired(today)) for e in qf.load(path)]


@quarantine_app.command("list", cls=cli_help.Command)
@bounded
def list_command(
    output_format: Annotated[Format, typer.Option("--format", metavar="table|json|markdown", help="How to show them.")] = Format.TABLE,
    file: FileOpt = None,
) -> None:
    """The quarantined tests: by hand (the quarantine file) and automatic (the history)."""
    from rich.console import Console

    from junit_flaky.history import stats

    path = _path(file)
    items = manual_listing(path)
    if output_format is Format.JSON:
        stdout.out(json.dumps(as_json(items), indent=2), highlight=False)
    elif not items:
        stdout.out("No quarantined test.", highlight=False)
    elif output_format is Format.MARKDOWN:
        stdout.out(stats.as_markdown(items, COLUMNS), end="", highlight=False)
    else:
        wide = stdout if stdout.is_terminal else Console(file=stdout.file, width=max(stdout.width, 160), highlight=False, emoji=False)
        wide.print(stats.as_table(items, COLUMNS))
