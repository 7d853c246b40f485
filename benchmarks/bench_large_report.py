"""`junit-flaky run --no-rerun` on a 1,000,000-testcase pytest report against lxml parse+write,
and the same run recording every attempt in the history (--record-history).

    python benchmarks/bench_large_report.py [--testcases N] [--repeat R] [--out DIR]

Generates (once, cached under benchmarks/out/) a pytest-style report: one <testsuite>, a million
testcases across 500 modules, 0.1% failing, 0.1% rerun by pytest-rerunfailures (the same testcase
again), 1% skipped. The baseline is what any tree-based tool pays at least: lxml parses the file
and writes it back, nothing else. Goals: ratio <= 1.0 and peak RSS <= 150 MB for the run, ratio
<= 1.5 for the run that records the history. The history is recorded into a new database each
time: the cost of one run's recording.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testcases", "--tests", dest="tests", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_out_option(parser)
    args = parser.parse_args(argv)
    out, history = args.out, args.out / "history.sqlite"
    report = cached(out / f"pytest-{args.tests}.xml", lambda path: generate(path, args.tests))
    print(f"report: {report} ({report.stat().st_size / 1e6:.0f} MB, {args.tests} testcases)")
    run = ["run", str(report), "--no-rerun", "--no-flakybot", "--output", str(out / "junit-flaky.xml")]
    commands = {
        "lxml parse + write (baseline)": lxml_round_trip(report, out / "lxml.xml"),
        "junit-flaky run --no-rerun": junit_flaky(*run),
        "junit-flaky run --no-rerun --record-history": junit_flaky(*run, "--record-history", "--history-db", str(history)),
    }
    def new_history() -> None:  # each recording is one run's, into a new database
        for path in out.glob(history.name + "*"):
            path.unlink()

    rows = alternate(commands, args.repeat, before=new_history, ok_codes=(0, 1))
    print(table(rows, "lxml parse + write (baseline)"))
    print(written(args.out / "junit-flaky.xml"))


if __name__ == "__main__":
    main()
