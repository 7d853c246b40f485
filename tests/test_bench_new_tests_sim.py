"""The new-test simulation's own books, on a run small enough to take a second: its numbers are
only worth what its bookkeeping is."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_new_tests_sim as sim  # noqa: E402 - the benchmarks folder is not a package


def test_a_small_simulation_keeps_its_books(capsys: pytest.CaptureFixture) -> None:
    sim.main(["--builds", "12", "--runs", "1,3", "--known", "5", "--flaky-share", "0.5", "--seed", "3"])
    rows = [line.strip("|").split("|") for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    by_runs = {int(row[0]): [cell.strip().strip("*") for cell in row] for row in rows}
    assert set(by_runs) == {1, 3}
    for runs, row in by_runs.items():
        flaky, stable, most, mean, red = int(row[1]), int(row[5]), int(row[6]), float(row[7]), int(row[8])
        assert flaky + stable == 12 * 4  # every new test of every build, once
        assert most == runs and mean == runs  # the budget never binds at these durations
        assert red == 0  # a stable new test never fails a build
    # One run catches a flaky test only by its first run failing; three catch at least as many.
    assert float(by_runs[3][2].rstrip("%")) >= float(by_runs[1][2].rstrip("%"))


def test_a_flaky_new_test_whose_first_run_failed_is_caught_whatever_its_reruns(capsys: pytest.CaptureFixture) -> None:
    # With N = 1 only a failed first run can catch a flaky new test; its usual reruns (--max-runs
    # 3) may pass, which makes it flaky on arrival: the build fails as with no rerun at all.
    caught = {}
    for max_runs in ("1", "3"):
        sim.main(["--builds", "12", "--runs", "1", "--known", "5", "--flaky-share", "1", "--seed", "3", "--max-runs", max_runs])
        [row] = [line.split("|") for line in capsys.readouterr().out.splitlines() if line.startswith("| 1 |")]
        caught[max_runs] = row[3].strip()
    assert caught["3"] == caught["1"] != "**0.0%**"
