"""Verdict rules: tables of cases from the Flakybot semantics, then properties that must hold for all."""

from __future__ import annotations

from typing import List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from junit_flaky.model import Attempt, Decision, Outcome, TestId, TestResult, Thresholds, Verdict
from junit_flaky.verdicts import close_open, close_undecided, decide, runs_left

P, F, E, S = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED
PASSED, FLAKY, FAILED, SKIPPED, UNDECIDED = (
    Verdict.PASSED, Verdict.FLAKY, Verdict.FAILED, Verdict.SKIPPED, Verdict.UNDECIDED,
)


def limits(min_passes: int, max_runs: int) -> Thresholds:
    return Thresholds(min_passes=min_passes, max_runs=max_runs)


@pytest.mark.parametrize(
    "min_passes, max_runs, outcomes, verdict",
    [
        # the seed's examples
        (1, 5, [F], UNDECIDED),
        (1, 5, [F, P], FLAKY),
        (2, 3, [P, F], UNDECIDED),
        (2, 3, [P, F, F], FAILED),
        # a test nobody flagged (1 of 1) is decided by its one run
        (1, 1, [P], PASSED),
        (1, 1, [F], FAILED),
        # an error is a failed run
        (1, 1, [E], FAILED),
        (1, 3, [E, P], FLAKY),
        (2, 2, [P, E], FAILED),
        # early stopping: enough passes ends it, however many runs remain
        (3, 5, [P, P, P], PASSED),
        (2, 5, [F, P, P], FLAKY),
        # ... and so does too few runs left to reach min_passes
        (2, 5, [F, F, F], UNDECIDED),
        (2, 5, [F, F, F, F], FAILED),
        # skipped is never a run
        (1, 1, [S], SKIPPED),
        (1, 1, [S, S], SKIPPED),
        (1, 2, [S, F], UNDECIDED),
        (1, 1, [S, P], PASSED),
        (2, 2, [P, S, P], PASSED),
        # more attempts than max_runs, recorded by another tool (pytest-rerunfailures): all count
        (1, 1, [F, F, P], FLAKY),
        (1, 1, [F, F, F], FAILED),
        (2, 2, [F, F, P, P], FLAKY),
    ],
)
def test_decide_table(min_passes: int, max_runs: int, outcomes: List[Outcome], verdict: Verdict) -> None:
    assert decide(outcomes, limits(min_passes, max_runs)).verdict is verdict


def test_decision_counts_passes_and_runs_without_skips() -> None:
    decision = decide([S, F, P, E, S, P], limits(2, 5))
    assert (decision.passes, decision.runs) == (2, 4)


@pytest.mark.parametrize(
    "min_passes, max_runs, outcomes, words",
    [
        (1, 5, [F, P], ["passed 1 out of the required 1 times", "failed 1 time"]),
        (1, 5, [F, F, P], ["passed 1 out of the required 1 times", "failed 2 times"]),
        (2, 3, [P, F, F], ["passed 1 out of the required 2 times", "3 runs", "max 3"]),
        (2, 3, [P, F], ["passed 1 out of the required 2 times", "needs 1 more run"]),
        (3, 5, [F], ["passed 0 out of the required 3 times", "needs 3 more runs"]),
    ],
)
def test_reason_says_how_often_it_passed_of_how_many_required(
    min_passes: int, max_runs: int, outcomes: List[Outcome], words: List[str]
) -> None:
    reason = decide(outcomes, limits(min_passes, max_runs)).reason
    for word in words:
        assert word in reason


def test_runs_left_counts_only_runs_and_never_goes_negative() -> None:
    assert runs_left([S, F], limits(1, 3)) == 2
    assert runs_left([F, F, F, F], limits(1, 3)) == 0


def test_closing_an_open_verdict_fails_it_and_keeps_how_often_it_passed() -> None:
    # With --no-rerun the report must still say "passed P out of the required K times".
    open_decision = decide([P, F], limits(2, 3))
    closed = close_undecided(open_decision, "reruns disabled by --no-rerun")
    assert closed.verdict is FAILED
    assert (closed.passes, closed.runs) == (1, 2)
    for word in ("passed 1 out of the required 2 times", "needs 1 more run", "reruns disabled by --no-rerun"):
        assert word in closed.reason


@pytest.mark.parametrize("outcomes", [[P], [F, P], [F], [S]])
def test_closing_a_decided_verdict_changes_nothing(outcomes: List[Outcome]) -> None:
    decision = decide(outcomes, limits(1, 1))
    assert close_undecided(decision, "why") is decision


def test_close_open_closes_every_open_result_and_only_those() -> None:
    def result(outcomes: List[Outcome]) -> TestResult:
        th = limits(2, 3)
        return TestResult(TestId("c", str(outcomes)), th, [Attempt(o) for o in outcomes], decide(outcomes, th))

    results = [result([P]), result([P, P]), result([F, F])]
    close_open(results, "no reruns")
    assert [r.decision.verdict for r in results] == [FAILED, PASSED, FAILED]
    assert "no reruns" in results[0].decision.reason


# -- properties -------------------------------------------------------------------------------------

outcome_lists = st.lists(st.sampled_from(list(Outcome)), max_size=12)


@st.composite
def thresholds(draw: st.DrawFn) -> Thresholds:
    min_passes = draw(st.integers(1, 5))
    return limits(min_passes, draw(st.integers(min_passes, min_passes + 5)))


def counts(outcomes: List[Outcome]):
    runs = sum(o is not S for o in outcomes)
    return runs, sum(o is P for o in outcomes)


@given(outcome_lists, thresholds())
def test_undecided_exactly_when_the_runs_left_could_still_reach_min_passes(outcomes, th) -> None:
    runs, passes = counts(outcomes)
    open_ = runs > 0 and passes < th.min_passes and passes + max(0, th.max_runs - runs) >= th.min_passes
    assert (decide(outcomes, th).verdict is UNDECIDED) == open_


@given(outcome_lists, thresholds())
def test_reaching_min_passes_is_never_failed_and_flaky_exactly_when_a_run_failed(outcomes, th) -> None:
    runs, passes = counts(outcomes)
    if passes >= th.min_passes:
        failed_a_run = any(o.is_failure for o in outcomes)
        assert decide(outcomes, th).verdict is (FLAKY if failed_a_run else PASSED)


@given(outcome_lists, outcome_lists, thresholds())
def test_more_attempts_never_reopen_a_decided_test_nor_fail_a_passed_one(first, more, th) -> None:
    before = decide(first, th).verdict
    after = decide(first + more, th).verdict
    if before not in (UNDECIDED, SKIPPED):
        assert after is not UNDECIDED
    if before in (PASSED, FLAKY):
        assert after in (PASSED, FLAKY)


@given(outcome_lists, outcome_lists, thresholds())
def test_a_failed_verdict_stands_while_the_runs_stay_within_max_runs(first, more, th) -> None:
    # Beyond max_runs (reruns another tool made) later passes do count; within it, failed is final.
    if decide(first, th).verdict is FAILED and counts(first + more)[0] <= th.max_runs:
        assert decide(first + more, th).verdict is FAILED


@given(outcome_lists, thresholds())
def test_an_open_verdict_can_still_go_either_way_within_max_runs(outcomes, th) -> None:
    decision = decide(outcomes, th)
    if decision.verdict is UNDECIDED:
        assert decide(outcomes + [P] * (th.min_passes - decision.passes), th).verdict in (PASSED, FLAKY)
        assert decide(outcomes + [F] * runs_left(outcomes, th), th).verdict is FAILED


@given(outcome_lists, st.lists(st.integers(0, 12)), thresholds())
def test_skipped_attempts_change_nothing_once_the_test_ran(outcomes, positions, th) -> None:
    with_skips = list(outcomes)
    for position in positions:
        with_skips.insert(position % (len(with_skips) + 1), S)
    if counts(outcomes)[0]:
        assert decide(with_skips, th) == decide(outcomes, th)


@given(outcome_lists, thresholds())
def test_an_error_counts_exactly_like_a_failure(outcomes, th) -> None:
    as_failures = [F if o is E else o for o in outcomes]
    assert decide(outcomes, th).verdict is decide(as_failures, th).verdict


@given(outcome_lists, thresholds())
def test_closing_leaves_no_verdict_open(outcomes, th) -> None:
    decision: Decision = decide(outcomes, th)
    closed = close_undecided(decision, "why")
    assert not closed.is_open
    assert closed.verdict is (FAILED if decision.is_open else decision.verdict)
