"""`junit-flaky run --no-rerun` on a 1,000,000-testcase report with many long failures against
lxml parse+write of the same file.

    python benchmarks/bench_failing_report.py [--testcases N] [--repeat R] [--out DIR]

Generates (once, cached under benchmarks/out/) a report of 20 <testsuite> elements sharing N
testcases; 2% fail, each failure with a 40-line traceback and a <system-out> of captured output,
as a suite in a bad state reports. Unlike bench_large_report.py (0.1% failing), a fifth of the
file's bytes are in failures, which junit-flaky keeps and writes back. The baseline is what any
tree-based tool pays at least: lxml parses the file and writes it back, nothing else.
Goal: ratio <= 1.0 and peak RSS <= 150 MB.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from common import add_out_option, alternate, cached, junit_flaky, lxml_round_trip, table, written

SUITES = 20
FAILING = 0.02
TRACEBACK_LINES = 40


def traceback(rng: random.Random, module: str, i: int) -> str:
    """A pytest long traceback: source lines, a few frames, the assertion with its values."""
    lines = [f"def test_case_{i}(client, payload):"]
    for n in range(TRACEBACK_LINES - 6):
        if n % 9 == 8:
            lines.append(f"{module.replace('.', '/')}.py:{rng.randrange(10, 900)}: in helper_{n}")
        else:
            lines.append(f"    response = client.post(&quot;/api/v{n % 3}/items&quot;, json=payload)  # step {n}")
    value = rng.randrange(1000)
    lines += [
        "&gt;       assert response.status_code == 200",
        f"E       AssertionError: assert {value} == 200",
        f"E        +  where {value} = &lt;Response [{value}]&gt;.status_code",
        "",
        f"{module.replace('.', '/')}.py:{rng.randrange(10, 900)}: AssertionError",
    ]
    return "\n".join(lines)


def captured_output(rng: random.Random, i: int) -> str:
    return "\n".join(
        f"2026-11-25 10:{rng.randrange(60):02d}:{rng.randrange(60):02d} INFO worker-{i % 8} request {n} "
        f"took {rng.random() * 100:.1f} ms &lt;ok&gt;"
        for n in range(12)
    )


def generate(path: Path, testcases: int) -> None:
    rng = random.Random(20261127)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n')
        per_suite = -(-testcases // SUITES)
        for suite in range(SUITES):
            cases = range(suite * per_suite, min(testcases, (suite + 1) * per_suite))
            out.write(
                f'<testsuite name="suite-{suite}" errors="0" failures="0" skipped="0" tests="{len(cases)}"'
                f' time="{rng.random() * 1000:.1f}" timestamp="2026-11-25T10:00:00" hostname="ci-runner-{suite}">\n'
            )
            for i in cases:
                module = f"tests.suite{suite}.pkg{i % 25}.test_module_{i // 1000}"
                head = f'<testcase classname="{module}.TestApi" name="test_case_{i}[{i % 11}]" time="{rng.random() / 20:.3f}"'
                if rng.random() < FAILING:
                    out.write(
                        f'{head}><failure message="AssertionError: assert status == 200">{traceback(rng, module, i)}'
                        f"</failure><system-out>{captured_output(rng, i)}</system-out></testcase>\n"
                    )
                else:
                    out.write(f"{head} />\n")
            out.write("</testsuite>\n")
        out.write("</testsuites>\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testcases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_out_option(parser)
    args = parser.parse_args(argv)
    report = cached(args.out / f"failing-{args.testcases}.xml", lambda path: generate(path, args.testcases))
    print(f"report: {report} ({report.stat().st_size / 1e6:.0f} MB, {args.testcases} testcases, {SUITES} suites)")
    commands = {
        "lxml parse + write (baseline)": lxml_round_trip(report, args.out / "lxml.xml"),
        "junit-flaky run --no-rerun": junit_flaky(
            "run", str(report), "--no-rerun", "--no-flakybot", "--output", str(args.out / "junit-flaky.xml"),
        ),
    }
    rows = alternate(commands, args.repeat, ok_codes=(0, 1))
    print(table(rows, "lxml parse + write (baseline)"))
    print(written(args.out / "junit-flaky.xml"))


if __name__ == "__main__":
    main()
