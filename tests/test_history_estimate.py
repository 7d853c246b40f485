"""The flake-rate estimate: which runs are evidence, and the prior's pull."""

from __future__ import annotations

import pytest

from junit_flaky.history.estimate import CommitRuns, Evidence, Prior, evidence, flake_rate


def test_only_commits_where_the_test_passed_are_evidence() -> None:
    groups = [
        CommitRuns(runs=3, passes=1, failures=2),  # failed twice, then passed on rerun: flaky
        CommitRuns(runs=1, passes=1, failures=0),
        CommitRuns(runs=3, passes=0, failures=3),  # never passed: maybe broken code, left out
    ]
    assert evidence(groups) == Evidence(runs=4, flaky_failures=2)


def test_the_prior_keeps_few_runs_from_extreme_values() -> None:
    prior = Prior(mean=0.1, weight=10)
    assert flake_rate(Evidence(3, 1), prior) == pytest.approx(2 / 13)  # (1 + 1) / (3 + 10), not 1/3
    assert flake_rate(Evidence(500, 2), prior) == pytest.approx(3 / 510)
    assert flake_rate(Evidence(10, 10), prior) == pytest.approx(11 / 20)  # not 1


def test_no_flaky_failure_no_estimate() -> None:
    assert flake_rate(Evidence(1000, 0), Prior()) is None


def test_without_a_prior_the_estimate_is_the_plain_ratio() -> None:
    assert flake_rate(Evidence(8, 2), Prior(weight=0)) == pytest.approx(0.25)
