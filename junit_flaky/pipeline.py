"""The data flow as library calls: read -> verdicts -> reruns -> write.

``run`` and ``merge`` are what the commands of the same names do, minus printing: the CLI resolves
options into the arguments here, calls one function, and prints what comes back. The history
reads reports through ``read`` too, so every command sees the same tests with the same attempts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Sequence

from junit_flaky import ci_env, junit_attempts, junit_write, report, reruns
from junit_flaky import thresholds as thresholds_mod
from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_attempts import Reading, read
from junit_flaky.junit_element import long_lived
from junit_flaky.model import TestResult, Verdict
from junit_flaky.verdicts import close, decide, plural

_outcome_of = attrgetter("outcome")  # an attempt's, for decide without a list of outcomes made first

if TYPE_CHECKING:
    from junit_flaky.history.record import RunRecorder
    from junit_flaky.history.regression import FlakeRegression
    from junit_flaky.history.store import Recorded
    from junit_flaky.new_tests import NewTestOptions


@dataclass
class Outcome:
    """What a run or a merge found: the tracked tests' results and what the user should know."""

    reading: Reading
    results: List[TestResult]
    suite_failures: List[str]  # failures recorded on a suite itself, outside its tests
    step_failures: List[str] = field(default_factory=list)  # the test step itself went wrong
    notes: List[str] = field(default_factory=list)  # one line each, for the report
    warnings: List[str] = field(default_factory=list)  # problems that did not stop the run
    log_tail: List[str] = field(default_factory=list)  # the rerun's last output lines when it went wrong
    recorded: Optional[str] = None  # what --record-history recorded, in one line
    flake_regressions: List[FlakeRegression] = field(default_factory=list)  # flagged by the history's check
    fail_on_flake_regression: bool = False

    @property
    def failed(self) -> bool:
        return (
            any(r.fails_build for r in self.results) or bool(self.suite_failures or self.step_failures)
            or any(self.regression_fails_build(found) for found in self.flake_regressions)
        )

    def regression_fails_build(self, found: FlakeRegression) -> bool:
        """With --fail-on-flake-regression, unless the test is quarantined: a quarantined test's
        failures fail no build, however often they come."""
        key = (found.classname, found.name)
        return self.fail_on_flake_regression and not any(
            r.thresholds.quarantined for r in self.results if (r.test.classname, r.test.name) == key
        )


def run(
    paths: Sequence[Path],
    resolver: thresholds_mod.Resolver,
    rerun: Optional[reruns.RerunOptions],
    progress: reruns.Progress,
    output: Optional[Path] = None,
    record_to: Optional[Path] = None,
    test_exit_code: Optional[int] = None,
    new_test_options: Optional[NewTestOptions] = None,
    fail_on_flaky: bool = False,
    fail_on_flake_regression: bool = False,
) -> Outcome:
    """Decide every test of ``paths``, rerun the open ones (unless ``rerun`` is None), record the
    run in the history at ``record_to``, and write the aggregated report to ``output``.
    ``test_exit_code`` is the test step's, when known: see ``test_step_failures``.
    ``fail_on_flaky``: every flaky verdict fails the build (``strict_about_flaky``).
    ``new_test_options``: rerun the tests the history has never seen (``new_tests``). A recorded
    run is checked for flake-rate regressions; ``fail_on_flake_regression``: one fails the build."""
    ci = ci_env.detect(os.environ)  # once: the new tests' commit and the recorded run agree
    arrivals = None
    if new_test_options is not None and rerun is not None:  # looked up before the run is recorded
        from junit_flaky import new_tests

        arrivals = new_tests.NewTests(new_test_options, new_tests.NewTestFinder(new_test_options.history, ci.known_commit))
    recorder = None
    if record_to is not None:  # sqlite3 only for runs that record
        from junit_flaky.history.record import RunRecorder

        # Takes the untracked testcases from the one scan, and hands their keys to the new tests' lookup.
        recorder = RunRecorder(record_to, keys_to=arrivals.finder.remember if arrivals else None)
    sink = recorder.untracked if recorder else arrivals.finder.untracked if arrivals else None
    reading = read(paths, watch=resolver.watch(), on_untracked=sink, also_track=arrivals.finder.also_track if arrivals else None)
    results: List[TestResult] = []
    with long_lived():  # one per tracked test, kept to the end: collecting them freed nothing
        for test, entry in reading.tracked.items():
            limits = resolver.resolve(test)
            attempts = list(entry.attempts)
            results.append(TestResult(test, limits, attempts, decide(map(_outcome_of, attempts), limits)))
    if arrivals is not None:
        arrivals.apply(results, reading.scan.testcases)
    if fail_on_flaky:
        strict_about_flaky(results)
    outcome = Outcome(reading, results, report.suite_failures(reading.scan.suites))
    outcome.step_failures = test_step_failures(test_exit_code, reading.scan.testcases)
    outcome.notes += outcome.suite_failures + outcome.step_failures
    if not reading.scan.testcases and test_exit_code is None:
        outcome.warnings.append("the reports hold no testcase: did the test step run?")
    still_open = [r for r in results if r.decision.is_open]
    if rerun is None:
        close(still_open, "reruns disabled by --no-rerun")
    else:
        close([r for r in still_open if r.thresholds.quarantined], "quarantined tests are not rerun")
        summary = reruns.Rerunner(rerun, progress).run([r for r in still_open if r.decision.is_open])
        outcome.notes += dict.fromkeys(summary.notes)  # once each: every round whose pytest crashed alike says the same
        outcome.log_tail = summary.log_tail
    if arrivals is not None:
        outcome.notes += arrivals.notes()
    if fail_on_flaky:
        outcome.notes += flaky_failures_note(results)
    if recorder is not None:
        recorded = _record(outcome, recorder, ci)
        if recorded is not None:
            outcome.fail_on_flake_regression = fail_on_flake_regression
            _check_regressions(outcome, recorder.db_path, recorded.run_id)
    if output is not None:
        junit_write.write(reading.scan, reading.tracked, {r.test: r for r in results}, output)
    return outcome


def strict_about_flaky(results: Sequence[TestResult]) -> None:
    """--fail-on-flaky, for release branches (Gradle test-retry's failOnPassedAfterRetry): a flaky
    verdict fails the build. It is the thresholds' ``flaky_fails_build``, so the one rule of what
    fails a build (``TestResult.fails_build``, quarantine included) and the XML follow from it."""
    for result in results:
        result.thresholds = replace(result.thresholds, flaky_fails_build=True)


def flaky_failures_note(results: Sequence[TestResult]) -> List[str]:
    """The report's line saying why a build with --fail-on-flaky failed on its flaky tests."""
    count = sum(1 for r in results if r.reported_verdict is Verdict.FLAKY and r.fails_build)
    if not count:
        return []
    return [f"the build fails on {plural(count, 'flaky test')}: --fail-on-flaky makes a flaky verdict fail the build"]


def test_step_failures(exit_code: Optional[int], testcases: int) -> List[str]:
    """Why the test step's own exit code fails the build, whatever its tests say.

    pytest exits 1 when tests failed, which reruns may turn green; any other non-zero code means
    the run stopped short (interrupted, a collection error, an internal or usage error, no tests,
    a signal), and its report holds only part of the tests: a green verdict on it would be false.
    """
    if exit_code is None:
        return []
    if exit_code not in (0, 1):
        return [f"the test step {reruns.describe_exit(exit_code)}: its report may hold only part of the tests, so the build fails"]
    if not testcases:
        return [f"the reports hold no testcase, though the test step exited with code {exit_code}, so the build fails"]
    return []


def _record(outcome: Outcome, recorder: RunRecorder, ci: ci_env.CIInfo) -> Optional[Recorded]:
    """This run, reruns included, as one run of the history. A history that cannot be written is
    a warning (and None): the verdicts and the report do not depend on it."""
    from junit_flaky.history.record import run_info

    try:
        recorded = recorder.finish(((r.test, r.attempts) for r in outcome.results), run_info(ci, time.time()))
        assert recorded is not None  # only a run with a report key can be known already
    except JunitFlakyError as exc:
        outcome.warnings.append(f"history not recorded: {exc}")
        return None
    outcome.recorded = f"recorded {plural(recorded.attempts, 'attempt')} in the history ({recorder.db_path})"
    return recorded


def _check_regressions(outcome: Outcome, db_path: Path, run_id: int) -> None:
    """The history's check of this run's tests, in ``run_id``, the run just recorded: each test
    flagged is a note. A history that cannot be read is a warning, as for recording."""
    from junit_flaky.history import regression

    try:
        outcome.flake_regressions = regression.check(db_path, run_id, ((r.test.classname, r.test.name) for r in outcome.results))
    except JunitFlakyError as exc:
        outcome.warnings.append(f"no flake-rate regression check: {exc}")
    for found in outcome.flake_regressions:
        if outcome.regression_fails_build(found):
            outcome.notes.append(found.describe() + " (fails the build: --fail-on-flake-regression)")
        elif outcome.fail_on_flake_regression:
            outcome.notes.append(found.describe() + " (quarantined: does not fail the build)")
        else:
            outcome.notes.append(found.describe())


def merge(paths: Sequence[Path], output: Path) -> Outcome:
    """Merge reports into one: every test once with all its attempts, verdicts as recorded."""
    reading = read(paths)
    results = [junit_attempts.recorded_result(entry) for entry in reading.tracked.values()]
    junit_write.write(reading.scan, reading.tracked, {r.test: r for r in results}, output)
    return Outcome(reading, results, report.suite_failures(reading.scan.suites))
