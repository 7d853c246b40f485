"""Recording runs: what ``run``, ``history record`` and ``history import`` write to the store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple

from junit_flaky.ci_env import CIInfo
from junit_flaky.history.reports import attempt_rows, read_reports, report_key
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
    with open_store(db_path) as store:
        recorded = store.record(run_info(ci, when), attempt_rows(tracked, untracked))
    assert recorded is not None  # only a run with a report key can be known already
    return recorded


def record_reports(db_path: Path, paths: Sequence[Path], ci: CIInfo, when: float) -> Optional[Recorded]:
    """Record reports as one run, as ``history record`` does; None when the same reports were
    recorded before from the same place (see ``_origin``)."""
    reports = read_reports(paths)
    run = run_info(ci, when)
    origin = _origin(ci, run)
    if origin is not None:
        run = replace(run, report_key=report_key(paths, origin))
    with open_store(db_path) as store:
        return store.record(run, reports.rows())


def _origin(ci: CIInfo, run: RunInfo) -> Optional[str]:
    """Where the reports ran, as far as the CI says: the same reports from the same place are one
    run. Outside CI with nothing given that is the reports alone, which is also how an import
    knows a file. A CI that says nothing of its builds gets None: no key, every record counts,
    rather than two builds' byte-identical reports being taken for one."""
    parts = {
        "build": run.build_id, "job": ci.job_id, "attempt": str(ci.retry_count or ""),
        "commit": run.commit, "label": run.job,
    }
    origin = ";".join(f"{name}={value}" for name, value in parts.items() if value)
    return None if not origin and ci.is_ci else origin
