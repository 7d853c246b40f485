"""Recording runs: what ``run``, ``history record`` and ``history import`` write to the store."""

from __future__ import annotations

import contextlib
import sqlite3
from array import array
from dataclasses import replace
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from junit_flaky.ci_env import CIInfo
from junit_flaky.errors import JunitFlakyError
from junit_flaky.history.reports import attempt_row, attempt_rows, read_reports, report_key
from junit_flaky.history.store import (
    HistoryStore, KeyedRow, Recorded, RunInfo, explain, key_of, open_store,
)
from junit_flaky.junit_attempts import parse_time
from junit_flaky.junit_read import Identity
from junit_flaky.model import Attempt, Outcome, TestId

# Told of each untracked testcase with its identity key, so that whoever else wants the key (the
# new tests' lookup) does not hash the identity again.
KeySink = Callable[[Identity, Outcome, bytes], None]


def run_info(ci: CIInfo, when: float) -> RunInfo:
    """The run's facts from the CI: the job is the step's own name where the CI has one."""
    return RunInfo(when, ci.known_commit, ci.branch, ci.label or ci.job_name, ci.build_id)


class RunRecorder:
    """Records one run from the scan of its reports, so that they are read once: ``untracked``
    is the scan's ``on_untracked`` (junit_read.UntrackedSink) and stages each testcase the scan
    only counts, in batches, so a million-test report costs no more memory than a small one;
    ``finish`` adds the tracked tests' attempts (reruns included) and records the run.

    A history that cannot be written must not stop the run: the first error is kept, staging
    stops, and ``finish`` raises it. The database is opened at the first batch; staging takes
    no lock on it (see ``HistoryStore.stage``).
    """

    BATCH = 50_000  # rows staged per executemany: large enough to amortize, small in memory

    def __init__(self, db_path: Path, store: Optional[HistoryStore] = None, keys_to: Optional[KeySink] = None) -> None:
        """``store``: the database at ``db_path`` when the caller has it open already (an
        import records many runs); it stays open, with nothing left staged, after ``close``.
        ``keys_to``: told of each untracked testcase with its identity key."""
        self.db_path = db_path
        self.error: Optional[JunitFlakyError] = None
        self._exit = contextlib.ExitStack()
        self._store = store
        self._callers_store = store is not None
        self._keys_to = keys_to
        self._rows: List[KeyedRow] = []
        # hash() of each staged row's identity, by ordinal - 1: a test the scan tracks after all
        # (a repeat found after its first testcase was staged) is found among these by hash.
        self._hashes = array("q")

    def untracked(self, test: Identity, outcome: Outcome, time: Optional[str]) -> None:
        key = key_of(test)
        if self._keys_to is not None:
            self._keys_to(test, outcome, key)
        if self.error is not None:
            return
        self._hashes.append(hash(test))
        self._rows.append((key, *attempt_row(test, outcome, parse_time(time))))
        if len(self._rows) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.error is not None:
            return
        try:
            if self._store is None:
                self._store = self._exit.enter_context(open_store(self.db_path))
            self._store.stage_keyed(self._rows)
        except sqlite3.Error as exc:
            self._fail(explain(self.db_path, exc))
        except JunitFlakyError as exc:
            self._fail(exc)
        self._rows.clear()

    def _fail(self, error: JunitFlakyError) -> None:
        self.error = error
        self.close()

    def finish(self, tracked: Iterable[Tuple[TestId, Sequence[Attempt]]], run: RunInfo) -> Optional[Recorded]:
        """Record the run: what was staged, less the tests the scan tracked in the end (given
        here with all their attempts), plus those. None if its report key is known already."""
        tracked = list(tracked)
        try:
            self._flush()
            if self.error is not None:
                raise self.error
            assert self._store is not None
            self._store.unstage(self._tracked_ordinals(test for test, _ in tracked))
            return self._store.record(run, attempt_rows(tracked))
        except sqlite3.Error as exc:
            raise explain(self.db_path, exc) from None
        finally:
            self.close()

    def _tracked_ordinals(self, tests: Iterable[TestId]) -> Iterable[Tuple[int, bytes]]:
        """(ordinal, identity key) of each staged row that may be of a tracked test: the
        store takes back only the rows whose key is that test's."""
        keys: Dict[int, List[bytes]] = {}
        for test in tests:  # a TestId is its identity tuple, with the same hash
            keys.setdefault(hash(test), []).append(key_of(test))
        if not keys:
            return
        for index, digest in enumerate(self._hashes):
            for key in keys.get(digest, ()):
                yield index + 1, key

    def close(self) -> None:
        """Leave nothing staged (a store the caller opened records other runs next); a store
        opened here is closed, which drops what it staged at no cost."""
        store, self._store = self._store, None
        try:
            if store is not None and self._callers_store:
                store.discard_staged()
        except sqlite3.Error:
            pass  # a database that failed is closed below, or by the caller that opened it
        finally:
            self._exit.close()


def record_reports(db_path: Path, paths: Sequence[Path], ci: CIInfo, when: float) -> Optional[Recorded]:
    """Record reports as one run, as ``history record`` does; None when the same reports were
    recorded before from the same place (see ``_origin``)."""
    recorder = RunRecorder(db_path)
    try:
        reports = read_reports(paths, recorder.untracked)
        run = run_info(ci, when)
        origin = _origin(ci, run)
        if origin is not None:
            run = replace(run, report_key=report_key(paths, origin))
    except BaseException:
        recorder.close()
        raise
    return recorder.finish(reports.tracked_attempts(), run)


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
