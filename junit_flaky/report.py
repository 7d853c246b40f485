"""The reports: the FlakyBot Test Report for humans (rich, plain text off a TTY) and JSON for tools."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from junit_flaky import tokens
from junit_flaky.files import atomic_write
from junit_flaky.junit_read import Suite
from junit_flaky.model import Outcome, TestId, TestResult, Thresholds, Verdict, labelled, shared_names, test_label
from junit_flaky.thresholds import Resolver
from junit_flaky.verdicts import Tally, plural, runs_left

_STYLE = {
    Verdict.PASSED: "green",
    Verdict.FLAKY: "yellow",
    Verdict.FAILED: "bold red",
    Verdict.SKIPPED: "dim",
    Verdict.QUARANTINED: "magenta",
}
_VERDICT_WIDTH = max(len(v.value) for v in Verdict) + 1  # a column, with a space after the longest
_OUTCOME_STYLE = {Outcome.PASSED: "green", Outcome.FAILED: "red", Outcome.ERROR: "red", Outcome.SKIPPED: "dim"}


@dataclass
class Summary:
    passed: int = 0
    flaky: int = 0
    failed: int = 0
    skipped: int = 0
    quarantined: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.flaky + self.failed + self.skipped + self.quarantined


def summarize(results: Iterable[TestResult], untracked_passed: int, untracked_skipped: int) -> Summary:
    counts = Counter(result.reported_verdict for result in results)  # a Verdict hashes as its str, in C
    return Summary(
        passed=untracked_passed + counts[Verdict.PASSED],
        flaky=counts[Verdict.FLAKY],
        failed=counts[Verdict.FAILED],
        skipped=untracked_skipped + counts[Verdict.SKIPPED],
        quarantined=counts[Verdict.QUARANTINED],
    )


# Built once: a member looked up on its enum class takes 75 ns on Python 3.11, three per test.
_NOTEWORTHY = (Verdict.FLAKY, Verdict.FAILED, Verdict.QUARANTINED)


def _noteworthy(results: Iterable[TestResult]) -> List[TestResult]:
    """Tests a human should read about: anything that did not simply pass, and every rerun."""
    return [r for r in results if r.reported_verdict in _NOTEWORTHY or r.was_rerun]


def print_report(
    console: Console, results: List[TestResult], summary: Summary, notes: Iterable[str] = (), limit: int = 50
) -> None:
    """Per flaky or failed test, each attempt with the runs remaining, then the verdict and why.

    A broken build can fail thousands of tests; past ``limit`` the rest are only counted (the
    --json report and the XML have them all), the tests that fail the build first (failed ones,
    and flaky ones that fail it: a new test flaky on arrival, --fail-on-flaky), since they are
    what a red build's reader looks for.
    """
    noteworthy = sorted(_noteworthy(results), key=lambda r: not r.fails_build)
    console.print(Text("===FlakyBot Test Report===", style="bold"))
    # Only the printed names need telling apart.
    shared = shared_names((r.test for r in results), among=[str(r.test) for r in noteworthy[:limit]])
    for result in noteworthy[:limit]:
        console.print()
        _print_test(console, result, labelled(str(result.test), result.test, shared))
    if len(noteworthy) > limit:
        console.print()
        console.print(Text(f"... and {plural(len(noteworthy) - limit, 'more flaky, failed or rerun test')} (see --json or the XML)"))
    for note in notes:
        console.print()
        console.print(Text(note, style="yellow"))
    console.print()
    print_summary_line(console, summary)
    console.print(Text("===End FlakyBot Test Report===", style="bold"))


def _print_test(console: Console, result: TestResult, name: str) -> None:
    th = result.thresholds
    verdict = result.reported_verdict
    header = Text()
    header.append(f"{verdict.value.upper():<{_VERDICT_WIDTH}}", style=_STYLE[verdict])
    header.append(name, style="bold")
    header.append(f"  (pass {th.min_passes} of max {th.max_runs}; from {th.source})", style="dim")
    console.print(header)
    if result.owners:
        console.print(Text(f"    owners: {' '.join(result.owners)}", style="cyan"))
    tally = Tally()
    for number, attempt in enumerate(result.attempts, start=1):
        tally = tally.add(attempt.outcome)
        line = Text(f"    attempt {number}: ")
        line.append(attempt.outcome.value.upper(), style=_OUTCOME_STYLE[attempt.outcome])
        line.append(f" ({plural(runs_left(tally, th), 'run')} remaining out of {th.max_runs})")
        if attempt.rerun:
            line.append(" [rerun]", style="cyan")
        console.print(line)
        if attempt.outcome.is_failure:
            detail = attempt.message
            if attempt.type and not detail.startswith(attempt.type):
                # The type as the XML's type attribute names it, not Python's "<class '...'>".
                detail = f"{attempt.type}: {detail}" if detail else attempt.type
            if detail:
                console.print(Text(f"\t{_first_lines(detail)}"))
            if attempt.location:
                console.print(Text(f"\tat {attempt.location}", style="dim"))
    outcome = Text("    ")
    outcome.append(f"{result.test.name}: {verdict.value.upper()}", style=_STYLE[verdict])
    outcome.append(f" - {result.decision.reason}")
    if verdict is Verdict.QUARANTINED:
        outcome.append(f" (verdict {result.decision.verdict.value}; quarantined tests never fail the build)")
    elif verdict is Verdict.FLAKY and result.fails_build:
        outcome.append(" (this flaky verdict fails the build)", style=_STYLE[Verdict.FAILED])
    console.print(outcome)
    if th.quarantine:
        console.print(Text(f"    quarantined {th.quarantine.describe()}", style=_STYLE[Verdict.QUARANTINED]))


def _first_lines(text: str, limit: int = 3) -> str:
    lines = text.strip().splitlines()
    more = f" [... {plural(len(lines) - limit, 'more line')}]" if len(lines) > limit else ""
    return "\n\t".join(lines[:limit]) + more


def print_summary_line(console: Console, summary: Summary) -> None:
    parts = []
    for verdict, count in (
        (Verdict.PASSED, summary.passed),
        (Verdict.FLAKY, summary.flaky),
        (Verdict.FAILED, summary.failed),
        (Verdict.SKIPPED, summary.skipped),
        (Verdict.QUARANTINED, summary.quarantined),
    ):
        parts.append(f"[{_STYLE[verdict]}]{count} {verdict.value}[/]" if count else f"{count} {verdict.value}")
    console.print(f"{escape(plural(summary.total, 'test'))}: " + ", ".join(parts))


def suite_failures(suites: Iterable[Suite]) -> List[str]:
    """Failures recorded on a <testsuite> itself, outside any test (Ant writes one when a class
    fails before its first test): they fail the build, like a failed test."""
    notes = []
    for suite in suites:
        if suite.own_failures or suite.own_errors:
            name = dict(suite.attrs).get("name", "") or "(unnamed)"
            count = plural(suite.own_failures + suite.own_errors, "failure or error", "failures or errors")
            notes.append(f"testsuite {name!r} records {count} outside any test (e.g. a failed class setup), which fails the build")
    return notes


def print_thresholds(console: Console, resolver: Resolver) -> None:
    """Every source's entries, lowest priority first, and the thresholds of unlisted tests."""
    default = resolver.default
    console.print(Text(f"unlisted tests: pass {default.min_passes} of max {default.max_runs} (from {default.source})"))
    for table in resolver.tables:
        for entry in table.entries:
            th = entry.thresholds
            where = test_label(entry.class_name, entry.test_name)
            quarantined = ", quarantined" if th.quarantined else ""
            console.print(Text(f"{th.source}: {where}: pass {th.min_passes} of max {th.max_runs}{quarantined}"))
    for table in resolver.quarantines:
        for entry in table.entries:
            where = test_label(entry.class_name, entry.test_name)
            assert entry.thresholds.quarantine is not None  # every quarantine entry says why
            console.print(Text(f"{entry.thresholds.source}: {where}: quarantined {entry.thresholds.quarantine.describe()}"))


def print_resolved(console: Console, resolved: Iterable[Tuple[TestId, Thresholds]]) -> None:
    """What each test resolves to and from where."""
    for test, th in resolved:
        quarantined = ", quarantined" if th.quarantined else ""
        if th.quarantine:
            quarantined += f" {th.quarantine.describe()}"
        console.print(Text(f"{test}: pass {th.min_passes} of max {th.max_runs}{quarantined} (from {th.source})"))


def machine_report(
    results: List[TestResult], summary: Summary, notes: Sequence[str] = (), failed: bool = False,
    flake_regressions: Sequence[Dict[str, Any]] = (),
) -> Dict:
    """The ``--json`` report: whether the build fails and what the report said beside the tests
    (a suite that failed outside its tests, a test step cut short, reruns that went wrong), every
    tracked test (any that did not simply pass: once, or once in each suite that reports it, in
    a testcase holding nothing but blanks) and the totals."""
    return {
        "failed": failed,
        "notes": list(notes),
        "flake_regressions": list(flake_regressions),  # flagged by the history's check (FlakeRegression.as_json)
        "tests": [
            {
                "classname": r.test.classname,
                "name": r.test.name,
                "file": r.test.file,
                "suite": r.test.suite,
                "verdict": r.reported_verdict.value,
                "reason": r.decision.reason,
                "min_passes": r.thresholds.min_passes,
                "max_runs": r.thresholds.max_runs,
                "thresholds_source": r.thresholds.source,
                "owners": list(r.owners),
                "quarantine": _quarantine_json(r.thresholds),
                "attempts": [
                    {"outcome": a.outcome.value, "time": round(a.time, 6), "message": a.message, "rerun": a.rerun}
                    for a in r.attempts
                ],
            }
            for r in results
        ],
        "summary": {
            "passed": summary.passed,
            "flaky": summary.flaky,
            "failed": summary.failed,
            "skipped": summary.skipped,
            "quarantined": summary.quarantined,
        },
    }


def _quarantine_json(thresholds: Thresholds) -> Optional[Dict[str, Optional[str]]]:
    """None for a test not quarantined; a thresholds source's ``quarantined = true`` has only a source."""
    if not thresholds.quarantined:
        return None
    if thresholds.quarantine is None:
        return {"source": thresholds.source, "reason": None, "since": None, "owner": None, "until": None}
    return thresholds.quarantine.as_json()


def write_json(
    path: Path, results: List[TestResult], summary: Summary, notes: Sequence[str] = (), failed: bool = False,
    flake_regressions: Sequence[Dict[str, Any]] = (),
) -> None:
    # Redacted as the consoles are (a failure message can quote the environment a test saw), on
    # the values: redacting the JSON text could cut an escape in two and leave the file invalid.
    report = tokens.redact_values(machine_report(results, summary, notes, failed, flake_regressions), os.environ)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    with atomic_write(path) as out:
        out.write(text.encode("utf-8"))
        out.write(b"\n")
