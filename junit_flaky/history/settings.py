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
    alpha: float = 0.001  # most a correct test may fail the build
    beta: float = 0.05  # most a regressed test may pass it
    regression_factor: float = 10.0  # a regressed test passes this many times less often
    max_runs: int = 10  # the cap
    window_days: float = 30.0  # only runs this recent count
    prior: Prior = field(default_factory=Prior)
    branch: Optional[str] = None  # only runs on this branch count
    false_alarms: float = 0.001  # flake-rate regressions flagged per build, on average, among correct tests
    regression_days: float = 7.0  # how far back the regression check reads (within window_days)
