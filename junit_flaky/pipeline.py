"""The data flow as library calls: read -> verdicts -> reruns -> write.

``run`` and ``merge`` are what the commands of the same names do, minus printing: the CLI resolves
options into the arguments here, calls one function, and prints what comes back. The history
reads reports through ``read`` too, so every command sees the same tests with the same attempts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from junit_flaky import ci_env, history, junit_attempts, junit_read, junit_write, report, reruns
from junit_flaky import thresholds as thresholds_mod
from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_attempts import TrackedTest
from junit_flaky.model import TestId, TestResult
from junit_flaky.verdicts import close_open, decide


@dataclass
class Reading:
    """Reports as read once: the scan of every file and the attempts of every tracked test."""

    paths: Sequence[Path]
    scan: junit_read.Scan
    tracked: Dict[TestId, TrackedTest]


def read(paths: Sequence[Path], watch: Optional[junit_read.Watch] = None) -> Reading:
    scan = junit_read.scan(paths, watch=watch)
    with junit_read.Snippets(scan.files) as snippets:
        tracked = junit_attempts.load(scan, snippets)
    return Reading(paths, scan, tracked)


@dataclass
class Outcome:
    """What a run or a merge found: the tracked tests' results and what the user should know."""

    reading: Reading
    results: List[TestResult]
    suite_failures: List[str]  # failures recorded on a suite itself, outside its tests
    notes: List[str] = field(default_factory=list)  # one line each, for the report
    warnings: List[str] = field(default_factory=list)  # problems that did not stop the run
    log_tail: List[str] = field(default_factory=list)  # the rerun's last output lines when it went wrong
    recorded: Optional[str] = None  # what --record-history recorded, in one line

    @property
    def failed(self) -> bool:
        return any(r.fails_build for r in self.results) or bool(self.suite_failures)


def run(
    paths: Sequence[Path],
    resolver: thresholds_mod.Resolver,
    rerun: Optional[reruns.RerunOptions],
    progress: reruns.Progress,
    output: Optional[Path] = None,
    record_to: Optional[Path] = None,
) -> Outcome:
    """Decide every test of ``paths``, rerun the open ones (unless ``rerun`` is None), record the
    run in the history at ``record_to``, and write the aggregated report to ``output``."""
    reading = read(paths, watch=resolver.watch())
    results: List[TestResult] = []
    for test, entry in reading.tracked.items():
        limits = resolver.resolve(test)
        results.append(TestResult(test, limits, list(entry.attempts), decide([a.outcome for a in entry.attempts], limits)))
    outcome = Outcome(reading, results, report.suite_failures(reading.scan.suites))
    outcome.notes += outcome.suite_failures
    undecided = [r for r in results if r.decision.is_open]
    if rerun is None:
        close_open(undecided, "reruns disabled by --no-rerun")
    else:
        close_open([r for r in undecided if r.thresholds.quarantined], "quarantined tests are not rerun")
        summary = reruns.Rerunner(rerun, progress).run([r for r in undecided if r.decision.is_open])
        outcome.notes += summary.notes
        outcome.log_tail = summary.log_tail
    if record_to is not None:  # before `output` may replace an input the recording reads
        _record(outcome, record_to)
    if output is not None:
        junit_write.write(reading.scan, reading.tracked, {r.test: r for r in results}, output)
    return outcome


def _record(outcome: Outcome, db: Path) -> None:
    """This run, reruns included, as one run of the history. A history that cannot be written is
    a warning: the verdicts and the report do not depend on it."""
    reading = outcome.reading
    try:
        recorded = history.record_run(
            db,
            ((r.test, r.attempts) for r in outcome.results),
            history.untracked_testcases(reading.paths, reading.tracked),
            ci_env.detect(os.environ),
            time.time(),
        )
    except JunitFlakyError as exc:
        outcome.warnings.append(f"history not recorded: {exc}")
    else:
        outcome.recorded = f"recorded {recorded.attempts} attempts in the history ({db})"


def merge(paths: Sequence[Path], output: Path) -> Outcome:
    """Merge reports into one: every test once with all its attempts, verdicts as recorded."""
    reading = read(paths)
    limits = thresholds_mod.BUILTIN
    results = [
        TestResult(t, limits, list(e.attempts), decide([a.outcome for a in e.attempts], limits))
        for t, e in reading.tracked.items()
    ]
    junit_write.write(reading.scan, reading.tracked, {r.test: r for r in results}, output)
    return Outcome(reading, results, report.suite_failures(reading.scan.suites))
