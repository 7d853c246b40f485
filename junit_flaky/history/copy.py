"""``history copy``: move a history between stores (a SQLite file, a PostgreSQL database), either way.

Each run of the source is recorded in the target with its facts (time, commit, branch, job, build,
report key) and its attempts in the order they ran, unless the target has a run with the very same
facts already: copying again, or back, adds nothing. Runs are copied one transaction at a time, so
a copy that stops half way is finished by running it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from junit_flaky.errors import JunitFlakyError
from junit_flaky.history.location import Location
from junit_flaky.history.store import open_store


@dataclass(frozen=True)
class Copied:
    runs: int  # runs added to the target
    attempts: int
    already_there: int  # runs the target had


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
    return Copied(runs, attempts, known)
