"""Choosing a test's (min_passes, max_runs) from its flake rate: exact binomial sums, no sampling.

A rule "pass k times within n runs" stops early, as the verdicts do: at the k-th pass, or as soon
as k passes can no longer be reached. Stopping early changes how many runs are spent, never the
verdict, so for runs that pass independently with probability s:

- the build fails the test with probability P(Bin(n, s) < k);
- the expected number of runs is E[R] = sum over t = 0..n-1 of P(still running after t runs),
  where still running means fewer than k passes and fewer than n - k + 1 failures so far.

For each test we pick, among the rules with max_runs <= cap, the one with the fewest expected runs
for a correct test (flake rate q) such that a correct test fails the build with probability
<= alpha and a regressed test (flake rate q1 = 1 - (1 - q) / factor: its pass rate fell by that
factor) passes with probability <= beta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

# Comparing a computed probability with a target: 0.1 ** 3 is 0.0010000000000000002, and a rule
# that meets alpha = 0.001 exactly must count as meeting it.
_TOLERANCE = 1e-9


def binomial_pmf(n: int, i: int, s: float) -> float:
    """P(Bin(n, s) = i)."""
    return math.comb(n, i) * s**i * (1.0 - s) ** (n - i)


def fail_probability(min_passes: int, max_runs: int, pass_rate: float) -> float:
    """P(fewer than min_passes passes in max_runs runs): the build fails the test.

    Summed over the lower tail directly, not as 1 - P(pass), so tiny values keep their digits.
    """
    return sum(binomial_pmf(max_runs, i, pass_rate) for i in range(min_passes))


def pass_probability(min_passes: int, max_runs: int, pass_rate: float) -> float:
    """P(at least min_passes passes in max_runs runs): the build passes the test."""
    return sum(binomial_pmf(max_runs, i, pass_rate) for i in range(min_passes, max_runs + 1))


def expected_runs(min_passes: int, max_runs: int, pass_rate: float) -> float:
    """Expected runs of one build under the rule, stopping as soon as the verdict is known."""
    most_failures = max_runs - min_passes  # one more failure and min_passes is out of reach
    total = 0.0
    for t in range(max_runs):
        # Still running after t runs: passes i < min_passes and failures t - i <= most_failures.
        low, high = max(0, t - most_failures), min(min_passes - 1, t)
        total += sum(binomial_pmf(t, i, pass_rate) for i in range(low, high + 1))
    return total


def regressed_rate(flake_rate: float, factor: float) -> float:
    """The flake rate of a test whose pass rate fell by ``factor``: the regression to catch."""
    return 1.0 - (1.0 - flake_rate) / factor


@dataclass(frozen=True)
class Choice:
    min_passes: int
    max_runs: int
    fail_correct: float  # P(a correct test fails the build)
    pass_regressed: float  # P(a regressed test passes the build)
    expected_runs: float  # for a correct test
    meets_alpha: bool
    meets_beta: bool


def _within(probability: float, target: float) -> bool:
    return probability <= target * (1 + _TOLERANCE)


def _evaluate(k: int, n: int, q: float, q1: float, alpha: float, beta: float) -> Choice:
    fail = fail_probability(k, n, 1.0 - q)
    slip = pass_probability(k, n, 1.0 - q1)
    return Choice(k, n, fail, slip, expected_runs(k, n, 1.0 - q), _within(fail, alpha), _within(slip, beta))


def choose(flake_rate: float, alpha: float, beta: float, factor: float, cap: int) -> Choice:
    """The rule with the fewest expected runs that meets both targets within ``cap`` runs.

    When the cap makes that impossible, protecting correct tests comes first (turning builds red
    is what the tool exists to prevent): the cheapest rule that meets alpha, its ``meets_beta``
    False. When even alpha is out of reach, 1 pass within ``cap`` runs, the most lenient rule.
    """
    q, q1 = flake_rate, regressed_rate(flake_rate, factor)
    both: Optional[Choice] = None
    alpha_only: Optional[Choice] = None
    for k in range(1, cap + 1):
        if both is not None and k * (1.0 - alpha) >= both.expected_runs:
            break  # a test that passes runs k times, so E[R] >= k * P(pass): no larger k is cheaper
        # For a given k, more runs only raise both pass probabilities and the runs spent, so
        # the fewest runs that meet alpha is that k's best rule.
        n = next((n for n in range(k, cap + 1) if _within(fail_probability(k, n, 1.0 - q), alpha)), None)
        if n is None:
            break  # a larger k needs even more runs to meet alpha
        candidate = _evaluate(k, n, q, q1, alpha, beta)
        if candidate.meets_beta and (both is None or candidate.expected_runs < both.expected_runs):
            both = candidate
        if alpha_only is None or candidate.expected_runs < alpha_only.expected_runs:
            alpha_only = candidate
    return both or alpha_only or _evaluate(1, cap, q, q1, alpha, beta)
