"""`junit-flaky thresholds compute` on a month of history against one scan of that history.

    python benchmarks/bench_history.py [--tests N] [--runs R] [--repeat K]

Builds (once, cached under benchmarks/out/) a history database of N tests (default 10,000) over R
builds an hour apart (default 720: 30 days), one commit each; 2% of the tests are flaky (failure
rates uniform in 1%-30%), and each flaky failure is followed by its passing rerun, as `run`
records them. `run --thresholds-from-history` pays this computation in every build.

The baseline is the least any estimator that looks at every attempt pays: SQLite counting each
test's failures and runs in one grouped scan of the attempts. `thresholds compute` finds the flaky tests from the failures alone (a partial
index), reads every attempt of those tests grouped by commit, and runs the estimator and the
threshold search in Python; start-up and the thresholds file are included.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from pathlib import Path

from common import alternate, cached, table

from junit_flaky.history.store import OUTCOME_CODES, RunInfo, open_store
from junit_flaky.model import Outcome

OUT = Path(__file__).resolve().parent / "out"
PASSED, FAILED = OUTCOME_CODES[Outcome.PASSED], OUTCOME_CODES[Outcome.FAILED]
# Each test's failures and runs, all in SQLite: the simplest estimator that reads every attempt.
SCAN = (
    "import sqlite3, sys; print(len(sqlite3.connect(sys.argv[1]).execute("
    "'SELECT test_id, SUM(outcome >= 2), COUNT(*) FROM attempts GROUP BY test_id').fetchall()))"
)


def build(db: Path, tests: int, runs: int) -> None:
    rng = random.Random(20261126)
    flaky = {t: rng.uniform(0.01, 0.3) for t in rng.sample(range(tests), tests // 50)}
    names = [(f"tests.pkg{t % 100}.test_mod{t % 1000}", f"test_case_{t}") for t in range(tests)]
    end = time.time()
    with open_store(db) as store:
        for run in range(runs):
            rows = []
            for test, (classname, name) in enumerate(names):
                if rng.random() < flaky.get(test, 0.0):
                    rows.append((classname, name, "", "pytest", FAILED, 20))
                rows.append((classname, name, "", "pytest", PASSED, 20))
            store.record(RunInfo(end - (runs - run) * 3600, commit=f"c{run}", branch="main"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=720)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    db = cached(OUT / f"history-{args.tests}x{args.runs}.sqlite", lambda path: build(path, args.tests, args.runs))
    print(f"history: {db} ({db.stat().st_size / 1e6:.0f} MB, {args.tests} tests x {args.runs} builds)")
    # The cached database ages: the window covers all of it, however old, so every run counts.
    oldest = sqlite3.connect(db).execute("SELECT MIN(started) FROM runs").fetchone()[0]
    window_days = (time.time() - oldest) / 86400 + 0.01
    commands = {
        "per-test counts in one scan (baseline)": [sys.executable, "-c", SCAN, str(db)],
        "junit-flaky thresholds compute": [
            sys.executable, "-m", "junit_flaky", "thresholds", "compute", "--db", str(db), "--window-days", f"{window_days:.3f}",
            "--output", str(OUT / "thresholds.json"),
        ],
    }
    print(table(alternate(commands, args.repeat), "per-test counts in one scan (baseline)"))


if __name__ == "__main__":
    main()
