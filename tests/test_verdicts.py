"""Verdict rules: tables of cases from the Flakybot semantics, then properties that must hold for all."""

from __future__ import annotations

from dataclasses import replace
from typing import List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from junit_flaky import pytest_plugin
from junit_flaky.model import Attempt, Decision, Outcome, TestId, TestResult, Thresholds, Verdict
from junit_flaky.verdicts import Tally, close, closed, countdown, decide, judge, opened_by_a_failure, runs_left

P, F, E, S = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED
PASSED, FLAKY, FAILED, SKIPPED, OPEN = (
    Verdict.PASSED, Verdict.FLAKY, Verdict.FAILED, Verdict.SKIPPED, Verdict.OPEN,
)


def limits(min_passes: int, max_runs: int) -> Thresholds:
    return Thresholds(min_passes=min_passes, max_runs=max_runs)


@pytest.mark.parametrize(
    "min_passes, max_runs, outcomes, verdict",
    [
        # the seed's examples
        (1, 5, [F], OPEN),
        (1, 5, [F, P], FLAKY),
        (2, 3, [P, F], OPEN),
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
        (2, 5, [F, F, F], OPEN),
        (2, 5, [F, F, F, F], FAILED),
        # skipped is never a run, but it uses one of the max_runs attempts
        (1, 1, [S], SKIPPED),
        (1, 3, [S], SKIPPED),
        (1, 1, [S, S], SKIPPED),
        (1, 2, [S, F], FAILED),
        (1, 3, [S, F], OPEN),
        (1, 1, [S, P], PASSED),
        # a skip after the test ran ends it: it cannot run again
        (1, 5, [F, S], FAILED),
        (2, 5, [P, F, S], FAILED),
        (2, 5, [P, S], PASSED),  # it never failed
        (3, 3, [S, P], PASSED),  # skips, not failures, left too few runs: still never failed
        (3, 3, [S, P, S], PASSED),  # and a later skip does not undo that
        (2, 5, [P, S, P], PASSED),  # more attempts, recorded by another tool, still count
        # more attempts than max_runs, recorded by another tool (pytest-rerunfailures): all count
        (1, 1, [F, F, P], FLAKY),
        (1, 1, [F, F, F], FAILED),
        (2, 2, [F, F, P, P], FLAKY),
    ],
)
def test_decide_table(min_passes: int, max_runs: int, outcomes: List[Outcome], verdict: Verdict) -> None:
    assert decide(outcomes, limits(min_passes, max_runs)).verdict is verdict


def test_decision_counts_passes_and_runs_without_skips() -> None:
    decision = decide([S, F, P, E, S, P], limits(2, 6))
    assert (decision.passes, decision.runs) == (2, 4)


def test_fail_then_skip_on_rerun_says_so() -> None:
    decision = decide([F, S], limits(1, 5))
    assert decision.verdict is FAILED
    assert decision.reason == "passed 0 out of the required 1 time; skipped on rerun after failing"


def test_a_tally_decides_as_the_outcomes_it_counted() -> None:
    tally = Tally()
    for outcome in [F, S, E, P, P]:
        tally = tally.add(outcome)
    assert tally == Tally.of([F, S, E, P, P]) == Tally(attempts=5, runs=4, passes=2, skipped_after_running=True)
    assert judge(tally, limits(2, 5)) == decide([F, S, E, P, P], limits(2, 5))

@pytest.mark.parametrize(
    "min_passes, max_runs, outcomes, words",
    [
        (1, 5, [F, P], ["passed 1 out of the required 1 time;", "failed 1 time"]),
        (1, 5, [F, F, P], ["passed 1 out of the required 1 time;", "failed 2 times"]),
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


def test_runs_left_counts_every_attempt_and_never_goes_negative() -> None:
    assert runs_left(Tally.of([S, F]), limits(1, 3)) == 1
    assert runs_left(Tally.of([F, F, F, F]), limits(1, 3)) == 0
    assert runs_left(Tally.of([F, S]), limits(1, 3)) == 0  # the skip ended it


@pytest.mark.parametrize(
    "min_passes, max_runs, outcomes, needed, allowed",
    [(1, 5, [F], 1, 3), (2, 3, [P], 1, 1), (2, 3, [P, F], 1, 0), (3, 5, [S, F], 3, 0)],
)
def test_countdowns_for_the_plugin(min_passes, max_runs, outcomes, needed, allowed) -> None:
    left = countdown(Tally.of(outcomes), limits(min_passes, max_runs))
    assert (left.passes_needed, left.failures_allowed) == (needed, allowed)


@pytest.mark.parametrize("outcomes, failing", [([F], True), ([P, E], True), ([P], False), ([S, P, P], False)])
def test_an_open_verdict_comes_from_a_failure_or_only_needs_more_passes(outcomes, failing) -> None:
    decision = decide(outcomes, limits(3, 6))
    assert decision.is_open
    assert opened_by_a_failure(decision) is failing


def test_closing_an_open_verdict_fails_it_and_keeps_how_often_it_passed() -> None:
    # With --no-rerun the report must still say "passed P out of the required K times".
    open_decision = decide([P, F], limits(2, 3))
    ended = closed(open_decision, "reruns disabled by --no-rerun")
    assert ended.verdict is FAILED
    assert (ended.passes, ended.runs) == (1, 2)
    for word in ("passed 1 out of the required 2 times", "needs 1 more run", "reruns disabled by --no-rerun"):
        assert word in ended.reason


@pytest.mark.parametrize("outcomes", [[P], [F, P], [F], [S]])
def test_closing_a_decided_verdict_changes_nothing(outcomes: List[Outcome]) -> None:
    decision = decide(outcomes, limits(1, 1))
    assert closed(decision, "why") is decision


def test_close_closes_every_open_result_and_only_those() -> None:
    def result(outcomes: List[Outcome]) -> TestResult:
        th = limits(2, 3)
        return TestResult(TestId("c", str(outcomes)), th, [Attempt(o) for o in outcomes], decide(outcomes, th))

    results = [result([P]), result([P, P]), result([F, F])]
    close(results, "no reruns")
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


def ended_by_a_skip(outcomes: List[Outcome]) -> bool:
    return any(o is S and counts(outcomes[:i])[0] for i, o in enumerate(outcomes))


@given(outcome_lists, thresholds())
def test_open_exactly_when_the_attempts_left_could_still_reach_min_passes(outcomes, th) -> None:
    runs, passes = counts(outcomes)
    attempts_left = max(0, th.max_runs - len(outcomes))
    open_ = runs > 0 and passes < th.min_passes <= passes + attempts_left and not ended_by_a_skip(outcomes)
    assert (decide(outcomes, th).verdict is OPEN) == open_


@given(outcome_lists, thresholds())
def test_every_test_is_decided_within_max_runs_attempts(outcomes, th) -> None:
    if len(outcomes) >= th.max_runs:
        assert decide(outcomes, th).verdict is not OPEN


@given(outcome_lists, thresholds())
def test_reaching_min_passes_is_never_failed_and_flaky_exactly_when_a_run_failed(outcomes, th) -> None:
    runs, passes = counts(outcomes)
    if passes >= th.min_passes:
        failed_a_run = any(o.is_failure for o in outcomes)
        assert decide(outcomes, th).verdict is (FLAKY if failed_a_run else PASSED)


@given(outcome_lists, outcome_lists, thresholds())
def test_more_attempts_never_reopen_a_decided_test_nor_fail_one_that_reached_min_passes(first, more, th) -> None:
    before = decide(first, th)
    after = decide(first + more, th).verdict
    if before.verdict is not SKIPPED and not before.is_open:
        assert after is not OPEN
    if before.passes >= th.min_passes:
        assert after in (PASSED, FLAKY)


@given(outcome_lists, outcome_lists, thresholds())
def test_a_failed_verdict_stands_while_the_attempts_stay_within_max_runs(first, more, th) -> None:
    # Beyond max_runs (reruns another tool made) later passes do count; within it, failed is final,
    # unless a skip ended the test (then only passes another tool recorded can change it).
    if decide(first, th).verdict is FAILED and len(first + more) <= th.max_runs and not ended_by_a_skip(first):
        assert decide(first + more, th).verdict is FAILED


@given(outcome_lists, thresholds())
def test_an_open_verdict_can_still_go_either_way_within_max_runs(outcomes, th) -> None:
    decision = decide(outcomes, th)
    if decision.verdict is OPEN:
        assert decide(outcomes + [P] * (th.min_passes - decision.passes), th).verdict in (PASSED, FLAKY)
        assert decide(outcomes + [F] * runs_left(Tally.of(outcomes), th), th).verdict is FAILED


@given(outcome_lists, thresholds())
def test_a_skip_after_the_test_ran_ends_it(outcomes, th) -> None:
    if counts(outcomes)[0]:
        assert decide(outcomes + [S], th).verdict is not OPEN


@given(outcome_lists, thresholds())
def test_an_error_counts_exactly_like_a_failure(outcomes, th) -> None:
    as_failures = [F if o is E else o for o in outcomes]
    assert decide(outcomes, th).verdict is decide(as_failures, th).verdict


@given(outcome_lists, thresholds())
def test_closing_leaves_no_verdict_open(outcomes, th) -> None:
    decision: Decision = decide(outcomes, th)
    ended = closed(decision, "why")
    assert not ended.is_open
    assert ended.verdict is (FAILED if decision.is_open else decision.verdict)


def list_based_decision(outcomes: List[Outcome], th: Thresholds):
    """The rule as it read before the tally, counting whole lists, where a skip was no attempt at
    all: (verdict, passes, runs). The tally must agree with it wherever no attempt was skipped."""
    runs = sum(1 for o in outcomes if o is not S)
    passes = sum(1 for o in outcomes if o is P)
    if runs == 0:
        return SKIPPED, 0, 0
    if passes >= th.min_passes:
        return (FLAKY if runs > passes else PASSED), passes, runs
    if passes + max(0, th.max_runs - runs) < th.min_passes:
        return FAILED, passes, runs
    return OPEN, passes, runs


@given(st.lists(st.sampled_from([P, F, E]), max_size=12), thresholds())
def test_the_tally_decides_as_the_list_based_rule_where_nothing_was_skipped(outcomes, th) -> None:
    decision = decide(outcomes, th)
    assert (decision.verdict, decision.passes, decision.runs) == list_based_decision(outcomes, th)


@given(st.data(), thresholds())
def test_every_sequence_of_max_runs_attempts_is_decided_and_stays_decided(data, th) -> None:
    outcomes = data.draw(st.lists(st.sampled_from(list(Outcome)), min_size=th.max_runs, max_size=th.max_runs))
    seen_decided = False
    for end in range(1, len(outcomes) + 1):
        decision = decide(outcomes[:end], th)
        seen_decided = seen_decided or decision.verdict not in (OPEN, SKIPPED)
        assert not (seen_decided and decision.is_open), f"reopened after {outcomes[:end]}"
    assert not decide(outcomes, th).is_open


@given(outcome_lists, thresholds())
def test_the_countdowns_are_exactly_the_passes_and_failures_that_end_an_open_test(outcomes, th) -> None:
    tally = Tally.of(outcomes)
    if not judge(tally, th).is_open:
        return
    left = countdown(tally, th)
    assert left.passes_needed >= 1 and left.failures_allowed >= 0
    assert judge(Tally.of(outcomes + [P] * left.passes_needed), th).verdict in (PASSED, FLAKY)
    assert judge(Tally.of(outcomes + [P] * (left.passes_needed - 1)), th).is_open
    assert judge(Tally.of(outcomes + [F] * left.failures_allowed), th).is_open
    assert judge(Tally.of(outcomes + [F] * (left.failures_allowed + 1)), th).verdict is FAILED


@given(outcome_lists, st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=12), thresholds())
def test_the_plugin_counting_down_stops_exactly_when_the_verdict_is_no_longer_open(first, reruns, th) -> None:
    # The plugin holds no rule: it runs by the countdown verdicts.py gives it, and must stop
    # exactly where the driver, deciding each attempt here, stops wanting more.
    tally = Tally.of(first)
    if not judge(tally, th).is_open:
        return
    given_left = countdown(tally, th)
    left = pytest_plugin.Countdown(given_left.passes_needed, given_left.failures_allowed)
    for outcome in reruns:
        tally = tally.add(outcome)
        left = left.after(outcome.value)
        assert (left.stop(outcome.value) is None) == judge(tally, th).is_open
        if left.stop(outcome.value):
            break


# A new test under --new-test-runs 5: pass 5 of 5, so its first failure ends it; a failure after a
# pass is "flaky on arrival", and its flag says whether that fails the build.
ARRIVAL = Thresholds(min_passes=5, max_runs=5, source="new test", new_test=True, flaky_fails_build=True)


@pytest.mark.parametrize(
    "outcomes, verdict",
    [
        ([P], OPEN),
        ([P, P, P, P], OPEN),
        ([P, P, P, P, P], PASSED),
        ([P, F], FLAKY),
        ([P, P, P, P, E], FLAKY),
        ([P, S], PASSED),  # a skip ends it, and it never failed
    ],
)
def test_a_new_test_passes_every_run_or_is_flaky_on_arrival(outcomes: List[Outcome], verdict: Verdict) -> None:
    decision = decide(outcomes, ARRIVAL)
    assert decision.verdict is verdict
    assert decision.reason.startswith("new test, flaky on arrival") == (verdict is FLAKY)


def test_a_new_test_stops_at_its_first_failure() -> None:
    assert countdown(Tally.of([P]), ARRIVAL) == countdown(Tally.of([P]), limits(5, 5))
    assert countdown(Tally.of([P]), ARRIVAL).failures_allowed == 0


@pytest.mark.parametrize(
    "thresholds, fails",
    [
        (ARRIVAL, True),
        (replace(ARRIVAL, flaky_fails_build=False), False),  # --allow-new-flaky
        (replace(ARRIVAL, quarantined=True), False),
    ],
)
def test_a_flaky_verdict_fails_the_build_only_by_its_thresholds_flag(thresholds: Thresholds, fails: bool) -> None:
    result = TestResult(TestId("c", "t"), thresholds, [], decide([P, F], thresholds))
    assert result.reported_verdict is FLAKY
    assert result.fails_build is fails


def test_closing_a_new_test_that_never_failed_passes_it() -> None:
    # Reruns that could not happen (budget spent, not collectable) are no evidence against it.
    result = TestResult(TestId("c", "t"), ARRIVAL, [Attempt(P)], decide([P], ARRIVAL))
    close([result], "rerun budget of 5s spent (--rerun-budget)")
    assert result.decision.verdict is PASSED
    assert "rerun budget of 5s spent" in result.decision.reason
    assert not result.fails_build
