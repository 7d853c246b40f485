"""Simulated builds: thresholds learned from history against no reruns and against --reruns 2.

    python benchmarks/bench_thresholds_sim.py [--population default|flaky-heavy] [--seed S]
    python benchmarks/bench_thresholds_sim.py --seeds 1-20    (one line a seed, in parallel)

A population of tests runs through simulated builds, one commit each, one an hour. ``default``:
1000 tests, 50 of them flaky; ``flaky-heavy``: 100 tests, 80 of them flaky. Flaky failure rates
are log-uniform in 1%-50%. Some commits, at random builds, bring a regression into a test (default:
15 into stable tests and 5 into flaky ones; flaky-heavy: 4 and 16): its pass rate falls 10-fold,
its failure rate f becomes 1 - (1 - f) / 10 (choose.regressed_rate: a stable test then fails 90%
of its runs, one that failed 50% fails 95%). A red build is retried once on the same commit, as
people do, and a test that passes the retry is taken for flaky: a regression is caught when its
test fails the build and the retry (with --red-catches: when it fails the build), or when the
history flags it in either; it is fixed in the next build. Retries count in no column but the
catches; in (c) they are recorded, as run --record-history records every run.

Strategies, each in its own world with the same random draws for the same (build, test, run):
- (a) no reruns: every test 1 of 1;
- (b) 1 pass within 3 runs for every test: what pytest-rerunfailures' --reruns 2 gives;
- (c) thresholds from history with --fail-on-flake-regression: the real store, estimator, chooser
  and regression check with their defaults. Its history starts with a warm-up of builds under (b)
  (the reports a team imports when it switches); its thresholds and flake rates are recomputed
  once a day (every 24 builds) from the database, as a nightly job would, and every build is
  recorded and then checked for flake-rate regressions (regression.find), as run does.

Columns, over the measured builds (the warm-up excluded):
- red by a correct test: builds in which a test without an active regression failed its rule or
  was flagged;
- regressed builds green: (regression, build) pairs in which an active regression went uncaught;
- caught within 5 builds: regressions caught by their fifth build (red or flagged);
- runs: every test run, first runs and reruns; reruns: those after a test's first run.
Goals: (c) has >= 10x fewer red builds than (b), no more regressed builds green, at most 10% more
runs, and catches >= 95% of the regressions within 5 builds.
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
from typing import Dict, List, Optional, Sequence, Set, Tuple

from junit_flaky.history import regression
from junit_flaky.history.choose import regressed_rate
from junit_flaky.history.learn import Settings, compute
from junit_flaky.history.store import OUTCOME_CODES, HistoryStore, RunInfo, open_store
from junit_flaky.model import Outcome

HOUR = 3600.0
START = 1_700_000_000.0
PASSED, FAILED = OUTCOME_CODES[Outcome.PASSED], OUTCOME_CODES[Outcome.FAILED]
CAP = Settings().max_runs
REGRESSION = 10.0  # a regression divides the test's pass rate by this
CAUGHT_WITHIN = 5  # builds
Rule = Tuple[int, int]  # (min_passes, max_runs)
# tests, flaky tests, regressions into stable tests, into flaky ones
POPULATIONS = {"default": (1000, 50, 15, 5), "flaky-heavy": (100, 80, 4, 16)}


@dataclass(frozen=True)
class Regression:
    test: int
    build: int


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
    return Population(rates, [Regression(test, build) for test, build in zip(hit, builds)])


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
    settings: Settings = field(default_factory=Settings)
    rules: Dict[int, Rule] = field(default_factory=dict)
    rates: Dict[regression.TestKey, float] = field(default_factory=dict)  # what the regression check compares with
    fixed: Dict[Regression, int] = field(default_factory=dict)  # regression -> build it is fixed in
    delays: Dict[Regression, int] = field(default_factory=dict)  # regression -> builds until caught, its first is 1
    flagged: Set[Regression] = field(default_factory=set)  # caught by the history's check
    red_catches: bool = False  # a red build catches a regression even if its retry passes
    red_by_correct: int = 0
    regressed_green: int = 0
    runs: int = 0
    builds: int = 0

    def active(self, pop: Population, build: int) -> Dict[int, Regression]:
        return {r.test: r for r in pop.regressions if r.build <= build < self.fixed.get(r, 1 << 30)}

    def run_build(self, seed: int, pop: Population, build: int, kind: str) -> Tuple[List[int], int, Optional[int]]:
        """Every test once under its rule: the failing tests, the runs spent and the run recorded."""
        rates = list(pop.flake_rates)
        for test in self.active(pop, build):
            rates[test] = regressed_rate(rates[test], REGRESSION)
        failing, runs, rows = [], 0, []
        for test, rate in enumerate(rates):
            need, most = self.rules.get(test, self.default)
            # A test that cannot fail needs no draws: it passes its min_passes runs.
            outcomes = [PASSED] * need if rate == 0 else play((need, most), rate, draws(seed, kind, build, test))
            runs += len(outcomes)
            if outcomes.count(PASSED) < need:
                failing.append(test)
            rows.extend(("sim", f"test_{test}", "", "", code, 10) for code in outcomes)
        run_id = None
        if self.store is not None:
            recorded = self.store.record(RunInfo(START + build * HOUR, commit=f"c{build}", branch="main"), rows)
            run_id = recorded.run_id if recorded else None
        return failing, runs, run_id

    def check(self, build: int, run_id: Optional[int]) -> Set[int]:
        """The tests the history flags in this build's run (--fail-on-flake-regression)."""
        if self.store is None or not self.rates:
            return set()
        found = regression.find(self.store, self.rates, self.settings, START + build * HOUR)
        return {int(r.name[5:]) for r in found if r.alarm.run_id == run_id}

    def step(self, seed: int, pop: Population, build: int, measured: bool) -> None:
        active = self.active(pop, build)
        failing, runs, run_id = self.run_build(seed, pop, build, "build")
        flagged = self.check(build, run_id) if measured else set()
        red = set(failing) | flagged
        failed_twice: Set[int] = set()
        if red:  # retried on the same commit: a test that fails again is looked at, else it was flaky
            failing_again, _, retry_id = self.run_build(seed, pop, build, "retry")
            flagged |= self.check(build, retry_id) if measured else set()
            failed_twice = set(failing) if self.red_catches else set(failing) & set(failing_again)
        caught = failed_twice | flagged
        if measured:
            self.builds += 1
            self.runs += runs
            self.red_by_correct += any(test not in active for test in red)
            self.regressed_green += sum(test not in caught for test in active)
        for test, found in active.items():
            if test in caught:
                self.fixed[found] = build + 1  # the next commit fixes it
                self.delays[found] = build - found.build + 1
                if test not in failed_twice:
                    self.flagged.add(found)

    def refresh(self, build: int) -> None:
        assert self.db_path is not None
        computed = compute(self.db_path, self.settings, now=START + build * HOUR)
        self.rules = {int(c.history.name[5:]): (c.choice.min_passes, c.choice.max_runs) for c in computed}
        self.rates = {(c.history.classname, c.history.name): c.history.flake_rate for c in computed}

    def caught_within(self, regressions: Sequence[Regression]) -> int:
        return sum(1 for r in regressions if self.delays.get(r, 1 << 30) <= CAUGHT_WITHIN)


def simulate(
    pop: Population, seed: int, warmup: int, builds: int, settings: Settings, folder: Path, red_catches: bool = False
) -> List[World]:
    tests = len(pop.flake_rates)
    db_path = folder / "history.sqlite"
    with open_store(db_path) as store:
        worlds = [World("(a) no reruns", (1, 1)), World("(b) 1 of 3 (--reruns 2)", (1, 3)),
                  World("(c) thresholds from history", (1, 1), store, db_path, settings)]
        learner = worlds[2]
        for world in worlds:
            world.red_catches = red_catches
        learner.rules = {test: (1, 3) for test in range(tests)}  # the warm-up: the team used --reruns 2
        for build in range(warmup):
            learner.step(seed, pop, build, measured=False)
        for build in range(warmup, warmup + builds):
            if (build - warmup) % 24 == 0:
                learner.refresh(build)
            for world in worlds:
                world.step(seed, pop, build, measured=True)
    return worlds


def report(worlds: List[World], pop: Population, tests: int) -> str:
    base, learned = worlds[1], worlds[2]
    stable = sum(1 for r in pop.regressions if pop.flake_rates[r.test] == 0)
    count = len(pop.regressions)
    lines = [
        f"| strategy | builds red by a correct test | regressed builds green | caught within {CAUGHT_WITHIN} builds (of {count})"
        " | runs | reruns | runs vs (b) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for w in worlds:
        reruns = w.runs - w.builds * tests
        lines.append(
            f"| {w.name} | {w.red_by_correct} | {w.regressed_green} | {w.caught_within(pop.regressions)} | {w.runs}"
            f" | {reruns} | {w.runs / base.runs:.3f} |"
        )
    ratio = base.red_by_correct / max(learned.red_by_correct, 1)
    in_flaky = [r for r in pop.regressions if pop.flake_rates[r.test] > 0]
    lines += [
        "",
        f"{count} regressions: {stable} in stable tests, {count - stable} in flaky ones;"
        f" (c) caught {len(learned.flagged)} of them by the history's flag;"
        f" caught within {CAUGHT_WITHIN} builds in flaky ones: (b) {base.caught_within(in_flaky)},"
        f" (c) {learned.caught_within(in_flaky)} of {len(in_flaky)}",
        f"red builds, (b) / (c): {ratio:.1f}x (goal >= 10x)"
        + ("" if learned.red_by_correct else " (c had none; ratio taken against 1)"),
        f"regressed builds green, (c) - (b): {learned.regressed_green - base.regressed_green} (goal <= 0)",
        f"runs, (c) / (b): {learned.runs / base.runs:.3f} (goal <= 1.10)",
        f"caught within {CAUGHT_WITHIN} builds, (c): {learned.caught_within(pop.regressions) / max(count, 1):.0%} (goal >= 95%)",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class SeedResult:
    """What one seed gave: (b) and (c) on the four goals."""

    seed: int
    red_b: int
    red_c: int
    green_b: int
    green_c: int
    runs_ratio: float
    caught_c: int  # within CAUGHT_WITHIN builds
    regressions: int

    @property
    def red_ratio(self) -> float:
        return self.red_b / max(self.red_c, 1)

    @property
    def meets_goals(self) -> bool:
        return (
            self.red_ratio >= 10 and self.green_c <= self.green_b and self.runs_ratio <= 1.10
            and self.caught_c >= 0.95 * self.regressions
        )


def measure(args: argparse.Namespace, seed: int) -> Tuple[Population, List[World]]:
    regressions = (args.regressions, args.flaky_regressions)
    pop = population(random.Random(seed), args.tests, args.flaky, regressions, args.warmup, args.warmup + args.builds)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(alpha=args.alpha, beta=args.beta, regression_factor=args.regression_factor,
                            false_alarms=args.false_alarms)
        return pop, simulate(pop, seed, args.warmup, args.builds, settings, Path(folder), args.red_catches)


def seed_result(args: argparse.Namespace, seed: int) -> SeedResult:
    pop, (_, base, learned) = measure(args, seed)
    return SeedResult(seed, base.red_by_correct, learned.red_by_correct, base.regressed_green, learned.regressed_green,
                      learned.runs / base.runs, learned.caught_within(pop.regressions), len(pop.regressions))


def seeds_table(results: List[SeedResult]) -> str:
    lines = [
        f"| seed | red (b) / red (c) | regressed builds green (b) -> (c) | runs (c) / (b) | caught within {CAUGHT_WITHIN} (c) | goals |",
        "|---:|---:|---:|---:|---:|:---|",
    ]
    for o in results:
        lines.append(
            f"| {o.seed} | {o.red_b} / {o.red_c} = {o.red_ratio:.1f}x | {o.green_b} -> {o.green_c}"
            f" | {o.runs_ratio:.3f} | {o.caught_c} of {o.regressions} | {'met' if o.meets_goals else 'MISSED'} |"
        )
    ratios = sorted(o.red_ratio for o in results)
    lines += [
        "",
        f"all goals met on {sum(o.meets_goals for o in results)} of {len(results)} seeds;"
        f" red builds (b)/(c): median {ratios[len(ratios) // 2]:.1f}x, lowest {ratios[0]:.1f}x;"
        f" regressed builds green in all: (b) {sum(o.green_b for o in results)}, (c) {sum(o.green_c for o in results)};"
        f" runs (c)/(b): at most {max(o.runs_ratio for o in results):.3f};"
        f" caught within {CAUGHT_WITHIN} builds: {sum(o.caught_c for o in results)} of {sum(o.regressions for o in results)}",
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
    parser.add_argument("--population", choices=sorted(POPULATIONS), default="default",
                        help="the defaults of the next four options: " + "; ".join(
                            f"{name}: {t} tests, {f} flaky, {s} + {r} regressions" for name, (t, f, s, r) in POPULATIONS.items()))
    parser.add_argument("--tests", type=int)
    parser.add_argument("--flaky", type=int)
    parser.add_argument("--regressions", type=int, help="regressions in stable tests")
    parser.add_argument("--flaky-regressions", type=int, help="regressions in flaky tests")
    parser.add_argument("--warmup", type=int, default=300, help="builds of history under (b) before measuring")
    parser.add_argument("--builds", type=int, default=1000, help="measured builds")
    parser.add_argument("--regression-factor", type=float, default=Settings.regression_factor,
                        help="as in thresholds compute: the regression the rules and the check look for")
    parser.add_argument("--red-catches", action="store_true",
                        help="a red build catches a regression even when its retry passes (default: only a second red does)")
    parser.add_argument("--alpha", type=float, default=Settings.alpha, help="as in thresholds compute")
    parser.add_argument("--false-alarms", type=float, default=Settings.false_alarms,
                        help="the regression check's false alarms per build (Settings.false_alarms)")
    parser.add_argument("--beta", type=float, default=Settings.beta, help="as in thresholds compute (1: no target)")
    args = parser.parse_args(argv)
    for name, value in zip(("tests", "flaky", "regressions", "flaky_regressions"), POPULATIONS[args.population]):
        if getattr(args, name) is None:
            setattr(args, name, value)
    started = time.perf_counter()
    header = (
        f"{args.population} population: {args.tests} tests ({args.flaky} flaky),"
        f" {args.regressions + args.flaky_regressions} regressions,"
        f" {args.warmup} warm-up + {args.builds} measured builds,"
        f" alpha {args.alpha:g}, beta {args.beta:g}, regression factor {args.regression_factor:g},"
        f" false alarms {args.false_alarms:g}"
        + (", a red build catches a regression" if args.red_catches else "")
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
