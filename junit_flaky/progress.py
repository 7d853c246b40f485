"""Rerun progress: a rich progress bar on a terminal, one plain line per decided test in CI logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from rich.console import Console
from rich.text import Text

from junit_flaky.model import TestResult
from junit_flaky.reruns import Progress as ProgressSink
from junit_flaky.verdicts import plural

if TYPE_CHECKING:
    from rich.progress import TaskID


def _decided_line(result: TestResult, name: str) -> str:
    verdict = result.reported_verdict.value
    reruns = sum(1 for a in result.attempts if a.rerun)
    return f"junit-flaky: rerun {name}: {verdict} after {plural(reruns, 'rerun')} ({result.decision.reason})"


class PlainProgress(ProgressSink):
    """For logs: a line when reruns start and one per decided test, nothing that redraws."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def begin(self, total: int) -> None:
        self.console.print(f"junit-flaky: rerunning {plural(total, 'open test')} with pytest", markup=False)

    def decided(self, result: TestResult, name: str) -> None:
        self.console.print(_decided_line(result, name), markup=False)


class RichProgress(ProgressSink):
    """For terminals: tests decided out of the total, and the test running now."""

    def __init__(self, console: Console) -> None:
        # Imported here: rich's progress bar and live display cost every run in CI logs a few ms.
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.bar = Progress(
            TextColumn("rerunning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}", markup=False),  # a test's name, test_read[/tmp/x] too, as it is
            console=console,
            transient=True,
            # Everything is printed through the consoles, whose files write to sys.stdout and
            # sys.stderr: redirected into the bar's console, each line would loop back for ever.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task: Optional[TaskID] = None

    def begin(self, total: int) -> None:
        self.task = self.bar.add_task("starting pytest", total=total)
        self.bar.start()

    def running(self, name: str, rerun: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=f"{name} (rerun {rerun})")

    def decided(self, result: TestResult, name: str) -> None:
        if self.task is not None:
            self.bar.advance(self.task)
        # Printing above the bar redraws the bar as last rendered: render the new count first,
        # or tests decided between two timed redraws show as one jump.
        self.bar.refresh()
        self.bar.console.print(Text(_decided_line(result, name)))

    def end(self) -> None:
        self.bar.stop()


def for_console(console: Console) -> ProgressSink:
    # A terminal that cannot show every character (ASCII under LANG=C) gets escapes (\u2026) longer
    # than rich measured: each redraw would wrap and stay on the screen. It gets the plain lines,
    # as does a CI log with FORCE_COLOR, which rich takes for a terminal: colour, but no redraws.
    fancy = console.is_interactive and console.file.isatty() and not console.options.ascii_only
    return RichProgress(console) if fancy else PlainProgress(console)
