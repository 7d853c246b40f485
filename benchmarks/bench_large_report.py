"""`junit-flaky run --no-rerun` on a 1,000,000-testcase pytest report against lxml parse+write,
and the same run recording every attempt in the history (--record-history), into a new history
and into one that knows the tests.

    python benchmarks/bench_large_report.py [--testcases N] [--repeat R] [--out DIR]

Generates (once, cached under benchmarks/out/) a pytest-style report: one <testsuite>, a million
testcases across 500 modules, 0.1% failing, 0.1% rerun by pytest-rerunfailures (the same testcase
again), 1% skipped. The baseline is what any tree-based tool pays at least: lxml parses the file
and writes it back, nothing else. Goals: ratio <= 1.0 and peak RSS <= 150 MB for the run, ratio
<= 1.5 for the runs that record the history. The history is recorded into a new database (a
first build's recording), and into a history that knows every test of the report (CI's steady
state: each build records the same suite), a copy of one recorded from the same report once.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
from pathlib import Path
from typing import List

from common import add_out_option, alternate, cached, junit_flaky, lxml_round_trip, table, written

FAILURE = (
    '<failure message="AssertionError: assert 41 == 42">def test_{i}():\n&gt;       assert compute() == 42\n'
    "E       AssertionError: assert 41 == 42\n\ntests/pkg{p}/test_module_{m}.py:{line}: AssertionError</failure>"
)


def generate(path: Path, tests: int) -> None:
    rng = random.Random(20261125)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>')
        out.write(
            f'<testsuite name="pytest" errors="0" failures="0" skipped="0" tests="{tests}" time="1234.5"'
            ' timestamp="2026-11-25T10:00:00.000000" hostname="ci-runner-7">\n'
        )
        for i in range(tests):
            m = i // 2000
            p = m % 25
            classname = f"tests.integration.pkg{p}.test_module_{m}.TestBehaviour{i % 7}"
            head = f'<testcase classname="{classname}" name="test_case_{i}[param-{i % 13}-variant]" time="{rng.random() / 50:.3f}"'
            roll = rng.random()
            if roll < 0.001:
                failure = FAILURE.format(i=i, p=p, m=m, line=10 + i % 300)
                out.write(f"{head}>{failure}</testcase>\n")
            elif roll < 0.002:  # pytest-rerunfailures: the failed run, then the passing rerun
                failure = FAILURE.format(i=i, p=p, m=m, line=10 + i % 300)
                out.write(f"{head}>{failure}</testcase>\n{head} />\n")
            elif roll < 0.012:
                out.write(f'{head}><skipped type="pytest.skip" message="needs a GPU">tests/pkg{p}/x.py:3: needs a GPU</skipped></testcase>\n')
            else:
                out.write(f"{head} />\n")
        out.write("</testsuite></testsuites>\n")


def record_once(run: List[str], history: Path) -> None:
    """The steady state's history: the report recorded once (exit code 1: it has failures)."""
    done = subprocess.run(junit_flaky(*run, "--record-history", "--history-db", str(history)), stdout=subprocess.DEVNULL)
    if done.returncode not in (0, 1):
        raise SystemExit(f"benchmark: recording {history} failed ({done.returncode})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testcases", "--tests", dest="tests", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_out_option(parser)
    args = parser.parse_args(argv)
    out, history, known = args.out, args.out / "history.sqlite", args.out / "history-known.sqlite"
    report = cached(out / f"pytest-{args.tests}.xml", lambda path: generate(path, args.tests))
    print(f"report: {report} ({report.stat().st_size / 1e6:.0f} MB, {args.tests} testcases)")
    run = ["run", str(report), "--no-rerun", "--no-flakybot", "--output", str(out / "junit-flaky.xml")]
    knows_all = cached(out / f"history-knows-{args.tests}.sqlite", lambda path: record_once(run, path))
    commands = {
        "lxml parse + write (baseline)": lxml_round_trip(report, out / "lxml.xml"),
        "junit-flaky run --no-rerun": junit_flaky(*run),
        "... --record-history (new history)": junit_flaky(*run, "--record-history", "--history-db", str(history)),
        "... --record-history (knows the tests)": junit_flaky(*run, "--record-history", "--history-db", str(known)),
    }
    def fresh_histories() -> None:  # each recording is one run's, into a new database or a copy
        for path in [*out.glob(history.name + "*"), *out.glob(known.name + "*")]:
            path.unlink()
        shutil.copyfile(knows_all, known)

    rows = alternate(commands, args.repeat, before=fresh_histories, ok_codes=(0, 1))
    print(table(rows, "lxml parse + write (baseline)"))
    print(written(args.out / "junit-flaky.xml"))


if __name__ == "__main__":
    main()
