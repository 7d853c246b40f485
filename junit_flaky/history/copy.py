"""``history copy``: move a history between stores (a SQLite file, a PostgreSQL database), either way.

Each run of the source is recorded in the target with its facts (time, commit, branch, job, build,
report key) and its attempts in the order they ran, unless the target has a run with the very same
facts already: copying again, or back, adds nothing. Runs are copied one transaction at a time, so
a copy that stops half way is finished by running it again. The automatic quarantines
(``run --auto-quarantine``) follow, held and released, each unless the target has it (the same
test, since the same moment) or holds another of that test.
"""

from __future__ import annotations

from dataclasses import dataclass

from junit_flaky.errors import JunitFlakyError
from junit_flaky.history.location import Location
from junit_flaky.history.store import HistoryStore, open_store


@dataclass(frozen=True)
class Copied:
    runs: int  # runs added to the target
    attempts: int
    already_there: int  # runs the target had
    quarantines: int = 0  # automatic quarantines added to the target


def copy_history(source: Location, target: Location) -> Copied:
    if source == target:
        raise JunitFlakyError(f"{source}: --from and --to are the same history")
    runs = attempts = known = 0
    with open_store(source, create=False) as reading, open_store(target) as writing:
        there = {run for _, run in writing.runs()}
        for run_id, run in reading.runs():
            if run in there:
                known += 1
                continue
            recorded = writing.record(run, reading.run_attempts(run_id))
            if recorded is None:  # its report key arrived meanwhile, from a build recording it
                known += 1
            else:
                runs, attempts = runs + 1, attempts + recorded.attempts
        quarantines = _copy_quarantines(reading, writing)
    return Copied(runs, attempts, known, quarantines)


def _copy_quarantines(reading: HistoryStore, writing: HistoryStore) -> int:
    """The source's automatic quarantines the target lacks, oldest first (so a test's released
    ones come before the one it holds), through the methods ``run`` uses."""
    there = {(q.classname, q.name, q.since) for q in writing.quarantines()}
    copied = 0
    for q in reading.quarantines():
        if (q.classname, q.name, q.since) in there or not writing.start_quarantines([(q.classname, q.name, q.reason)], q.since):
            continue
        copied += 1
        if q.released is not None:
            [new] = [r for r in writing.quarantines() if (r.classname, r.name, r.since) == (q.classname, q.name, q.since)]
            writing.release_quarantines([(new.id, q.release_reason)], q.released)
    return copied
