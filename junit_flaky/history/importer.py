"""``history import``: bootstrap the history from a folder of past JUnit reports (e.g. artifacts).

Each report file is one run. A bare file says nothing of its commit, so only the reruns inside it
(pytest-rerunfailures' repeated testcases, Surefire's flakyFailure) count as flaky evidence; the
run's time is its earliest suite timestamp, else the file's modification time. Files are known by
their content, so importing the same folder again adds only the new reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from junit_flaky.errors import JunitFlakyError
from junit_flaky.history.record import RunRecorder
from junit_flaky.history.reports import read_reports, report_key
from junit_flaky.history.store import RunInfo, open_store


@dataclass
class Imported:
    recorded: int = 0
    already_known: int = 0
    not_junit: List[str] = field(default_factory=list)  # one line per file left out, saying why


def import_folder(db_path: Path, folder: Path) -> Imported:
    if not folder.is_dir():
        raise JunitFlakyError(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*.xml") if p.is_file())
    if not files:
        raise JunitFlakyError(f"{folder}: no *.xml file in this folder or below")
    result = Imported()
    with open_store(db_path) as store:
        for path in files:
            try:
                key = report_key([path])
                if store.has_report(key):
                    result.already_known += 1
                    continue
                recorder = RunRecorder(db_path, store)
                try:
                    reports = read_reports([path], recorder.untracked)
                except BaseException:
                    recorder.close()  # nothing of this file stays staged for the next
                    raise
            except OSError as exc:
                result.not_junit.append(f"{path}: cannot read: {exc.strerror}")
                continue
            except JunitFlakyError as exc:  # artifacts hold other XML too (coverage, lint)
                result.not_junit.append(str(exc))
                continue
            when = reports.started() or path.stat().st_mtime
            if recorder.finish(reports.tracked_attempts(), RunInfo(when, report_key=key)) is None:
                result.already_known += 1  # another import recorded it meanwhile
            else:
                result.recorded += 1
    return result
