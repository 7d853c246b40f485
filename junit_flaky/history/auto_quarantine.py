"""Automatic quarantine (``run --auto-quarantine``): which tests the history shows flaky enough to
quarantine, and which quarantined ones have earned their release.

The policy (README, "Managing flaky tests"), over the runs of the last ``window_days`` that were
no mass failure, and for a test released before only over the runs since its release:

- quarantine a test whose flake rate (the estimate ``stats`` shows) is at least ``flake_rate``
  over at least ``min_runs`` runs on commits where it passed; or that failed (no pass in the run)
  on at least ``failed_builds`` commits in its last ``recent_builds`` runs of one branch (each
  branch apart: main's passes between a broken branch's builds are no flakiness), which also show it
  flaky (``shows_flakiness``): a failure and a pass in one build or on one commit, or passes
  after failed builds at least twice; a test that failed all of them, every run since some
  commit, or was broken, fixed and broken again, is broken, not flaky, and stays failing;
- release it once its last ``release_after`` runs since the quarantine began passed without a
  failure, or when it did not run at all in the window (the test is gone or renamed);
- a mass failure (at least ``mass_failure_min`` tests and more than ``mass_failure_share`` of the
  run's tests failing, with no pass in the run) counts for nothing either way.

Decided at the start of a run from the runs recorded before it, so a build sees the same
quarantines from its first test to its last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from junit_flaky.history.estimate import CommitRuns, Prior, evidence, flake_rate
from junit_flaky.history.settings import DAY
from junit_flaky.history.store import HistoryStore, QuarantineRow, RunSummary, open_store
from junit_flaky.model import Quarantine, TestId, Thresholds, test_label
from junit_flaky.thresholds import BUILTIN, Entry, Resolver, ThresholdTable


SWINGS = 2  # passes after a failed build, on other commits, that show a test flaky


@dataclass(frozen=True)
class Policy:
    window_days: float = 30.0
    flake_rate: float = 0.3  # quarantine at this flake rate or above ...
    min_runs: int = 10  # ... over at least this many runs on commits where the test passed
    failed_builds: int = 3  # or: failed in this many ...
    recent_builds: int = 10  # ... of its last this many runs
    release_after: int = 5  # runs in a row without a failure release it
    mass_failure_share: float = 0.2  # a run where more than this share of the tests failed ...
    mass_failure_min: int = 3  # ... and at least this many, is a broken build
    prior: Prior = field(default_factory=Prior)  # the flake rate's, as stats estimates it


@dataclass(frozen=True)
class Changes:
    """What a refresh did, and the automatic quarantines that hold for this run."""

    active: List[QuarantineRow]
    started: List[QuarantineRow]
    released: List[QuarantineRow]


def day(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d")


def why_quarantine(runs: Sequence[RunSummary], policy: Policy) -> Optional[str]:
    """Why the policy quarantines a test with these runs (oldest first), or None."""
    commits: Dict[str, List[int]] = {}
    for run in runs:
        counts = commits.setdefault(run.commit_key, [0, 0])
        counts[0] += run.passes
        counts[1] += run.failures
    proof = evidence(CommitRuns(p + f, p, f) for p, f in commits.values())
    rate = flake_rate(proof, policy.prior)
    if rate is not None and rate >= policy.flake_rate and proof.runs >= policy.min_runs:
        return f"flake rate {rate:.0%} over {proof.runs} runs (policy: {policy.flake_rate:.0%} over at least {policy.min_runs})"
    for branch_runs in by_branch(runs):
        recent = [run for run in branch_runs if run.passes or run.failures][-policy.recent_builds :]
        failed = [run for run in recent if run.failures and not run.passes]
        failed_commits = len({run.commit_key for run in failed})  # CI retrying one bad commit is one failure
        if failed_commits >= policy.failed_builds and shows_flakiness(recent):
            on = "" if failed_commits == len(failed) else f", on {failed_commits} commits"
            branch = f" on branch {recent[0].branch}" if recent[0].branch else ""  # judged apart: say where
            return f"failed {len(failed)} of its last {len(recent)} builds{branch}{on} (policy: {policy.failed_builds} of {policy.recent_builds})"
    return None


def by_branch(runs: Sequence[RunSummary]) -> List[List[RunSummary]]:
    """Each branch's runs apart, in their order: a branch is a line of code of its own, and a pass
    on main between the failed builds of a branch that broke the test is no sign of flakiness."""
    branches: Dict[str, List[RunSummary]] = {}
    for run in runs:
        branches.setdefault(run.branch, []).append(run)
    return list(branches.values())


def shows_flakiness(runs: Sequence[RunSummary]) -> bool:
    """Whether these runs (oldest first) show the test flaky rather than broken: a failure and a
    pass in one build (its reruns) or on one commit, or, across commits, a pass after a failed
    build at least ``SWINGS`` times. One pass between failing builds is what a fix looks like:
    a test broken, fixed and broken again is broken, and stays failing."""
    failed_before, passed_on, failed_on, swings = False, set(), set(), 0
    for run in runs:
        if run.passes and run.failures:
            return True
        if (run.failures and run.commit_key in passed_on) or (run.passes and run.commit_key in failed_on):
            return True
        if run.passes:
            passed_on.add(run.commit_key)
            swings += failed_before
        else:
            failed_on.add(run.commit_key)
        failed_before = bool(run.failures)
    return swings >= SWINGS


def why_release(runs: Sequence[RunSummary], policy: Policy) -> Optional[str]:
    """Why a quarantine with these runs since it began (oldest first) ends, or None."""
    last = [run for run in runs if run.passes or run.failures][-policy.release_after :]
    if len(last) == policy.release_after and not any(run.failures for run in last):
        return f"{policy.release_after} builds in a row without a failure"
    return None


def refresh(
    store: HistoryStore, policy: Policy, now: float, listed_by_hand: Callable[[TestId], bool]
) -> Changes:
    """Start and end quarantines by the policy; ``listed_by_hand`` tests are left to their file."""
    rows = store.quarantines()
    held = {(q.classname, q.name): q for q in rows if q.released is None}
    released_at: Dict[Tuple[str, str], float] = {}
    for q in rows:
        if q.released is not None:
            released_at[(q.classname, q.name)] = max(q.released, released_at.get((q.classname, q.name), 0.0))
    evidence_rows = store.quarantine_evidence(now - policy.window_days * DAY, policy.mass_failure_share, policy.mass_failure_min)
    by_test = {key: list(group) for key, group in groupby(evidence_rows, key=lambda r: (r.classname, r.name))}
    to_start: List[Tuple[str, str, str]] = []
    to_release: List[Tuple[int, str]] = []
    for key, q in held.items():
        runs = [run for run in by_test.get(key, ()) if run.started > q.since]
        why = why_release(runs, policy)
        if why is None and not by_test.get(key) and q.since < now - policy.window_days * DAY:
            why = f"did not run in the last {policy.window_days:g} days"
        if why is not None:
            to_release.append((q.id, why))
    for key, runs in by_test.items():
        if key in held or listed_by_hand(TestId(*key)):
            continue
        after = released_at.get(key)
        why = why_quarantine([run for run in runs if after is None or run.started > after], policy)
        if why is not None:
            to_start.append((*key, why))
    if to_start:
        store.start_quarantines(to_start, now)
    if to_release:
        store.release_quarantines(to_release, now)
    after = store.quarantines() if to_start or to_release else rows
    ended = {quarantine_id for quarantine_id, _ in to_release}
    started = {(classname, name) for classname, name, _ in to_start}
    return Changes(
        active=[q for q in after if q.released is None],
        started=[q for q in after if q.released is None and (q.classname, q.name) in started],
        released=[q for q in after if q.id in ended],
    )


def as_quarantine(row: QuarantineRow) -> Quarantine:
    return Quarantine("auto", row.reason, day(row.since))


def threshold_entries(rows: Sequence[QuarantineRow], source: str) -> List[Entry]:
    """The held quarantines as threshold entries that quarantine their test."""
    return [
        Entry(q.name, q.classname, Thresholds(quarantined=True, source=source, quarantine=as_quarantine(q)))
        for q in rows
    ]


def in_force(store: HistoryStore, quarantine_file: Path) -> Resolver:
    """The quarantines that hold now, the file's over the history's, matched as ``run`` matches
    them (for ``stats``; nothing is started or released)."""
    from junit_flaky import quarantine_file as qf

    manual = qf.threshold_entries(qf.load(quarantine_file), f"quarantine file {quarantine_file}", qf.today())
    automatic = threshold_entries([q for q in store.quarantines() if q.released is None], "history")
    return Resolver(BUILTIN, [], [ThresholdTable(manual), ThresholdTable(automatic)])


def held(db: Path) -> List[Tuple[QuarantineRow, TestId]]:
    """The automatic quarantines held now (``quarantine list`` and ``remove``), without changing
    any; each with its test as its reports named it: with their file, where CODEOWNERS finds its
    owners (a jest test's classname is a describe block, no path)."""
    with open_store(db, create=False) as store:
        rows = [q for q in store.quarantines() if q.released is None]
        files = store.test_files([(q.classname, q.name) for q in rows])
    return [(q, TestId(q.classname, q.name, files.get((q.classname, q.name), ""))) for q in rows]


def label(row: QuarantineRow) -> str:
    return test_label(row.classname, row.name)
