"""New tests, flaky on arrival (``run --new-test-runs N``).

Most flaky tests are flaky from the commit that adds them, and a test that passed once in its
first build says little. So a test the history has never seen, that passed every run the report
holds, is run again until it has N runs in all, in the same rerun process as every other rerun.
The rule is verdicts.py's, expressed as the test's thresholds: pass N of N (so the first failure
ends it), with ``new_test`` set, which makes a failure beside a pass the verdict flaky, "new test,
flaky on arrival", and ``flaky_fails_build`` unless ``--allow-new-flaky``. A new test that failed
a run in the report gets ``new_test`` and ``flaky_fails_build`` on its usual thresholds: its usual
reruns tell flaky on arrival (one passes) from broken (none does), and either fails the build.

Which tests are new: the reader hands on every testcase that passed once (``untracked``); after
its pass, one query asks the history which of them (and of the tests the reader keeps anyway) it
has never recorded, or only in runs of this same commit (CI building it again), in
``HistoryStore.unknown_tests``, and those testcases are kept like repeats
(``junit_read.AlsoTrack``), so their reruns are written into the report. This happens before
``--record-history`` records the run, which would make every test of it known.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_read import AlsoTrack, Identity
from junit_flaky.limits import MAX_RUNS
from junit_flaky.model import Outcome, TestId, TestResult, Verdict
from junit_flaky.verdicts import decide, failed_a_run, plural

if TYPE_CHECKING:
    from junit_flaky.history.location import Location

# Runs in all, the first included. Independent runs of a test that fails one run in 3 catch it in
# 1 - (2/3)^N of the builds that add it: 86.8% for N = 5, 96.1% for N = 8, the fewest that reach
# 95% (README, "New tests, flaky on arrival"; benchmarks/bench_new_tests_sim.py measures it).
DEFAULT_RUNS = 8
DEFAULT_BUDGET = 300.0  # seconds for every new test's extra runs together
# More new tests than this share of the report's testcases (and more than TOO_NEW_MIN) says the
# history is another suite's, or the tests were renamed, rather than that they are new: none is
# rerun then (Datadog's Early Flake Detection likewise gives up on a session where too many
# tests look new), instead of rerunning a whole suite N times.
TOO_NEW_SHARE = 0.3
TOO_NEW_MIN = 100


@dataclass(frozen=True)
class NewTestOptions:
    history: "Location"  # the history that says which tests are new
    runs: int  # N: runs in all, the first included
    budget: float  # seconds for all new tests' extra runs, from their durations in the report
    allow_flaky: bool  # --allow-new-flaky: a flaky new test does not fail the build


def options(
    table: Dict[str, Any], pyproject: Optional[Path], runs: Optional[int], budget: Optional[float],
    allow_flaky: bool, history: Optional["Location"],
) -> Optional[NewTestOptions]:
    """The options from the command line (or its environment variables), else ``[tool.junit-flaky]``
    (``allow_flaky`` already resolved by ``config.switch``, as every switch is); None when off: N is 1, or no history is in use. A bad value is a one-line error."""
    where = f"{pyproject}: [tool.junit-flaky] " if pyproject else "[tool.junit-flaky] "
    runs_from, budget_from = ("--" if runs is not None else where), ("--" if budget is not None else where)
    if runs is None:
        runs = table.get("new-test-runs", DEFAULT_RUNS)
        if isinstance(runs, bool) or not isinstance(runs, int):
            raise JunitFlakyError(f"{where}new-test-runs must be an integer, got {runs!r}")
    if not 1 <= runs <= MAX_RUNS:
        raise JunitFlakyError(f"{runs_from}new-test-runs must be from 1 (off) to {MAX_RUNS}, got {runs}")
    if budget is None:
        budget = table.get("new-test-budget", DEFAULT_BUDGET)
        if isinstance(budget, bool) or not isinstance(budget, (int, float)):
            raise JunitFlakyError(f"{where}new-test-budget must be a number of seconds, got {budget!r}")
    if not (budget >= 0 and math.isfinite(budget)):
        raise JunitFlakyError(f"{budget_from}new-test-budget must be a number of seconds, 0 or more, got {budget:g}")
    if runs == 1 or history is None:
        return None
    return NewTestOptions(history, runs, float(budget), allow_flaky)


class NewTestFinder:
    """Finds, while the reports are read, the tests the history has never seen.

    Each testcase that passed once costs 24 bytes here (its identity's hash() and key), so a
    million-test report adds 24 MB, and the history is asked once for all of them.
    """

    def __init__(self, history: "Location", commit: str = "") -> None:
        from junit_flaky.history.store import key_of  # sqlite3 only for runs that use a history

        self.history = history
        self.commit = commit  # this build's (CIInfo.known_commit): tests only its earlier attempts saw are still new
        self._key_of = key_of  # called for each testcase: no import statement there
        self._hashes = array("q")
        self._keys = bytearray()
        self.unknown: Optional[set] = None  # identity keys of the new tests, once asked
        self.off: Optional[str] = None  # why no test can be told new, when it cannot

    def untracked(self, test: Identity, outcome: Outcome, time: Optional[str]) -> None:
        """``junit_read.UntrackedSink``: remember each testcase that passed once."""
        if outcome is Outcome.PASSED:  # as remember does, without a second call per testcase
            self._hashes.append(hash(test))
            self._keys += self._key_of(test)

    def remember(self, test: Identity, outcome: Outcome, key: bytes) -> None:
        """``untracked`` with the identity key made already (``record.KeySink``, when the run is
        recorded: one hash per testcase for both)."""
        if outcome is Outcome.PASSED:
            self._hashes.append(hash(test))
            self._keys += key

    def _untracked_keys(self) -> Iterator[bytes]:
        from junit_flaky.history.store import split_keys

        return split_keys(self._keys)

    def also_track(self, tracked: Iterable[Identity]) -> Optional[AlsoTrack]:
        """After the reader's pass (``tracked``: the tests it keeps anyway): the testcases to keep
        because they are new. A history that cannot be read turns the option off, with ``off``
        saying why: a broken history never stops a build."""
        from junit_flaky.history.store import open_store

        key_of = self._key_of
        try:
            with open_store(self.history, create=False) as store:
                if not store.has_tests():
                    self.off = f"the history ({self.history}) holds no test yet"
                    return None
                asked = chain(self._untracked_keys(), (key_of(test) for test in tracked))
                self.unknown = unknown = store.unknown_tests(asked, self.commit)
        except JunitFlakyError as exc:
            self.off = str(exc)
            return None
        hashes = {digest for digest, key in zip(self._hashes, self._untracked_keys()) if key in unknown} if unknown else set()
        return AlsoTrack(hashes, lambda test: key_of(test) in unknown)

    def is_new(self, test: TestId) -> bool:
        key = self._key_of(test)  # a TestId is its identity tuple
        return self.unknown is not None and key in self.unknown


def extra_runs(durations: Sequence[float], caps: Sequence[int], budget: float) -> List[int]:
    """How many more runs each new test gets: ``min(cap, floor(T / duration))``, with the same
    time ``T`` for every test, the largest at which the runs' total time (by the durations in the
    report) fits ``budget``. So slow tests get fewer runs, fast ones all of theirs, as Datadog's
    Early Flake Detection gives slower tests fewer retries; a test of no recorded duration costs
    nothing and gets all of its runs."""
    # Floating point: T / d of T = j * d may come out just under j.
    def runs_within(time: float, duration: float, cap: int) -> int:
        return cap if duration <= 0 else min(cap, int(time / duration + 1e-9))

    def cost(time: float) -> float:
        return sum(runs_within(time, d, c) * d for d, c in zip(durations, caps) if d > 0)

    # T need only be one of the times at which some test gains a run.
    times = sorted({j * d for d, c in zip(durations, caps) if d > 0 for j in range(1, c + 1)})
    low, high = 0, len(times)  # times[:low] fit; times[high:] do not
    while low < high:
        middle = (low + high) // 2
        if cost(times[middle]) <= budget:
            low = middle + 1
        else:
            high = middle
    chosen = times[low - 1] if low else 0.0
    return [runs_within(chosen, d, c) for d, c in zip(durations, caps)]


class NewTests:
    """The new tests of one run: their thresholds before the reruns, the notes after them."""

    def __init__(self, options: NewTestOptions, finder: NewTestFinder) -> None:
        self.options = options
        self.finder = finder
        self.chosen: List[TestResult] = []  # new tests that passed every run: rerun up to N runs
        self.failed: List[TestResult] = []  # new tests that failed a run: their usual reruns
        self.shortened = 0  # new tests the budget gave fewer runs
        self.planned: List[Tuple[TestResult, int]] = []  # chosen tests given extra runs, with the attempts they had
        self.too_many: Optional[str] = None  # why no new test is rerun, when too many look new

    def apply(self, results: Sequence[TestResult], testcases: int) -> None:
        """Give every new test (that is not quarantined, nor listed with its own rule by a thresholds
        file, ``[tool.junit-flaky]`` or Flakybot) the new-test rule, and decide it by it:
        one that passed each run it had must pass N of N, within the runs the budget allows it;
        one that failed a run keeps its usual reruns, which tell flaky (a pass beside that failure:
        flaky on arrival) from broken. ``testcases``: how many the reports hold."""
        new = [r for r in results if not (r.thresholds.quarantined or r.thresholds.listed) and self.finder.is_new(r.test)]
        if len(new) > max(TOO_NEW_MIN, TOO_NEW_SHARE * testcases):
            self.too_many = (
                f"--new-test-runs reran no test: {len(new)} of the {testcases} testcases are new to the history,"
                f" more than {TOO_NEW_SHARE:.0%} (is the history another suite's, or were the tests renamed?)"
            )
            return
        # By the decision's tally, as every verdict counts: a skipped attempt is no run.
        self.chosen = [r for r in new if r.decision.runs and not failed_a_run(r.decision)]
        self.failed = [r for r in new if failed_a_run(r.decision)]
        have = [r.decision.runs for r in self.chosen]
        caps = [max(0, self.options.runs - n) for n in have]
        durations = [sum(a.time for a in r.attempts) / len(r.attempts) for r in self.chosen]
        extra = extra_runs(durations, caps, self.options.budget)
        self.shortened = sum(1 for e, c in zip(extra, caps) if e < c)
        self.planned = [(r, len(r.attempts)) for r, more in zip(self.chosen, extra) if more]
        source = f"new test (--new-test-runs {self.options.runs})"
        rule = {"new_test": True, "flaky_fails_build": not self.options.allow_flaky}
        for result, n, more in zip(self.chosen, have, extra):
            runs = max(n + more, result.thresholds.min_passes)  # a listed rule may ask for more
            result.thresholds = replace(result.thresholds, min_passes=runs, max_runs=runs, source=source, **rule)
        for result in self.failed:
            result.thresholds = replace(result.thresholds, **rule)
        for result in chain(self.chosen, self.failed):
            result.decision = decide([a.outcome for a in result.attempts], result.thresholds)

    def notes(self) -> List[str]:
        """What the report says of the new tests, once their reruns are over."""
        if self.finder.off is not None:
            return [f"--new-test-runs is off: no history to tell new tests by ({self.finder.off})"]
        if self.too_many is not None:
            return [self.too_many]
        notes = []
        runs = self.options.runs
        # What the rerun step did: it may rerun nothing (--max-reruns-total, --rerun-budget).
        missed = sum(1 for result, had in self.planned if len(result.attempts) == had)
        says = "its verdict says" if missed == 1 else "their verdicts say"
        if self.planned and missed == len(self.planned):
            notes.append(f"{plural(missed, 'new test')} (never seen by the history): not rerun (--new-test-runs {runs}), as {says}")
        elif self.chosen:
            line = f"{plural(len(self.chosen), 'new test')} (never seen by the history): run up to {runs} times each (--new-test-runs {runs})"
            if missed:
                line += f"; {missed} of them not rerun, as {says}"
            if self.shortened:
                line += f"; {self.shortened} of them fewer, to fit --new-test-budget {self.options.budget:g}s"
            notes.append(line)
        flaky = [r for r in chain(self.chosen, self.failed) if r.decision.verdict is Verdict.FLAKY]
        if flaky:
            # What the build did, by the one rule (--fail-on-flaky fails it even with --allow-new-flaky).
            if not any(r.fails_build for r in flaky):
                fails = "does not fail the build (--allow-new-flaky)"
            else:
                fails = "fails the build" + ("" if self.options.allow_flaky else " (--allow-new-flaky would let it pass)")
            notes.append(f"{plural(len(flaky), 'new test is', 'new tests are')} flaky on arrival, which {fails}")
        return notes

