"""Simulated builds that add new tests: how often --new-test-runs N catches a flaky one on arrival.

    python benchmarks/bench_new_tests_sim.py [--seed S] [--builds B] [--runs 5,8]

Every build adds ``--new-per-build`` tests (default 4) to a suite of ``--known`` tests the history
already holds; a share of the new tests (``--flaky-share``, default 0.25) fails each run with
probability ``--fail-rate`` (default 1/3), the others never fail. Durations are log-uniform within
``--durations`` (default 0.01-2 s, where the budget never binds; ``0.01-600`` shows it binding).
Every test's usual rule is ``run --max-runs`` (default 3, as README's quick start runs it).

Each build goes through the real parts, as ``run`` puts them together: the SQLite history tells
the new tests (``new_tests.NewTestFinder``: the reader's sink and the store's ``unknown_tests``),
``new_tests.NewTests.apply`` gives them their rule within ``--budget`` (a new test that failed its
first run: its usual reruns, flaky on arrival if one passes), and every rerun is decided by
verdicts.py, one attempt at a time, as the rerun driver does; then the build is recorded in the
history, so the next build knows its tests. Known tests run once and are never rerun.

Columns, per N:
- caught at arrival: flaky new tests whose first build failed because of them (``fails_build``:
  flaky on arrival, or failed every run), with a 95% Wilson interval;
- stable new tests: the most runs one took, the mean, and builds a stable new test failed (the
  goal: at most N, and none);
- shortened: new tests the budget gave fewer than N runs.
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

from junit_flaky.history.reports import attempt_row
from junit_flaky.history.store import RunInfo, open_store
from junit_flaky.model import Attempt, Outcome, TestId, TestResult, Verdict
from junit_flaky.new_tests import DEFAULT_BUDGET, NewTestFinder, NewTestOptions, NewTests
from junit_flaky.thresholds import defaults
from junit_flaky.verdicts import Tally, decide, judge

SUITE = "pytest"


@dataclass
class Counts:
    flaky: int = 0
    caught: int = 0
    stable: int = 0
    stable_runs: int = 0
    stable_max_runs: int = 0
    stable_red_builds: int = 0
    shortened: int = 0
    seconds: float = 0.0


def wilson(hits: int, n: int, z: float = 1.96) -> Tuple[float, float]:
    if not n:
        return 0.0, 0.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def simulate(runs: int, args: argparse.Namespace, folder: Path) -> Counts:
    rng = random.Random(args.seed)  # the same population for every N
    low, high = (float(x) for x in args.durations.split("-"))
    db = folder / f"history-{runs}.sqlite"
    known = [TestId("test_known", f"test_{i}", "", SUITE) for i in range(args.known)]
    with open_store(db) as store:
        store.record(RunInfo(0.0), [attempt_row((t.classname, t.name, t.file, t.suite), Outcome.PASSED, 0.01) for t in known])
    options = NewTestOptions(db, runs, args.budget, allow_flaky=False)
    usual = defaults({}, None, args.max_runs)  # every test's rule before run tells the new ones
    tally = Counts()
    for build in range(args.builds):
        started = time.perf_counter()
        finder = NewTestFinder(db)
        arrivals = NewTests(options, finder)
        rows = []
        for test in known:  # passed once: the reader hands each on, and the history knows it
            finder.untracked((test.classname, test.name, test.file, test.suite), Outcome.PASSED, "0.01")
            rows.append(attempt_row((test.classname, test.name, test.file, test.suite), Outcome.PASSED, 0.01))
        new: List[Tuple[TestId, float, float]] = []  # (test, fail rate, duration)
        for i in range(args.new_per_build):
            flaky = rng.random() < args.flaky_share
            duration = math.exp(rng.uniform(math.log(low), math.log(high)))
            new.append((TestId(f"test_build{build}", f"test_{i}", "", SUITE), args.fail_rate if flaky else 0.0, duration))
        results, tracked = [], []
        # Each test's runs draw from its own stream: its first k runs are the same for every N.
        streams = {test: random.Random(f"{args.seed}/{test}") for test, _, _ in new}
        for test, fail_rate, duration in new:
            outcome = Outcome.FAILED if streams[test].random() < fail_rate else Outcome.PASSED
            identity = (test.classname, test.name, test.file, test.suite)
            if outcome is Outcome.PASSED:
                finder.untracked(identity, outcome, str(duration))
            else:
                tracked.append(identity)
            # Tracked: a failure always; a pass once the reader has been told to keep it (below).
            results.append((TestResult(test, usual, [Attempt(outcome, duration)], decide([outcome], usual)), fail_rate))
        also = finder.also_track(tracked)
        assert also is not None and finder.off is None, finder.off
        kept = [(r, f) for r, f in results if r.attempts[0].outcome is not Outcome.PASSED or also.wants(_identity(r.test))]
        arrivals.apply([r for r, _ in kept], testcases=len(known) + len(new))
        for result, fail_rate in kept:  # the rerun driver: one attempt at a time, decided by verdicts.py
            so_far = Tally.of(a.outcome for a in result.attempts)
            while result.decision.is_open:
                outcome = Outcome.FAILED if streams[result.test].random() < fail_rate else Outcome.PASSED
                result.attempts.append(Attempt(outcome, result.attempts[0].time, rerun=True))
                so_far = so_far.add(outcome)
                result.decision = judge(so_far, result.thresholds)
        tally.shortened += arrivals.shortened
        for result, fail_rate in kept:
            runs_taken = len(result.attempts)
            if fail_rate:
                tally.flaky += 1
                tally.caught += result.fails_build
            else:
                tally.stable += 1
                tally.stable_runs += runs_taken
                tally.stable_max_runs = max(tally.stable_max_runs, runs_taken)
                tally.stable_red_builds += result.fails_build or result.decision.verdict is not Verdict.PASSED
            rows += [attempt_row(_identity(result.test), a.outcome, a.time) for a in result.attempts]
        with open_store(db) as store:
            store.record(RunInfo(float(build + 1)), rows)
        tally.seconds += time.perf_counter() - started
    return tally


def _identity(test: TestId) -> Tuple[str, str, str, str]:
    return (test.classname, test.name, test.file, test.suite)


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--builds", type=int, default=1000)
    parser.add_argument("--runs", default="5,8", help="values of N to compare, comma-separated")
    parser.add_argument("--known", type=int, default=50)
    parser.add_argument("--new-per-build", type=int, default=4)
    parser.add_argument("--flaky-share", type=float, default=0.25)
    parser.add_argument("--fail-rate", type=float, default=1 / 3)
    parser.add_argument("--durations", default="0.01-2", help="seconds, LOW-HIGH, log-uniform")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET)
    parser.add_argument("--max-runs", type=int, default=3, help="run --max-runs: every test's usual rule")
    args = parser.parse_args(list(argv) or None)
    print(
        f"seed {args.seed}, {args.builds} builds, {args.new_per_build} new tests each ({args.flaky_share:g} flaky,"
        f" failing {args.fail_rate:.3f} of runs), durations {args.durations} s, budget {args.budget:g} s, --max-runs {args.max_runs}"
    )
    print()
    print("| N | flaky new tests | caught at arrival | 95% interval | 1-(1-p)^N | stable new tests | most runs | mean runs | builds a stable one failed | shortened |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as temp:
        for runs in (int(n) for n in args.runs.split(",")):
            t = simulate(runs, args, Path(temp))
            low, high = wilson(t.caught, t.flaky)
            expected = 1 - (1 - args.fail_rate) ** runs
            print(
                f"| {runs} | {t.flaky} | **{t.caught / max(t.flaky, 1):.1%}** | {low:.1%}-{high:.1%} | {expected:.1%} | {t.stable}"
                f" | {t.stable_max_runs} | {t.stable_runs / max(t.stable, 1):.2f} | {t.stable_red_builds} | {t.shortened} |"
            )


if __name__ == "__main__":
    main()
