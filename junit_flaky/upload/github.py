"""GitHub Actions: the job summary, annotations on the failed and flaky tests, the step's outputs.

A step talks to GitHub through three channels (docs.github.com, "Workflow commands for GitHub
Actions"): Markdown appended to the file named by ``GITHUB_STEP_SUMMARY`` (shown on the run's
page, at most 1 MiB per step), workflow commands on stdout (``::error file=F,line=L,title=T::
message``; GitHub shows at most 10 errors and 10 warnings of a step), and ``name=value`` lines
appended to the file named by ``GITHUB_OUTPUT``. The summary is the Buildkite annotation's
Markdown (``annotation.build``), so both CIs show the same report.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from junit_flaky import tokens
from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_attempts import quarantine_why, recorded_verdict
from junit_flaky.junit_read import Testcase
from junit_flaky.model import Verdict
from junit_flaky.upload import annotation
from junit_flaky.upload.context import Context
from junit_flaky.upload.reports import Report, failed_attempts, verdict_note
from junit_flaky.verdicts import plural

SUMMARY_VAR = "GITHUB_STEP_SUMMARY"
OUTPUT_VAR = "GITHUB_OUTPUT"
SUMMARY_MAX = 1024 * 1024  # bytes of one step's summary GitHub accepts
SHOWN = 10  # annotations of each kind GitHub shows per step: more would only fill the log
MESSAGE_CUT = 1000

# What each verdict becomes: a quarantined failure does not fail the build, so it warns as a
# flaky test does (the Buildkite annotation's style makes the same choice).
_COMMAND = {Verdict.FAILED: "error", Verdict.QUARANTINED: "warning", Verdict.FLAKY: "warning"}

# Where a failure happened, in the two trace formats pytest writes: its own long and short
# tracebacks end a frame with ``path.py:12: Error``; ``--tb=native`` writes Python's
# ``File "path.py", line 12, in test``.
_PYTEST_FRAME = re.compile(r'^([^\s":]+):(\d+): ', re.M)
_PYTHON_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.M)


@dataclass(frozen=True)
class Annotation:
    command: str  # "error" | "warning"
    title: str
    message: str
    file: str = ""
    line: str = ""

    def __str__(self) -> str:
        properties = [("file", self.file), ("line", self.line), ("title", self.title)]
        listed = ",".join(f"{key}={escape_property(value)}" for key, value in properties if value)
        return f"::{self.command} {listed}::{escape_data(self.message)}"


def escape_data(text: str) -> str:
    """A workflow command's message: GitHub reads ``%``, CR and LF escaped (toolkit's command.ts)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: as a message, and ``:`` and ``,`` too, which end one."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def upload(reports: Sequence[Report], ctx: Context) -> str:
    summary_file = ctx.env.get(SUMMARY_VAR, "")
    output_file = ctx.env.get(OUTPUT_VAR, "")
    if not summary_file and not output_file:
        raise JunitFlakyError(f"{SUMMARY_VAR} and {OUTPUT_VAR} are not set: this target runs in a GitHub Actions step")
    cases = (case for report in reports for case in report.testcases())
    counts, shown = annotations(cases, ctx.env.get("GITHUB_WORKSPACE", ""))
    for note in shown:
        # Hidden in the values: the escaping (% as %25) would split a token for a search of the line.
        hidden = replace(note, title=tokens.redact(note.title, ctx.env), message=tokens.redact(note.message, ctx.env))
        sys.stdout.write(str(hidden) + "\n")
    sys.stdout.flush()
    done = [f"{plural(len(shown), 'annotation')}"]
    if summary_file:
        done.append(_write_summary(Path(summary_file), reports, ctx))
    if output_file:
        outputs = {
            "failed": str(counts[Verdict.FAILED]),
            "flaky": str(counts[Verdict.FLAKY]),
            "report": "\n".join(str(report.path) for report in reports),
        }
        _append(Path(output_file), "".join(output_line(name, value) for name, value in outputs.items()), OUTPUT_VAR)
        done.append("outputs failed, flaky, report")
    return ", ".join(done)


def output_line(name: str, value: str) -> str:
    """One output for ``GITHUB_OUTPUT``: ``name=value``, or the heredoc form for a value on
    several lines, with a delimiter the value cannot hold."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"junit_flaky_{uuid.uuid4().hex}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def annotations(cases: Iterable[Testcase], workspace: str = "") -> Tuple[Counter, List[Annotation]]:
    """The count of each verdict, and the annotations GitHub would show: the first SHOWN failed
    tests as errors, the first SHOWN flaky or quarantined ones as warnings."""
    counts: Counter = Counter()
    shown: Dict[str, List[Annotation]] = {"error": [], "warning": []}
    for case in cases:
        verdict = recorded_verdict(case.element)
        counts[verdict] += 1
        command = _COMMAND.get(verdict)
        if command is None or len(shown[command]) >= SHOWN:
            continue
        shown[command].append(_annotation(case, verdict, command, workspace))
    return counts, shown["error"] + shown["warning"]


def _annotation(case: Testcase, verdict: Verdict, command: str, workspace: str) -> Annotation:
    attempts = failed_attempts(case.element)
    first = attempts[0] if attempts else None
    problem = ""
    if first is not None:
        kind = first.type or first.tag
        # pytest's message already starts with the type: "AssertionError: assert 1 == 2"
        message = first.message if first.message.startswith(kind) else f"{kind}: {first.message}"
        problem = f": {message}" if first.message else f": {kind}"
    count = "; ".join(filter(None, [plural(len(attempts), "failed attempt"), verdict_note(case.element)]))
    message = f"{verdict.value}{quarantine_why(case.element)} ({count}){problem}"
    if len(message) > MESSAGE_CUT:
        message = message[: MESSAGE_CUT - 1] + "…"
    traces = "\n".join(attempt.trace for attempt in attempts)
    file, line = _location(traces, workspace) or (case.element.get("file"), case.element.get("line"))
    return Annotation(command, f"{verdict.value}: {case.test}", message, _relative(file, workspace) or "", line)


def _location(trace: str, workspace: str) -> Optional[Tuple[str, str]]:
    """The deepest frame of the trace in the checkout: where the test failed. A frame in an
    installed package (an absolute path outside ``workspace``) is passed over."""
    frames = [(m.start(), m.group(1), m.group(2)) for pattern in (_PYTEST_FRAME, _PYTHON_FRAME) for m in pattern.finditer(trace)]
    for _, file, line in sorted(frames, reverse=True):
        if _relative(file, workspace):
            return file, line
    return None


def _relative(file: str, workspace: str) -> Optional[str]:
    """``file`` as GitHub places annotations: relative to the checkout (``workspace``), None
    outside it. A relative path is taken from the working directory, where the tests ran and
    wrote it, which may be a folder below the checkout."""
    if not file:
        return None
    if not workspace:
        return None if os.path.isabs(file) else Path(file).as_posix()
    full, root = os.path.abspath(file), os.path.abspath(workspace)
    if os.path.commonpath([full, root]) != root:
        return None
    return Path(os.path.relpath(full, root)).as_posix()


def _write_summary(path: Path, reports: Sequence[Report], ctx: Context) -> str:
    """Append the Markdown, in what is left of the step's 1 MiB (an earlier command of the same
    step may have written to it)."""
    try:
        used = path.stat().st_size if path.exists() else 0
    except OSError:
        used = 0
    room = SUMMARY_MAX - used - 1
    if room < 1024:
        return "no job summary: the step's summary is full"
    note = annotation.for_ci([(report, None) for report in reports], ctx, limit=room)
    _append(path, "\n" + note.markdown, SUMMARY_VAR)
    return "job summary"


def _append(path: Path, text: str, var: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise JunitFlakyError(f"cannot append to {var} ({path}): {exc.strerror}") from None
