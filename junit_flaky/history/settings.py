"""What thresholds and stats are learned with: the window, the error rates, the prior.

A module of its own, apart from the learning, because the CLI builds the commands' options from
these defaults on every start, before any command runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from junit_flaky.history.estimate import Prior

DAY = 86400.0


@dataclass(frozen=True)
class Settings:
    # A 1-of-n rule stops at the first pass, so a correct test pays for a small alpha only in the
    # rare build where it keeps failing: 1 in 10,000 costs about what 1 in 1,000 does.
    alpha: float = 0.0001  # most a correct test may fail the build
    # No target within a build by default: the regression check (regression.py) catches a
    # regressed test across builds, so each build can keep the cheapest rule.
    beta: float = 1.0  # most a regressed test may pass it
    regression_factor: float = 10.0  # a regressed test passes this many times less often
    max_runs: int = 10  # the cap
    window_days: float = 30.0  # only runs this recent count
    prior: Prior = field(default_factory=Prior)
    branch: Optional[str] = None  # only runs on this branch count
    false_alarms: float = 0.001  # flake-rate regressions flagged per build, on average, among correct tests
    regression_days: float = 7.0  # how far back the regression check reads (within window_days)
