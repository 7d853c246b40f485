"""Simulated builds: thresholds learned from history against no reruns and against --reruns 2.

    python benchmarks/bench_thresholds_sim.py [--seed S] [--regression-factor R]   (about 20 s)
    python benchmarks/bench_thresholds_sim.py --seeds 1-20    (one line a seed; 2-3 min on 4 cores)

A population of tests, most stable, some flaky (failure rates log-uniform in 1%-50%), runs through
simulated builds, one commit each, one an hour. Some commits bring a regression into a test (by
default 15 into stable tests, 5 into flaky ones, drawn at random): half make it fail every run,
half add a 30%-90% failure rate (failure causes combine: 1 - (1 - q)(1 - r)). A regression is fixed in the build after the
one it first turns red. A red build is retried once on the same commit, as people do; the retry
only feeds the history and counts in no column.

Strategies, each in its own world with the same random draws for the same (build, test, run):
- (a) no reruns: every test 1 of 1;
- (b) 1 pass within 3 runs for every test: what pytest-rerunfailures' --reruns 2 gives;
- (c) thresholds from history: the real store, estimator and chooser with their defaults. Its
  history starts with a warm-up of builds under (b) (the reports a team imports when it switches),
  and its thresholds are recomputed once a day (every 24 builds) from the database, as a nightly
  job would.

Columns, over the measured builds (the warm-up excluded):
- red by a correct test: builds in which a test without an active regression failed its rule;
- regressions slipped: regressions whose first build let the regressed test pass;
- runs: every test run, first runs and reruns; reruns: those after a test's first run.
Goal (issue 5): (c) has >= 10x fewer red builds than (b), no more slipped regressions, and at most
10% more runs.
"""

from __future__ import annotations

import argparse
import functools
import math
import multiprocessing
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from junit_flaky.history.learn import Settings, thresholds_from_history
from junit_flaky.history.store import OUTCOME_CODES, HistoryStore, RunInfo, open_store
from junit_flaky.model import Outcome

HOUR = 3600.0
START = 1_700_000_000.0
PASSED, FAILED = OUTCOME_CODES[Outcome.PASSED], OUTCOME_CODES[Outcome.FAILED]
CAP = Settings().max_runs
Rule = Tuple[int, int]  # (min_passes, max_runs)


@dataclass(frozen=True)
class Regression:
    test: int
    build: int
    rate: float


@dataclass(frozen=True)
class Population:
    flake_rates: List[float]  # per test; 0 for a stable test
    regressions: List[Regression]


def population(rng: random.Random, tests: int, flaky: int, regressions: Tuple[int, int], first: int, last: int) -> Population:
    """``regressions``: how many hit stable tests and how many hit flaky ones."""
    rates = [0.0] * tests
    flaky_tests = rng.sample(range(tests), flaky)
    for index in flaky_tests:
        rates[index] = math.exp(rng.uniform(math.log(0.01), math.log(0.5)))
    stable_tests = [t for t in range(tests) if not rates[t]]
    hit = rng.sample(stable_tests, regressions[0]) + rng.sample(flaky_tests, regressions[1])
    rng.shuffle(hit)
    builds = sorted(rng.sample(range(first, last), len(hit)))
    found = [
        Regression(test, build, 1.0 if i % 2 == 0 else rng.uniform(0.3, 0.9))
        for i, (test, build) in enumerate(zip(hit, builds))
    ]
    return Population(rates, found)


def draws(seed: int, kind: str, build: int, test: int) -> List[float]:
    """The uniform draws of one test in one build: the same in every world."""
    generator = random.Random(f"{seed}/{kind}/{build}/{test}")
    return [generator.random() for _ in range(CAP)]


def play(rule: Rule, fail_rate: float, uniforms: Sequence[float]) -> List[int]:
    """Run a test under its rule, stopping as soon as the verdict is known, as `run` does."""
    need, most = rule
    outcomes: List[int] = []
    passes = 0
    for u in uniforms[:most]:
        passed = u >= fail_rate
        passes += passed
        outcomes.append(PASSED if passed else FAILED)
        if passes >= need or passes + most - len(outcomes) < need:
            break
    return outcomes


@dataclass
class World:
    """One strategy's builds and what they cost."""

    name: str
    default: Rule
    store: Optional[HistoryStore] = None
    db_path: Optional[Path] = None
    rules: Dict[int, Rule] = field(default_factory=dict)
    fixed: Dict[Regression, int] = field(default_factory=dict)  # regression -> build it is fixed in
    red_by_correct: int = 0
    slipped: List[Regression] = field(default_factory=list)
    runs: int = 0
    builds: int = 0

    def fail_rates(self, pop: Population, build: int) -> List[float]:
        rates = list(pop.flake_rates)
        for regression in pop.regressions:
            if regression.build <= build < self.fixed.get(regression, 1 << 30):
                rates[regression.test] = 1 - (1 - rates[regression.test]) * (1 - regression.rate)
        return rates

    def run_build(self, seed: int, pop: Population, build: int, kind: str) -> Tuple[List[int], int]:
        """Every test once under its rule: the failing tests and the runs spent."""
        rates = self.fail_rates(pop, build)
        failing, runs, rows = [], 0, []
        for test, rate in enumerate(rates):
            need, most = self.rules.get(test, self.default)
            # A test that cannot fail needs no draws: it passes its min_passes runs.
            outcomes = [PASSED] * need if rate == 0 else play((need, most), rate, draws(seed, kind, build, test))
            runs += len(outcomes)
            if outcomes.count(PASSED) < need:
                failing.append(test)
            rows.extend(("sim", f"test_{test}", "", "", code, 10) for code in outcomes)
        if self.store is not None:
            self.store.record(RunInfo(START + build * HOUR, commit=f"c{build}", branch="main"), rows)
        return failing, runs

    def step(self, seed: int, pop: Population, build: int, measured: bool) -> None:
        failing, runs = self.run_build(seed, pop, build, "build")
        active = {r.test: r for r in pop.regressions if r.build <= build < self.fixed.get(r, 1 << 30)}
        if measured:
            self.builds += 1
            self.runs += runs
            self.red_by_correct += any(test not in active for test in failing)
            self.slipped += [r for r in pop.regressions if r.build == build and r.test not in failing]
        for test in failing:
            if test in active:
                self.fixed[active[test]] = build + 1  # caught: the next commit fixes it
        if failing:
            self.run_build(seed, pop, build, "retry")  # same commit, same code: fixes come later

    def refresh(self, build: int, settings: Settings) -> None:
        assert self.db_path is not None
        entries = thresholds_from_history(self.db_path, settings, now=START + build * HOUR)
        self.rules = {int(e.test_name[5:]): (e.thresholds.min_passes, e.thresholds.max_runs) for e in entries}


def simulate(pop: Population, seed: int, warmup: int, builds: int, settings: Settings, folder: Path) -> List[World]:
    tests = len(pop.flake_rates)
    db_path = folder / "history.sqlite"
    with open_store(db_path) as store:
        worlds = [World("(a) no reruns", (1, 1)), World("(b) 1 of 3 (--reruns 2)", (1, 3)),
                  World("(c) thresholds from history", (1, 1), store, db_path)]
        learner = worlds[2]
        learner.rules = {test: (1, 3) for test in range(tests)}  # the warm-up: the team used --reruns 2
        for build in range(warmup):
            learner.step(seed, pop, build, measured=False)
        for build in range(warmup, warmup + builds):
            if (build - warmup) % 24 == 0:
                learner.refresh(build, settings)
            for world in worlds:
                world.step(seed, pop, build, measured=True)
    return worlds


def report(worlds: List[World], pop: Population, tests: int) -> str:
    base = worlds[1]
    stable = sum(1 for r in pop.regressions if pop.flake_rates[r.test] == 0)
    lines = [
        f"| strategy | builds red by a correct test | regressions slipped (of {len(pop.regressions)}) "
        f"| runs | reruns | runs vs (b) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for w in worlds:
        reruns = w.runs - w.builds * tests
        lines.append(
            f"| {w.name} | {w.red_by_correct} | {len(w.slipped)} | {w.runs} | {reruns} | {w.runs / base.runs:.3f} |"
        )
    learned = worlds[2]
    ratio = base.red_by_correct / max(learned.red_by_correct, 1)
    lines += [
        "",
        f"{len(pop.regressions)} regressions: {stable} in stable tests, {len(pop.regressions) - stable} in flaky ones;"
        f" slipped in flaky ones: (b) {sum(pop.flake_rates[r.test] > 0 for r in base.slipped)},"
        f" (c) {sum(pop.flake_rates[r.test] > 0 for r in learned.slipped)}",
        f"red builds, (b) / (c): {ratio:.1f}x (goal >= 10x)"
        + ("" if learned.red_by_correct else " (c had none; ratio taken against 1)"),
        f"slipped regressions, (c) - (b): {len(learned.slipped) - len(base.slipped)} (goal <= 0)",
        f"runs, (c) / (b): {learned.runs / base.runs:.3f} (goal <= 1.10)",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class SeedResult:
    """What one seed gave: (b) and (c) on the three goals."""

    seed: int
    red_b: int
    red_c: int
    slipped_b: int
    slipped_c: int
    runs_ratio: float

    @property
    def red_ratio(self) -> float:
        return self.red_b / max(self.red_c, 1)

    @property
    def meets_goals(self) -> bool:
        return self.red_ratio >= 10 and self.slipped_c <= self.slipped_b and self.runs_ratio <= 1.10


def measure(args: argparse.Namespace, seed: int) -> Tuple[Population, List[World]]:
    regressions = (args.regressions, args.flaky_regressions)
    pop = population(random.Random(seed), args.tests, args.flaky, regressions, args.warmup, args.warmup + args.builds)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(regression_factor=args.regression_factor)
        return pop, simulate(pop, seed, args.warmup, args.builds, settings, Path(folder))


def seed_result(args: argparse.Namespace, seed: int) -> SeedResult:
    _, (_, base, learned) = measure(args, seed)
    return SeedResult(seed, base.red_by_correct, learned.red_by_correct, len(base.slipped), len(learned.slipped),
                   learned.runs / base.runs)


def seeds_table(results: List[SeedResult]) -> str:
    lines = ["| seed | red (b) / red (c) | slipped (b) -> (c) | runs (c) / (b) | goals |", "|---:|---:|---:|---:|:---|"]
    for o in results:
        lines.append(
            f"| {o.seed} | {o.red_b} / {o.red_c} = {o.red_ratio:.1f}x | {o.slipped_b} -> {o.slipped_c}"
            f" | {o.runs_ratio:.3f} | {'met' if o.meets_goals else 'MISSED'} |"
        )
    ratios = sorted(o.red_ratio for o in results)
    lines += [
        "",
        f"all goals met on {sum(o.meets_goals for o in results)} of {len(results)} seeds;"
        f" red builds (b)/(c): median {ratios[len(ratios) // 2]:.1f}x, lowest {ratios[0]:.1f}x;"
        f" slipped in all: (b) {sum(o.slipped_b for o in results)}, (c) {sum(o.slipped_c for o in results)};"
        f" runs (c)/(b): at most {max(o.runs_ratio for o in results):.3f}",
    ]
    return "\n".join(lines)


def seed_list(text: str) -> List[int]:
    """``5``, ``1-20`` or ``1,4,7``."""
    seeds: List[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds += range(int(first), int(last or first) + 1)
    return seeds


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--seeds", type=seed_list, help="several seeds (1-20, or 1,4,7): one summary line each, in parallel")
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--flaky", type=int, default=50)
    parser.add_argument("--regressions", type=int, default=15, help="regressions in stable tests")
    parser.add_argument("--flaky-regressions", type=int, default=5, help="regressions in flaky tests")
    parser.add_argument("--warmup", type=int, default=300, help="builds of history under (b) before measuring")
    parser.add_argument("--builds", type=int, default=1000, help="measured builds")
    parser.add_argument("--regression-factor", type=float, default=Settings.regression_factor,
                        help="as in thresholds compute (1: no beta target)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    header = (
        f"{args.tests} tests ({args.flaky} flaky), {args.regressions + args.flaky_regressions} regressions,"
        f" {args.warmup} warm-up + {args.builds} measured builds, regression factor {args.regression_factor:g}"
    )
    if args.seeds:
        with multiprocessing.Pool() as pool:
            results = pool.map(functools.partial(seed_result, args), args.seeds)
        print(f"{header}\n\n{seeds_table(results)}")
    else:
        pop, worlds = measure(args, args.seed)
        print(f"{header}, seed {args.seed}\n\n{report(worlds, pop, args.tests)}")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
