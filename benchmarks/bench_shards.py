"""`junit-flaky run --no-rerun` merging two shards that report the same tests, against merging two
shards of different tests.

    python benchmarks/bench_shards.py [--testcases N] [--repeat R] [--out DIR] [--blank-passes]

Generates (once, cached under benchmarks/out/) two pairs of shard reports of N testcases each
(default 100,000), 1% failing, built alike so that both pairs hold the same number of bytes:
- same tests: both shards report the same N tests (a job run twice, or shards that overlap), so
  every test is found twice and its two results are merged into one test with two runs;
- different tests (the baseline): the shards report 2N different tests, each found once.
Both are given to one `run` (two report arguments). Goal: ratio <= 2.0. A pass is a self-closing
testcase, as pytest writes it; with --blank-passes it holds a line end (`<testcase ...>` `</testcase>`),
as jest-junit, Playwright, vitest and gotestsum write it.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import List

from common import add_out_option, alternate, cached, junit_flaky, table, written

FAILING = 0.01
FAILURE = (
    '<failure message="AssertionError: assert 0 == 1">def test_case_{i:09d}():\n&gt;       assert flag() == 1\n'
    "E       AssertionError: assert 0 == 1\n\n{path}:{line}: AssertionError</failure>"
)


def generate(path: Path, testcases: int, first: int, seed: int, passed: str = " />") -> None:
    """Tests ``first`` .. ``first + testcases - 1``; the seed decides which fail in this shard;
    ``passed`` ends the testcase of a pass. Test numbers are zero-padded so that every pair of
    shards has the same size in bytes."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>')
        out.write(f'<testsuite name="pytest" errors="0" failures="0" skipped="0" tests="{testcases}" time="321.0">\n')
        for i in range(first, first + testcases):
            module = f"tests/pkg{i % 40}/test_module_{i // 500:06d}.py"
            head = (
                f'<testcase classname="{module[:-3].replace("/", ".")}" name="test_case_{i:09d}"'
                f' time="{rng.random() / 50:.3f}"'
            )
            if rng.random() < FAILING:
                out.write(f"{head}>{FAILURE.format(i=i, path=module, line=rng.randrange(100, 1000))}</testcase>\n")
            else:
                out.write(f"{head}{passed}\n")
        out.write("</testsuite></testsuites>\n")


def shards(out: Path, testcases: int, same: bool, blank_passes: bool) -> List[Path]:
    kind = ("same" if same else "different") + ("-blank" if blank_passes else "")
    passed = ">\n</testcase>" if blank_passes else " />"
    return [
        cached(
            out / f"shard-{kind}-{testcases}-{shard}.xml",
            lambda path, shard=shard: generate(path, testcases, 0 if same else shard * testcases, 20261127 + shard, passed),
        )
        for shard in (0, 1)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testcases", type=int, default=100_000, help="testcases in each shard")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--blank-passes", action="store_true", help="passes as <testcase ...></testcase> holding a line end")
    add_out_option(parser)
    args = parser.parse_args(argv)
    same, different = (shards(args.out, args.testcases, same, args.blank_passes) for same in (True, False))
    sizes = [sum(path.stat().st_size for path in pair) / 1e6 for pair in (same, different)]
    print(f"shards: {args.testcases} testcases each; same tests {sizes[0]:.1f} MB, different tests {sizes[1]:.1f} MB")
    def merge(pair: List[Path], output: str) -> List[str]:
        return junit_flaky("run", *map(str, pair), "--no-rerun", "--no-flakybot", "--output", str(args.out / output))
    commands = {
        "run: two shards, different tests (baseline)": merge(different, "merged-different.xml"),
        "run: two shards, same tests": merge(same, "merged-same.xml"),
    }
    rows = alternate(commands, args.repeat, ok_codes=(0, 1))
    print(table(rows, "run: two shards, different tests (baseline)"))
    print(written(args.out / "merged-different.xml"))
    print(written(args.out / "merged-same.xml"))


if __name__ == "__main__":
    main()
