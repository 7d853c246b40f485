"""Reading reports for the history: every test's attempts, streamed, in bounded memory.

The scan (junit_read) keeps the full attempts of the *tracked* tests only and merely counts the
ones that passed or were skipped once, which is all a verdict needs. The history wants every test,
so the scan hands each untracked testcase on as it reads it (``junit_read.UntrackedSink``, taken
by ``record.RunRecorder``); the tracked tests' attempts come from junit_attempts, which knows
every producer's way of recording reruns.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence, Tuple

from junit_flaky import junit_attempts, junit_read
from junit_flaky.history.store import OUTCOME_CODES, AttemptRow
from junit_flaky.model import Attempt, Outcome, TestId


def attempt_row(test: junit_read.Identity, outcome: Outcome, seconds: float) -> AttemptRow:
    """The row the store records for one attempt. ``seconds`` is at most
    junit_attempts.MAX_SECONDS: its milliseconds fit SQLite's integers."""
    return (*test, OUTCOME_CODES[outcome], round(seconds * 1000))


def attempt_rows(tracked: Iterable[Tuple[TestId, Sequence[Attempt]]]) -> Iterator[AttemptRow]:
    """The rows the store records for the tracked tests: every attempt (the untracked tests' rows
    are staged as the scan reads them: ``record.RunRecorder``)."""
    for test, attempts in tracked:
        for attempt in attempts:
            yield attempt_row(test, attempt.outcome, attempt.time)


def report_key(paths: Sequence[Path], origin: str = "") -> str:
    """What a recorded report is known by, so that it is never recorded twice: a digest of its
    bytes (of each file's, for several), plus where it ran, if known (two builds may write
    byte-identical reports, and both runs count). One file with no origin is keyed as an import
    keys it."""
    digests = []
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digests.append(digest.hexdigest())
    key = "sha256:" + (digests[0] if len(digests) == 1 else hashlib.sha256(" ".join(sorted(digests)).encode()).hexdigest())
    return f"{key}@{origin}" if origin else key


def parse_timestamp(value: str) -> Optional[float]:
    """A <testsuite timestamp> as Unix time; None when it is not ISO 8601.

    Without a zone the time is taken as UTC: most writers mean the machine's local time without
    saying so, and UTC is what CI machines mostly run on.
    """
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"  # datetime.fromisoformat takes "Z" only from Python 3.11 on
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class Reports(junit_attempts.Reading):
    """Reports read for the history: the scan and the tracked tests' attempts."""

    def tracked_attempts(self) -> Iterator[Tuple[TestId, Sequence[Attempt]]]:
        return ((test, entry.attempts) for test, entry in self.tracked.items())

    def started(self) -> Optional[float]:
        """When the run started, by the earliest suite timestamp that parses."""
        times = [
            moment
            for suite in self.scan.suites
            for key, value in suite.attrs
            if key == "timestamp" and (moment := parse_timestamp(value)) is not None
        ]
        return min(times, default=None)


def read_reports(paths: Sequence[Path], on_untracked: Optional[junit_read.UntrackedSink] = None) -> Reports:
    reading = junit_attempts.read(paths, on_untracked=on_untracked)
    return Reports(reading.paths, reading.scan, reading.tracked)
