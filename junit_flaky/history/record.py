"""Recording runs: what ``run``, ``history record`` and ``history import`` write to the store."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence, Tuple

from junit_flaky.ci_env import CIInfo
from junit_flaky.history.reports import attempt_rows, read_reports
from junit_flaky.history.store import AttemptRow, Recorded, RunInfo, open_store
from junit_flaky.model import Attempt, TestId


def run_info(ci: CIInfo, when: float) -> RunInfo:
    """The run's facts from the CI: the job is the step's own name where the CI has one."""
    return RunInfo(when, ci.commit, ci.branch, ci.label or ci.job_name, ci.build_id)


def record_run(
    db_path: Path,
    tracked: Iterable[Tuple[TestId, Sequence[Attempt]]],
    untracked: Iterable[AttemptRow],
    ci: CIInfo,
    when: float,
) -> Recorded:
    """Record one finished run: every attempt of the tracked tests (reruns included) and the
    untracked tests (``reports.untracked_testcases``). Both are streamed into the database, so a
    million-test report costs no more memory than a small one."""
    return _record(db_path, run_info(ci, when), attempt_rows(tracked, untracked))


def record_reports(db_path: Path, paths: Sequence[Path], ci: CIInfo, when: float) -> Recorded:
    """Record reports as one run, as ``history record`` does."""
    reports = read_reports(paths)
    return _record(db_path, run_info(ci, when), reports.rows())


def _record(db_path: Path, run: RunInfo, rows: Iterable[AttemptRow]) -> Recorded:
    with open_store(db_path) as store:
        recorded = store.record(run, rows)
    assert recorded is not None  # only an import, which has a report key, can be known already
    return recorded
