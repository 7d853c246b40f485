"""A test's flake rate, estimated from the evidence that its failures were flaky.

The rate wanted is the probability that one run fails while the code is correct. The code is known
correct on a commit where the test passed at least once: every failed run there, whether a rerun in
the same build or another build of that commit, was a flaky failure. On a commit where the test
never passed the code may have been broken, so those runs are left out. A run without a commit
(local, imported) is its own group: only its reruns say anything.

With f flaky failures among n runs on correct commits, the estimate is the mean of the Beta
posterior from a prior of mean m and weight w (w pseudo-runs, m * w of them failed):

    q = (f + m * w) / (n + w)

so one failure in three runs gives 0.15 rather than 0.33, and 2 in 500 gives 0.006. A test with
no flaky failure has no estimate: it is not known to be flaky and gets no reruns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional


@dataclass(frozen=True)
class Prior:
    mean: float = 0.1
    weight: float = 10.0


@dataclass(frozen=True)
class CommitRuns:
    """One test's runs on one commit (or in one run without a commit); skipped runs left out."""

    runs: int
    passes: int
    failures: int


@dataclass(frozen=True)
class Evidence:
    runs: int  # runs on commits where the test also passed
    flaky_failures: int  # the failed ones among them


def evidence(groups: Iterable[CommitRuns]) -> Evidence:
    """Sum the runs and failures of the commits where the test passed at least once."""
    runs = failures = 0
    for group in groups:
        if group.passes:
            runs += group.runs
            failures += group.failures
    return Evidence(runs, failures)


def flake_rate(found: Evidence, prior: Prior) -> Optional[float]:
    """The posterior mean flake rate, or None without a flaky failure."""
    if not found.flaky_failures:
        return None
    return (found.flaky_failures + prior.mean * prior.weight) / (found.runs + prior.weight)
