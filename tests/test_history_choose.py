"""The threshold choice against binomial values worked out by hand, and against brute force."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from junit_flaky.history.choose import (
    choose,
    expected_runs,
    fail_probability,
    pass_probability,
    regressed_rate,
)


@pytest.mark.parametrize(
    "k, n, s, fail",
    [
        (1, 3, 0.9, 0.001),  # all three runs fail: 0.1^3
        (2, 3, 0.9, 0.028),  # 0.1^3 + 3 * 0.9 * 0.1^2
        (3, 3, 0.9, 0.271),  # 1 - 0.9^3
        (1, 1, 0.75, 0.25),
        (2, 4, 0.5, 5 / 16),  # (1 + 4) / 2^4
    ],
)
def test_fail_and_pass_probability(k: int, n: int, s: float, fail: float) -> None:
    assert fail_probability(k, n, s) == pytest.approx(fail, rel=1e-12)
    assert pass_probability(k, n, s) == pytest.approx(1 - fail, rel=1e-12)


@pytest.mark.parametrize(
    "k, n, s, runs",
    [
        (1, 3, 0.9, 1.11),  # 1 + P(1st failed) + P(first two failed) = 1 + 0.1 + 0.01
        (2, 3, 0.9, 2.18),  # 1 + 1 + P(one pass in two) = 2 + 2 * 0.9 * 0.1
        (2, 3, 0.5, 2.5),  # 2 + 2 * 0.5 * 0.5
        (1, 1, 0.3, 1.0),
        (3, 3, 0.5, 1.75),  # stops at the first failure: 1 + 0.5 + 0.25
    ],
)
def test_expected_runs_stop_as_soon_as_the_verdict_is_known(k: int, n: int, s: float, runs: float) -> None:
    assert expected_runs(k, n, s) == pytest.approx(runs, rel=1e-12)


def test_regressed_rate_divides_the_pass_rate() -> None:
    assert regressed_rate(0.0, 10) == pytest.approx(0.9)
    assert regressed_rate(0.5, 2) == pytest.approx(0.75)


def test_a_rule_that_meets_alpha_exactly_counts() -> None:
    choice = choose(0.1, alpha=0.001, beta=1.0, factor=10, cap=10)
    assert (choice.min_passes, choice.max_runs) == (1, 3)  # 0.1^3 is 0.0010000000000000002 in floats
    assert choice.expected_runs == pytest.approx(1.11)


def test_both_targets_by_hand() -> None:
    # q = 0.01, regressed q1 = 1 - 0.99 / 10 = 0.901.
    # 1 of 2 meets alpha (0.01^2 = 1e-4) but a regressed test passes it with 1 - 0.901^2 = 0.188;
    # 2 of 2 fails a correct test with 1 - 0.99^2 = 0.0199; 2 of 3 fails it with
    # 0.01^3 + 3 * 0.99 * 0.01^2 = 2.98e-4 and passes a regressed one with
    # 3 * 0.099^2 * 0.901 + 0.099^3 = 0.02746, at 2 + 2 * 0.99 * 0.01 = 2.0198 expected runs.
    choice = choose(0.01, alpha=0.001, beta=0.05, factor=10, cap=10)
    assert (choice.min_passes, choice.max_runs) == (2, 3)
    assert choice.fail_correct == pytest.approx(2.98e-4, rel=1e-9)
    assert choice.pass_regressed == pytest.approx(0.027462402, rel=1e-6)
    assert choice.expected_runs == pytest.approx(2.0198)
    assert choice.meets_alpha and choice.meets_beta


def test_when_the_cap_cannot_meet_beta_alpha_comes_first() -> None:
    choice = choose(0.3, alpha=0.001, beta=0.05, factor=10, cap=10)
    assert (choice.min_passes, choice.max_runs) == (1, 6)  # 0.3^5 = 0.00243, 0.3^6 = 0.000729
    assert choice.meets_alpha and not choice.meets_beta


def test_when_the_cap_cannot_meet_alpha_the_most_lenient_rule() -> None:
    choice = choose(0.7, alpha=0.001, beta=0.05, factor=10, cap=10)
    assert (choice.min_passes, choice.max_runs) == (1, 10)
    assert choice.fail_correct == pytest.approx(0.7**10)
    assert not choice.meets_alpha


def test_a_cap_of_one_run() -> None:
    choice = choose(0.2, alpha=0.001, beta=0.05, factor=10, cap=1)
    assert (choice.min_passes, choice.max_runs) == (1, 1)


@settings(max_examples=60, deadline=None)
@given(
    q=st.floats(0.001, 0.6),
    alpha=st.sampled_from([0.001, 0.01, 0.05]),
    beta=st.sampled_from([0.05, 0.2, 1.0]),
    factor=st.sampled_from([2.0, 10.0, 100.0]),
    cap=st.integers(1, 8),
)
def test_the_search_finds_what_brute_force_finds(q: float, alpha: float, beta: float, factor: float, cap: int) -> None:
    choice = choose(q, alpha, beta, factor, cap)
    q1 = regressed_rate(q, factor)
    rules = [(k, n) for n in range(1, cap + 1) for k in range(1, n + 1)]
    meets_alpha = [r for r in rules if fail_probability(*r, 1 - q) <= alpha * (1 + 1e-9)]
    meets_both = [r for r in meets_alpha if pass_probability(*r, 1 - q1) <= beta * (1 + 1e-9)]
    pool = meets_both or meets_alpha
    if pool:
        best = min(expected_runs(*r, 1 - q) for r in pool)
        assert choice.expected_runs == pytest.approx(best, rel=1e-9)
        assert choice.meets_alpha and choice.meets_beta == bool(meets_both)
    else:
        assert (choice.min_passes, choice.max_runs) == (1, cap)
    assert math.isclose(choice.fail_correct + pass_probability(choice.min_passes, choice.max_runs, 1 - q), 1.0)
