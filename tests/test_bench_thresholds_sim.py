"""The simulation benchmark's own mechanics, on a population small enough to run in a second:
its numbers are only worth what its rule-playing and bookkeeping are."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_thresholds_sim as sim  # noqa: E402 - the benchmarks folder is not a package


@pytest.mark.parametrize(
    "rule, fail_rate, uniforms, runs",
    [
        ((2, 4), 0.5, [0.9, 0.9, 0.9, 0.9], 2),  # stops at the second pass
        ((2, 4), 0.5, [0.1, 0.1, 0.1, 0.9], 3),  # stops when two passes are out of reach
        ((1, 3), 0.5, [0.1, 0.1, 0.1], 3),  # --reruns 2 on a test that keeps failing
        ((1, 1), 0.5, [0.1, 0.9], 1),
    ],
)
def test_a_rule_is_played_with_early_stopping_as_run_plays_it(rule, fail_rate, uniforms, runs) -> None:
    assert len(sim.play(rule, fail_rate, uniforms)) == runs


def test_seed_lists() -> None:
    assert sim.seed_list("5") == [5]
    assert sim.seed_list("1-3,7") == [1, 2, 3, 7]


@pytest.mark.parametrize("population", ["default", "flaky-heavy"])
def test_a_small_simulation_keeps_its_books(capsys: pytest.CaptureFixture, population: str) -> None:
    sim.main(["--population", population, "--tests", "60", "--flaky", "6" if population == "default" else "45",
              "--regressions", "2", "--flaky-regressions", "2", "--warmup", "30", "--builds", "40", "--seed", "3"])
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in out.splitlines() if line.startswith("| (")}
    assert set(rows) == {"(a) no reruns", "(b) 1 of 3 (--reruns 2)", "(c) thresholds from history"}
    no_reruns, fixed, learned = rows.values()
    assert (no_reruns[4], no_reruns[5]) == (str(60 * 40), "0")  # every test once in every build
    assert int(fixed[1]) <= int(no_reruns[1])  # more chances never turn more builds red
    assert int(learned[4]) == 60 * 40 + int(learned[5])  # runs = first runs + reruns
    for row in rows.values():
        assert 0 <= int(row[3]) <= 4  # caught within 5 builds, of the 4 regressions
    for goal in ("red builds, (b) / (c):", "regressed builds green, (c) - (b):", "runs, (c) / (b):", "caught within 5 builds, (c):"):
        assert goal in out


def test_a_seed_meets_the_goals_only_when_it_meets_all_four() -> None:
    met = sim.SeedResult(5, red_b=518, red_c=24, green_b=8, green_c=5, runs_ratio=1.069, caught_c=19, regressions=20)
    assert met.meets_goals
    assert not sim.SeedResult(7, 259, 29, 6, 5, 1.082, 20, 20).meets_goals  # 8.9x fewer red builds
    assert not sim.SeedResult(1, 500, 20, 4, 5, 1.05, 20, 20).meets_goals  # one more regressed build green
    assert not sim.SeedResult(1, 500, 20, 5, 5, 1.11, 20, 20).meets_goals  # 11% more runs
    assert not sim.SeedResult(1, 500, 20, 5, 5, 1.05, 18, 20).meets_goals  # 90% caught within 5 builds
    table = sim.seeds_table([met, sim.SeedResult(7, 259, 29, 6, 5, 1.082, 20, 20)])
    assert "all goals met on 1 of 2 seeds" in table and "| 7 | 259 / 29 = 8.9x |" in table
