"""The rerun step's wall time against its floor and against rerunning the whole suite.

    python benchmarks/bench_reruns.py [--testcases N] [--start-seconds S] [--repeat R] [--out DIR]

Generates (under benchmarks/out/rerun-project/) a project whose conftest takes S seconds (default
1) to import (a suite with a slow start), N fast tests (default 600) in modules of 20, 12 of them
flaky, spread evenly over the suite: they fail on every other run (a counter file per test).
Eight must pass once within 3 runs, four twice within 5.
The original run's report (12 failures) is made once; before each timed command the counters are
put back as that run left them, so every repetition does the same work.

Commands, alternated:
- floor: one pytest process that starts and runs each of the 12 affected tests once (node ids);
  any tool that reruns from outside pays at least this;
- junit-flaky run: the whole step (read the report, rerun until decided, write, report);
- whole suite: what "just retry the job" costs.
Goal: junit-flaky <= 1.10x the floor.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from common import add_out_option, alternate, table

TESTS_PER_MODULE, FLAKY_TESTS = 20, 12

CONFTEST = '''
import time

time.sleep({seconds})  # a suite with a slow start: heavy imports, plugins, fixtures
'''

FLAKY_TEST = '''
def test_{t}():
    path = os.path.join(STATE, "m{m}_t{t}")
    runs = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as handle:
        handle.write(str(runs))
    assert runs % 2 == 0, "fails on odd runs"
'''


def flaky_tests(testcases: int) -> list[tuple[int, int]]:
    """(module, test) of the 12 flaky tests, evenly spread over the suite."""
    offset = min(3, testcases // FLAKY_TESTS - 1)  # into each twelfth of the suite
    return [divmod(k * testcases // FLAKY_TESTS + offset, TESTS_PER_MODULE) for k in range(FLAKY_TESTS)]


def generate(project: Path, testcases: int, start_seconds: float) -> list[tuple[int, int]]:
    if testcases < 2 * FLAKY_TESTS:
        raise SystemExit(f"--testcases must be at least {2 * FLAKY_TESTS}")
    state = project / "state"
    flaky = flaky_tests(testcases)
    needs_two = flaky[::3]  # 4 of them need two passes
    if project.exists():
        shutil.rmtree(project)
    tests = project / "tests"
    tests.mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    (tests / "conftest.py").write_text(CONFTEST.format(seconds=start_seconds))
    for m in range(-(-testcases // TESTS_PER_MODULE)):
        body = [f"import os\n\nSTATE = {str(state)!r}\n"]
        for t in range(min(TESTS_PER_MODULE, testcases - m * TESTS_PER_MODULE)):
            if (m, t) in flaky:
                body.append(FLAKY_TEST.format(m=m, t=t))
            else:
                body.append(f"\ndef test_{t}():\n    assert sum(range({t + 10})) >= 0\n")
        (tests / f"test_module_{m}.py").write_text("".join(body))
    thresholds = [
        {"test_name": f"test_{t}", "class_name": f"tests.test_module_{m}",
         "min_passes": 2 if (m, t) in needs_two else 1, "max_runs": 5 if (m, t) in needs_two else 3}
        for m, t in flaky
    ]
    (project / "thresholds.json").write_text(json.dumps({"flaky_tests": thresholds}, indent=1))
    state.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=result.xml"],
        cwd=project, stdout=subprocess.DEVNULL, check=False,
    )
    shutil.copytree(state, project / "state-after-original-run")
    return flaky


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testcases", type=int, default=600)
    parser.add_argument("--start-seconds", type=float, default=1.0, help="how long the suite takes to start")
    parser.add_argument("--repeat", type=int, default=5)
    add_out_option(parser)
    args = parser.parse_args(argv)
    project = args.out / "rerun-project"
    flaky = generate(project, args.testcases, args.start_seconds)
    def restore_state() -> None:  # the counters as the original run left them
        shutil.rmtree(project / "state")
        shutil.copytree(project / "state-after-original-run", project / "state")
    nodeids = [f"tests/test_module_{m}.py::test_{t}" for m, t in flaky]
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    commands = {
        "floor: one pytest run of the 12 tests": [*pytest, *nodeids],
        "junit-flaky run": [
            sys.executable, "-m", "junit_flaky", "run", "result.xml", "--thresholds", "thresholds.json",
            "--no-flakybot", "--output", "final.xml", "--", *pytest,
        ],
        f"whole suite ({args.testcases} tests)": pytest,
    }
    rows = alternate(commands, args.repeat, before=restore_state, cwd=project, ok_codes=(0, 1))
    print(table(rows, "floor: one pytest run of the 12 tests"))
    final = (project / "final.xml").read_text()
    green = 'failures="0"' in final
    print(f"final report: {final.count('<flakyFailure')} flakyFailure elements, no failures: {green}")


if __name__ == "__main__":
    main()
