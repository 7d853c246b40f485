"""Flake-rate regressions: a flaky test that now fails far more often than its own history says.

Each build can then keep the cheapest rule for its flaky tests (1 pass within n runs) and leave
catching a regression to the history, which sees the test across builds.

The check is a Bernoulli CUSUM (Page, 1954), one per test with a flake rate q (estimate.py) and
branch, over its passed and failed attempts of the last ``Settings.regression_days`` on that branch
in the order they ran: a feature branch that broke the test must not flag main's next build.
Each attempt adds the log-likelihood ratio of the regressed rate q1 = 1 - (1 - q) / R (its pass
rate fell R-fold, R = ``Settings.regression_factor``, the definition choose.py uses) against q:

    failure: + ln(q1 / q)        pass: + ln((1 - q1) / (1 - q)) = - ln R

and S = max(0, S + step). When S reaches h the test is flagged in that run, and S starts again
from 0 after it: a regression that was fixed is not flagged again from old evidence, one that
persists is flagged again as soon as new evidence reaches h.

Why this test: reruns are made only after a failure, so how many attempts a build makes depends on
their outcomes. A likelihood ratio does not care how the attempts were chosen (each one fails with
q given everything before it), so the false-alarm bound below holds with reruns, where a test on
counts (Fisher's exact test on a recent window against a baseline) assumes sample sizes fixed in
advance. And it needs no window size: evidence accumulates over as many builds as it takes.

False alarms: a CUSUM with threshold h on a correct test raises a false alarm at most once per e^h
attempts on average (Lorden, 1971). A correct flaky test under a 1-of-n rule makes 1 / (1 - q) <= 2
attempts per build for q <= 0.5, so with m tests checked, h = ln(2m / γ) keeps the false alarms of
the whole suite at most γ per build on average (``Settings.false_alarms``, default 0.001). The bound
assumes independent attempts: failures that come in bursts (a broken machine failing every rerun)
raise more alarms.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from junit_flaky.history.choose import regressed_rate
from junit_flaky.history.learn import TestHistory, flaky_tests
from junit_flaky.history.settings import DAY, Settings
from junit_flaky.history.store import HistoryStore, SequenceRow, TestKey, open_store
from junit_flaky.model import test_label


@dataclass(frozen=True)
class RunAttempts:
    """One test's passed and failed attempts in one run, in order (True: failed)."""

    run_id: int
    started: float
    failed: Tuple[bool, ...]


@dataclass(frozen=True)
class Alarm:
    """A rise flagged in one run, with the evidence since the CUSUM last stood at zero."""

    run_id: int
    started: float  # when the flagged run started
    since: float  # when the first run of the evidence started
    runs: int  # attempts in the evidence, the flagged run's included
    failures: int


@dataclass(frozen=True)
class FlakeRegression:
    classname: str
    name: str
    flake_rate: float  # the rate the test was checked against
    alarm: Alarm

    def as_json(self) -> Dict[str, Any]:
        a = self.alarm
        return {
            "class_name": self.classname,
            "test_name": self.name,
            "flake_rate": round(self.flake_rate, 6),
            "runs": a.runs,
            "failures": a.failures,
            "since": _iso(a.since),
            "flagged_at": _iso(a.started),
        }

    def describe(self) -> str:
        a = self.alarm
        return (
            f"flake-rate regression: {test_label(self.classname, self.name)} failed {a.failures} of {a.runs} runs since"
            f" {_when(a.since)}, against its flake rate of {self.flake_rate:.1%}"
        )


def threshold(tests: int, false_alarms: float) -> float:
    """h for ``tests`` tests checked, so that they raise ``false_alarms`` per build on average."""
    return math.log(2 * max(tests, 1) / false_alarms)


def alarms(runs: Sequence[RunAttempts], flake_rate: float, factor: float, h: float) -> List[Alarm]:
    """The CUSUM's alarms over one test's runs, oldest first."""
    q, q1 = flake_rate, regressed_rate(flake_rate, factor)
    if not 0.0 < q < q1 < 1.0:
        return []  # no rise to look for (a factor of 1), or a rate the history cannot have
    up, down = math.log(q1 / q), math.log((1.0 - q1) / (1.0 - q))
    found: List[Alarm] = []
    score, since, attempts, failures = 0.0, None, 0, 0
    for run in runs:
        alarmed = False
        for failed in run.failed:
            score = max(0.0, score + (up if failed else down))
            if score == 0.0:
                since, attempts, failures = None, 0, 0
                continue
            if since is None:
                since = run.started
            attempts += 1
            failures += failed
            alarmed = alarmed or score >= h
        if alarmed:
            found.append(Alarm(run.run_id, run.started, since if since is not None else run.started, attempts, failures))
            score, since, attempts, failures = 0.0, None, 0, 0
    return found


def find(
    store: HistoryStore, rates: Dict[TestKey, float], settings: Settings, now: float, flaky: Optional[int] = None
) -> List[FlakeRegression]:
    """Every alarm of the tests with a flake rate in ``rates``, within the regression window.
    ``flaky``: how many tests have a flake rate, when ``rates`` holds only some of them."""
    days = min(settings.window_days, settings.regression_days)
    h = threshold(len(rates) if flaky is None else flaky, settings.false_alarms)
    found: List[FlakeRegression] = []
    # Only tests with a flake rate: a failure of a test with no flaky evidence fails its build by itself.
    for key, runs in _runs_by_test(store.attempt_sequences(now - days * DAY, settings.branch, rates)):
        rate = rates[key]
        for alarm in alarms(runs, rate, settings.regression_factor, h):
            found.append(FlakeRegression(key[0], key[1], rate, alarm))
    return found


def _runs_by_test(rows: Iterable[SequenceRow]) -> Iterator[Tuple[TestKey, List[RunAttempts]]]:
    """The store's rows (ordered by test and branch, then as they ran) as each test's runs on
    each branch: a test's key comes once per branch it failed on."""
    for (classname, name, _), branch_rows in groupby(rows, key=lambda row: (row[0], row[1], row[2])):
        runs: List[RunAttempts] = []
        for run_id, run_rows in groupby(branch_rows, key=lambda row: row[3]):
            attempts = list(run_rows)
            runs.append(RunAttempts(run_id, attempts[0][4], tuple(bool(row[5]) for row in attempts)))
        yield (classname, name), runs


def check(
    db_path: Path, run_id: int, tests: Iterable[TestKey], settings: Settings = Settings(), now: Optional[float] = None
) -> List[FlakeRegression]:
    """``run``'s check, after it recorded its run ``run_id``: the ``tests`` flagged in that run.
    Not in the test's latest run: on a shared history another build may have recorded since, and
    its alarm is that build's to report.

    Only a failure raises the CUSUM, and an alarm starts it afresh, so a test is flagged in a run
    only if it failed there: only those tests' flake rates are estimated (on a month of a
    10,000-test suite, all 200 flaky tests' took 0.9 s of the check's 1.5 s); of the others, the
    threshold needs only how many have one."""
    moment = time.time() if now is None else now
    with open_store(db_path, create=False) as store:
        checked: Set[TestKey] = store.failed_tests(run_id).intersection(tests)
        if not checked:
            return []
        rates = {(t.classname, t.name): t.flake_rate for t in flaky_tests(store, settings, moment, checked)}
        if not rates:
            return []
        flaky = store.flaky_test_count(moment - settings.window_days * DAY, settings.branch)
        found = find(store, rates, settings, moment, flaky)
    return [r for r in found if r.alarm.run_id == run_id]


def with_rises(store: HistoryStore, tests: Sequence[TestHistory], settings: Settings, now: float) -> List[TestHistory]:
    """``stats``: ``tests`` (``learn.flaky_tests``) with when the check last flagged each."""
    last: Dict[TestKey, float] = {}
    for found in find(store, {(t.classname, t.name): t.flake_rate for t in tests}, settings, now):
        key = (found.classname, found.name)
        last[key] = max(last.get(key, found.alarm.started), found.alarm.started)
    return [replace(t, rate_rose=last.get((t.classname, t.name))) for t in tests]


def _iso(moment: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(moment, timezone.utc).isoformat()


def _when(moment: float) -> str:
    from junit_flaky.history.stats import when

    return when(moment)
