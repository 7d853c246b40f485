"""The rerun step's wall time against its floor and against rerunning the whole suite.

    python benchmarks/bench_reruns.py [--repeat R]

Generates (under benchmarks/out/rerun-project/) a project whose conftest takes 1 s to import
(a suite with a slow start), 400 fast tests in 20 modules, 12 of them flaky: they fail on every
other run (a counter file per test). Eight must pass once within 3 runs, four twice within 5.
The original run's report (12 failures) is made once; before each timed command the counters are
put back as that run left them, so every repetition does the same work.

Commands, alternated:
- floor: one pytest process that starts and runs each of the 12 affected tests once (node ids);
  any tool that reruns from outside pays at least this;
- junit-flaky run: the whole step (read the report, rerun until decided, write, report);
- whole suite: what "just retry the job" costs.
Goal (issue 3): junit-flaky <= 1.15x the floor.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from common import alternate, table

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "out" / "rerun-project"
STATE = PROJECT / "state"
SNAPSHOT = PROJECT / "state-after-original-run"
MODULES, TESTS_PER_MODULE = 20, 20
FLAKY = [(m, t) for m in range(0, 20, 5) for t in (3, 9, 15)]  # 12 tests in 4 modules
NEEDS_TWO = FLAKY[::3]  # 4 of them need two passes

CONFTEST = '''
import time

time.sleep(1.0)  # a suite with a slow start: heavy imports, plugins, fixtures
'''

FLAKY_TEST = '''
def test_{t}():
    path = os.path.join(STATE, "m{m}_t{t}")
    runs = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as handle:
        handle.write(str(runs))
    assert runs % 2 == 0, "fails on odd runs"
'''


def generate() -> None:
    if PROJECT.exists():
        shutil.rmtree(PROJECT)
    tests = PROJECT / "tests"
    tests.mkdir(parents=True)
    (PROJECT / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    (tests / "conftest.py").write_text(CONFTEST)
    for m in range(MODULES):
        body = [f"import os\n\nSTATE = {str(STATE)!r}\n"]
        for t in range(TESTS_PER_MODULE):
            if (m, t) in FLAKY:
                body.append(FLAKY_TEST.format(m=m, t=t))
            else:
                body.append(f"\ndef test_{t}():\n    assert sum(range({t + 10})) >= 0\n")
        (tests / f"test_module_{m}.py").write_text("".join(body))
    thresholds = [
        {"test_name": f"test_{t}", "class_name": f"tests.test_module_{m}",
         "min_passes": 2 if (m, t) in NEEDS_TWO else 1, "max_runs": 5 if (m, t) in NEEDS_TWO else 3}
        for m, t in FLAKY
    ]
    (PROJECT / "thresholds.json").write_text(json.dumps({"flaky_tests": thresholds}, indent=1))
    STATE.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=result.xml"],
        cwd=PROJECT, stdout=subprocess.DEVNULL, check=False,
    )
    shutil.copytree(STATE, SNAPSHOT)


def restore_state() -> None:
    shutil.rmtree(STATE)
    shutil.copytree(SNAPSHOT, STATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    generate()
    nodeids = [f"tests/test_module_{m}.py::test_{t}" for m, t in FLAKY]
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    commands = {
        "floor: one pytest run of the 12 tests": [*pytest, *nodeids],
        "junit-flaky run": [
            sys.executable, "-m", "junit_flaky", "run", "result.xml", "--thresholds", "thresholds.json",
            "--no-flakybot", "--output", "final.xml", "--", *pytest,
        ],
        "whole suite (400 tests)": pytest,
    }
    rows = alternate(commands, args.repeat, before=restore_state, cwd=PROJECT, ok_codes=(0, 1))
    print(table(rows, "floor: one pytest run of the 12 tests"))
    final = (PROJECT / "final.xml").read_text()
    green = 'failures="0"' in final
    print(f"final report: {final.count('<flakyFailure')} flakyFailure elements, no failures: {green}")


if __name__ == "__main__":
    main()
