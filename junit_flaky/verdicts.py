"""Verdicts from attempts and thresholds: small pure functions, the seed's rules with early stopping.

A test must pass at least ``min_passes`` times within ``max_runs`` runs (the first run included).
Attempts are taken in order and every recorded attempt counts, including reruns that another tool
(pytest-rerunfailures, flaky, Surefire) already made before us. An error counts as a failed run;
a skipped attempt is no run at all.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from junit_flaky.model import Decision, Outcome, TestResult, Thresholds, Verdict


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def count_runs(outcomes: Sequence[Outcome]) -> int:
    return sum(1 for o in outcomes if o is not Outcome.SKIPPED)


def count_passes(outcomes: Sequence[Outcome]) -> int:
    return sum(1 for o in outcomes if o is Outcome.PASSED)


def decide(outcomes: Sequence[Outcome], thresholds: Thresholds) -> Decision:
    """Decide a test from its attempts so far; UNDECIDED means more runs could change the answer."""
    runs = count_runs(outcomes)
    passes = count_passes(outcomes)
    need = thresholds.min_passes
    if runs == 0:
        return Decision(Verdict.SKIPPED, 0, 0, "skipped")
    # Every verdict says how often it passed, as the seed's report did: an undecided one too,
    # since with --no-rerun its reason becomes the reason the test failed.
    required = f"passed {passes} out of the required {need} times"
    if passes >= need:
        failed = runs - passes
        if failed:
            return Decision(Verdict.FLAKY, passes, runs, f"{required}; failed {plural(failed, 'time')}")
        return Decision(Verdict.PASSED, passes, runs, required)
    if passes + runs_left(outcomes, thresholds) < need:
        return Decision(
            Verdict.FAILED, passes, runs, f"{required} in {plural(runs, 'run')} (max {thresholds.max_runs})"
        )
    return Decision(Verdict.UNDECIDED, passes, runs, f"{required}; needs {plural(need - passes, 'more run')}")


def runs_left(outcomes: Sequence[Outcome], thresholds: Thresholds) -> int:
    """How many more runs the thresholds allow for a test with these attempts."""
    return max(0, thresholds.max_runs - count_runs(outcomes))


def close_undecided(decision: Decision, why: str) -> Decision:
    """An open verdict that gets no more runs ends failed, saying why."""
    if not decision.is_open:
        return decision
    return Decision(Verdict.FAILED, decision.passes, decision.runs, f"{decision.reason} ({why})")


def close_open(results: Iterable[TestResult], why: str) -> None:
    """End every still-open verdict among ``results`` as failed, saying why."""
    for result in results:
        result.decision = close_undecided(result.decision, why)
