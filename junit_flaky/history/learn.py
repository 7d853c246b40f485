"""From the history to thresholds: each test's evidence, its flake rate, its rule."""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from junit_flaky.history.choose import Choice, choose
from junit_flaky.history.estimate import Evidence, evidence, flake_rate
from junit_flaky.history.settings import DAY, Settings
from junit_flaky.history.store import HistoryStore, TestKey, open_store
from junit_flaky.model import Thresholds
from junit_flaky.thresholds import Entry


@dataclass(frozen=True)
class TestHistory:
    """A test with flaky evidence in the window, and what its flakiness cost."""

    classname: str
    name: str
    evidence: Evidence
    flake_rate: float
    builds: int  # runs of the store (builds, shards) that ran it
    reruns: int  # attempts after a run's first
    rerun_seconds: float
    flaky_failure_times: Tuple[float, ...]  # when each flaky failure's run started
    retried_commits: int = 0  # commits where it failed in one run (build, shard) and passed in another
    rate_rose: Optional[float] = None  # when the regression check last flagged it (regression.py), if it did
    file: str = ""  # the file its reports named, if any: where CODEOWNERS finds its owners

    __test__ = False

    @property
    def last_flaky(self) -> float:
        return max(self.flaky_failure_times)


@dataclass(frozen=True)
class Computed:
    history: TestHistory
    choice: Choice


def flaky_tests(store: HistoryStore, settings: Settings, now: float, tests: Optional[Iterable[TestKey]] = None) -> List[TestHistory]:
    """Every test with flaky evidence since ``now`` minus the window, flakiest first;
    ``tests``: only those of these (classname, name)."""
    rows = store.commit_rows(now - settings.window_days * DAY, settings.branch, tests)
    found = []
    for (classname, name), group in groupby(rows, key=lambda row: (row.classname, row.name)):
        commits = list(group)
        proof = evidence(row.counts for row in commits)
        rate = flake_rate(proof, settings.prior)
        if rate is None:
            continue
        found.append(
            TestHistory(
                classname,
                name,
                proof,
                rate,
                builds=sum(row.builds for row in commits),
                reruns=sum(row.counts.runs - row.builds for row in commits),
                rerun_seconds=sum(row.rerun_seconds for row in commits),
                flaky_failure_times=tuple(sorted(t for row in commits if row.counts.passes for t in row.failure_times)),
                retried_commits=sum(1 for row in commits if row.counts.passes and row.counts.failures and row.builds > 1),
                file=max(row.file for row in commits),
            )
        )
    return sorted(found, key=lambda h: (-h.flake_rate, -h.evidence.flaky_failures, h.classname, h.name))


def compute(db_path: Path, settings: Settings, now: Optional[float] = None) -> List[Computed]:
    with open_store(db_path, create=False) as store:
        tests = flaky_tests(store, settings, time.time() if now is None else now)
    return [
        Computed(h, choose(h.flake_rate, settings.alpha, settings.beta, settings.regression_factor, settings.max_runs))
        for h in tests
    ]


def entries(computed: List[Computed], source: str) -> List[Entry]:
    return [
        Entry(c.history.name, c.history.classname, Thresholds(c.choice.min_passes, c.choice.max_runs, source=source))
        for c in computed
    ]


def thresholds_from_history(db_path: Path, settings: Settings = Settings(), now: Optional[float] = None) -> List[Entry]:
    """``run --thresholds-from-history``: an entry for every test with flaky evidence."""
    return entries(compute(db_path, settings, now), f"history {db_path}")
