"""Verdicts from attempts and thresholds: the one place that holds the rule, as small pure functions.

A test must pass at least ``min_passes`` times within ``max_runs`` attempts (the first run
included). Attempts are taken in order and every recorded attempt counts, including reruns that
another tool (pytest-rerunfailures, flaky, Surefire) already made before us. An error counts as a
failed run. A skipped attempt is not a run, but it uses up one of the ``max_runs`` attempts, and a
skip after the test has run ends it: the test cannot run again, so it is decided by what it did
(failed if it failed and never reached ``min_passes``: "skipped on rerun after failing"; passed if
it never failed). So every test is decided within ``max_runs`` attempts, whatever they were.

The rule reads a ``Tally`` (a few counts, updated one attempt at a time), so deciding after one
more attempt costs the same whether the test has had two attempts or a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, NamedTuple

from junit_flaky.model import Decision, Outcome, TestResult, Thresholds, Verdict

# The reason of a new test's flaky verdict (--new-test-runs), in every output that gives one.
FLAKY_ON_ARRIVAL = "new test, flaky on arrival"


def plural(n: int, word: str, words: str = "") -> str:
    """``n`` and ``word``, or ``words`` (default: ``word`` + "s") unless ``n`` is 1."""
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


class Tally(NamedTuple):
    """What the rule needs of a test's attempts: how many, how many ran and passed, and whether
    one was skipped after the test had run (which ends it). A named tuple, not a frozen
    dataclass: one is made per attempt, and a frozen dataclass took four times as long to make
    (a tenth of merging 100,000 repeated tests)."""

    attempts: int = 0
    runs: int = 0  # attempts that were not skipped
    passes: int = 0
    skipped_after_running: bool = False

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Tally:
        return _NO_ATTEMPTS.then(outcomes)

    def add(self, outcome: Outcome) -> Tally:
        return self.then((outcome,))

    def then(self, outcomes: Iterable[Outcome]) -> Tally:
        """This tally and ``outcomes`` after it. Counted in plain integers, not a tally per
        outcome: that took half the time of deciding 100,000 merged repeats."""
        attempts, runs, passes, skipped_after_running = self
        for outcome in outcomes:
            attempts += 1
            if outcome is _SKIPPED:
                skipped_after_running = skipped_after_running or runs > 0
            else:
                runs += 1
                passes += outcome is _PASSED
        return Tally(attempts, runs, passes, skipped_after_running)

    @property
    def failures(self) -> int:
        return self.runs - self.passes


_NO_ATTEMPTS = Tally()
# An enum's member looked up on its class (``Outcome.PASSED``) takes 75 ns on Python 3.11, as its
# metaclass has a __getattr__: four such look-ups per test were most of the time of counting one.
_SKIPPED, _PASSED = Outcome.SKIPPED, Outcome.PASSED


def runs_left(tally: Tally, thresholds: Thresholds) -> int:
    """How many more attempts the thresholds allow for a test with this tally."""
    if tally.skipped_after_running:
        return 0
    return max(0, thresholds.max_runs - tally.attempts)


@dataclass(frozen=True)
class Countdown:
    """What a rerun of an open test may still do, as plain counters for the pytest plugin.

    Each pass takes one from ``passes_needed``, each failure one from ``failures_allowed``, a
    skip ends the test. The test is done when ``passes_needed`` reaches 0 or ``failures_allowed``
    goes below 0; both together never ask for more than the runs left.
    """

    passes_needed: int
    failures_allowed: int


def countdown(tally: Tally, thresholds: Thresholds) -> Countdown:
    needed = max(0, thresholds.min_passes - tally.passes)
    return Countdown(needed, runs_left(tally, thresholds) - needed)


def decide(outcomes: Iterable[Outcome], thresholds: Thresholds) -> Decision:
    """Decide a test from its attempts so far."""
    return judge(Tally.of(outcomes), thresholds)


@lru_cache(maxsize=1024)  # a merge decides 100,000s of tests on few tallies and thresholds (a Decision is frozen)
def judge(tally: Tally, thresholds: Thresholds) -> Decision:
    """Decide a test from the tally of its attempts; OPEN means more runs could change the answer."""
    runs, passes, need = tally.runs, tally.passes, thresholds.min_passes
    if runs == 0:
        return Decision(Verdict.SKIPPED, 0, 0, "skipped")
    # Every verdict says how often it passed, as the seed's report did: an open one too, since
    # when it is closed without more runs its reason becomes the reason the test failed.
    required = f"passed {passes} out of the required {plural(need, 'time')}"
    if passes >= need:
        if tally.failures and thresholds.new_test:  # a new test that failed its first run, then passed
            return Decision(Verdict.FLAKY, passes, runs, f"{FLAKY_ON_ARRIVAL}: failed {tally.failures} of {plural(runs, 'run')}")
        if tally.failures:
            return Decision(Verdict.FLAKY, passes, runs, f"{required}; failed {plural(tally.failures, 'time')}")
        return Decision(Verdict.PASSED, passes, runs, required)
    if not tally.skipped_after_running and passes + runs_left(tally, thresholds) >= need:
        return Decision(Verdict.OPEN, passes, runs, f"{required}; needs {plural(need - passes, 'more run')}")
    # No more runs can reach min_passes.
    if thresholds.new_test and passes and tally.failures:
        # Its rule is "pass every run, stop at the first failure": a failure beside a pass is flaky.
        return Decision(Verdict.FLAKY, passes, runs, f"{FLAKY_ON_ARRIVAL}: failed {tally.failures} of {plural(runs, 'run')}")
    if not tally.failures:
        # Skips, not failures, kept it short: nothing says it is flaky or broken. (Passed, too, so
        # that a failed verdict always has a failure behind it and more skips never undo it.)
        return Decision(Verdict.PASSED, passes, runs, f"{required}; skipped, never failed")
    if tally.skipped_after_running:
        return Decision(Verdict.FAILED, passes, runs, f"{required}; skipped on rerun after failing")
    return Decision(Verdict.FAILED, passes, runs, f"{required} in {plural(runs, 'run')} (max {thresholds.max_runs})")


def close(results: Iterable[TestResult], why: str) -> None:
    """End every still-open verdict among ``results`` as failed, saying why."""
    for result in results:
        result.decision = closed(result.decision, why, result.thresholds)


def closed(decision: Decision, why: str, thresholds: Thresholds = Thresholds()) -> Decision:
    """An open verdict that gets no more runs ends failed, saying why; others stay as they are.
    A new test that never failed passes: only its extra runs, no evidence against it, are missing."""
    if not decision.is_open:
        return decision
    if thresholds.new_test and decision.runs == decision.passes:
        return Decision(Verdict.PASSED, decision.passes, decision.runs, f"new test, passed {plural(decision.passes, 'run')} ({why})")
    return Decision(Verdict.FAILED, decision.passes, decision.runs, f"{decision.reason} ({why})")


def failed_a_run(decision: Decision) -> bool:
    """Whether the test failed a run (a skipped attempt is no run)."""
    return decision.runs > decision.passes


def opened_by_a_failure(decision: Decision) -> bool:
    """An open verdict of a test that failed a run, unlike one that only needs more passes."""
    return decision.is_open and failed_a_run(decision)
