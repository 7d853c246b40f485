"""The history database: one SQLite file, one row per attempt, safe with several writers at once.

Layout (schema version 3):

- ``runs``: one per recorded run (a build, a shard, an imported report): time, commit, branch, job,
  build id, and for imported and ``history record``-ed reports a key of their content (and
  origin), so the same reports are not recorded twice.
- ``tests``: one per test identity (classname, name, file, suite), so an attempt row is small;
  found by a 16-byte hash of the identity, since an index over the strings themselves would store
  them twice (half the file, for a million tests).
- ``attempts``: (run, test, seq, outcome, duration in ms), clustered by run: recording a build
  appends at the end of the table instead of touching every page. Failed attempts are rare, so a
  partial index over them finds the tests worth a closer look without reading the passes.
- ``quarantines``: the automatic quarantines (``run --auto-quarantine``), held and released.

Writers: WAL journal, a busy timeout, and ``BEGIN IMMEDIATE`` for every write, so parallel shards
on one machine queue for the lock instead of failing. A slow report is staged in a temporary table
first and only the set operations run while the lock is held.

A file that is not our database (or is damaged) is reported and never rewritten: nothing here
deletes or recreates a database file.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from junit_flaky.errors import JunitFlakyError
from junit_flaky.files import why_not_written
from junit_flaky.history.estimate import CommitRuns
from junit_flaky.history.location import DatabaseUrl, Location
from junit_flaky.model import Outcome

APPLICATION_ID = 0x4A464C4B  # "JFLK" in the SQLite header: this file is ours
OUTCOME_CODES = {Outcome.PASSED: 0, Outcome.SKIPPED: 1, Outcome.FAILED: 2, Outcome.ERROR: 3}
_PASSED, _SKIPPED, _FAILED = 0, 1, 2  # codes >= _FAILED are failures

# Version 1, the first layout; every later version is a migration on top of it, so a new database
# and an upgraded one take the same path.
_SCHEMA_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    commit_sha TEXT NOT NULL DEFAULT '',
    branch TEXT NOT NULL DEFAULT '',
    job TEXT NOT NULL DEFAULT '',
    build_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_started ON runs (started);
CREATE TABLE tests (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,
    classname TEXT NOT NULL,
    name TEXT NOT NULL,
    file TEXT NOT NULL,
    suite TEXT NOT NULL
);
CREATE TABLE attempts (
    run_id INTEGER NOT NULL,
    test_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (run_id, test_id, seq)
) WITHOUT ROWID;
CREATE INDEX attempts_failed ON attempts (run_id, test_id) WHERE outcome >= 2;
"""

# MIGRATIONS[v] takes a database from version v + 1 to v + 2 (index 0: from 1 to 2).
MIGRATIONS: List[str] = [
    # 2: `history import` remembers the reports it read, by content, to skip them next time.
    """
    ALTER TABLE runs ADD COLUMN report_key TEXT;
    CREATE UNIQUE INDEX runs_report_key ON runs (report_key) WHERE report_key IS NOT NULL;
    """,
    # 3: `run --auto-quarantine` keeps each automatic quarantine, while it holds and after its
    # release (evidence after a release starts afresh). By (classname, name), as a threshold
    # entry names a test.
    """
    CREATE TABLE quarantines (
        id INTEGER PRIMARY KEY,
        classname TEXT NOT NULL,
        name TEXT NOT NULL,
        reason TEXT NOT NULL,
        since REAL NOT NULL,
        released REAL,
        release_reason TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX quarantines_active ON quarantines (classname, name) WHERE released IS NULL;
    """,
]
SCHEMA_VERSION = 1 + len(MIGRATIONS)
LOCK_TIMEOUT = 60.0  # seconds a writer waits for another's lock


@dataclass(frozen=True)
class RunInfo:
    started: float  # Unix time
    commit: str = ""
    branch: str = ""
    job: str = ""
    build_id: str = ""
    report_key: Optional[str] = None  # set by imports and history record: the same report is recorded once


# Which runs are one commit's, as an expression over runs (SQLite and PostgreSQL alike): a run
# without a commit is one of its own. Flaky evidence is a failure and a pass of one commit.
COMMIT_KEY = "CASE WHEN commit_sha = '' THEN 'run ' || id ELSE 'commit ' || commit_sha END"

# A failed attempt (``failed``) is of a test in temp.wanted (``HistoryStore._want``).
_WANTED = """EXISTS (
    SELECT 1 FROM tests t JOIN temp.wanted w ON w.classname = t.classname AND w.name = t.name WHERE t.id = failed.test_id
)"""

# Statements that the SQLite and the PostgreSQL store (postgres.py) both run as written here, with
# ? for each parameter (PostgreSQL's driver takes %s).
SHARED_SQL = {
    "runs": "SELECT id, started, commit_sha, branch, job, build_id, report_key FROM runs ORDER BY started, id",
    # The tests that runs of one commit saw and no other run did (``unknown_tests``); the commit
    # twice. Each of the commit's tests is looked for in the other runs by primary key, newest
    # first, up to the first run that has it: a test the last build ran costs one lookup, where
    # reading every other run's attempts took a second on a month of a 10,000-test suite.
    # (CROSS JOIN keeps SQLite's order, runs then attempts; with LIMIT 1 OFFSET 0 PostgreSQL too
    # asks run by run rather than reading them all.)
    "seen_only_on_commit": """
        SELECT t.key FROM tests t
        WHERE t.id IN (
            SELECT here.test_id FROM attempts here
            WHERE here.run_id IN (SELECT id FROM runs WHERE commit_sha = ?) AND NOT EXISTS (
                SELECT 1 FROM runs other CROSS JOIN attempts a
                WHERE a.run_id = other.id AND a.test_id = here.test_id AND other.commit_sha <> ?
                ORDER BY other.id DESC LIMIT 1 OFFSET 0
            )
        )
    """,
    "failed_in_run": "SELECT DISTINCT t.classname, t.name FROM attempts a JOIN tests t ON t.id = a.test_id"
    f" WHERE a.run_id = ? AND a.outcome >= {_FAILED}",
    "run_attempts": "SELECT t.classname, t.name, t.file, t.suite, a.outcome, a.duration_ms"
    " FROM attempts a JOIN tests t ON t.id = a.test_id WHERE a.run_id = ? ORDER BY a.test_id, a.seq",
}


# The staged rows, each with its place among its test's attempts (seq), numbered in key order:
# the tests' index is then probed page by page, not at random in the order the rows were staged
# (40% less time for a million new tests).
_NUMBERED = """
    SELECT key, ordinal, outcome, duration_ms, ROW_NUMBER() OVER (PARTITION BY key ORDER BY ordinal) - 1 AS seq
    FROM temp.staged
"""

# One attempt to record, in the order the test ran: classname, name, file, suite, outcome code,
# duration in ms. A tuple because a million of them stream through executemany.
AttemptRow = Tuple[str, str, str, str, int, int]
KEY_SIZE = 16  # bytes of ``key_of``'s digest
# An attempt row with its identity key (``key_of``) in front: what is staged.
KeyedRow = Tuple[bytes, str, str, str, str, int, int]


def key_of(identity: Tuple[str, str, str, str]) -> bytes:
    """The 16-byte key of a test identity (classname, name, file, suite) that the tests' table
    is searched by; a tuple, as the scan hands identities on."""
    # NUL cannot occur in XML text, so it separates the parts unambiguously.
    return hashlib.blake2b("\0".join(identity).encode("utf-8", "surrogatepass"), digest_size=KEY_SIZE).digest()


def split_keys(packed: bytes) -> Iterator[bytes]:
    """The identity keys (``key_of``) packed one after another in ``packed``."""
    view = memoryview(packed)
    return (bytes(view[i : i + KEY_SIZE]) for i in range(0, len(view), KEY_SIZE))


def keyed(attempts: Iterable[AttemptRow]) -> Iterator[KeyedRow]:
    return ((key_of(row[:4]), *row) for row in attempts)


@dataclass(frozen=True)
class CommitRow:
    """One test's attempts on one commit (or one run without a commit) within the window."""

    classname: str
    name: str
    counts: CommitRuns
    builds: int  # runs (builds, shards) that ran the test there
    rerun_seconds: float  # time spent in attempts after a run's first
    failure_times: Tuple[float, ...]  # start time of the run of each failed attempt
    file: str  # the file a report named for the test (the greatest, bytewise, if several did), or ""


TestKey = Tuple[str, str]  # (classname, name): how flake rates are grouped

# One passed or failed attempt as ``attempt_sequences`` lists them: classname, name, the run's
# branch, run id, the run's start (Unix time), 1 if it failed. A tuple: a week of a large suite's
# attempts stream by.
SequenceRow = Tuple[str, str, str, int, float, int]


@dataclass(frozen=True)
class Recorded:
    run_id: int
    attempts: int


@dataclass(frozen=True)
class QuarantineRow:
    """An automatic quarantine: held while ``released`` is None."""

    id: int
    classname: str
    name: str
    reason: str
    since: float  # Unix time
    released: Optional[float] = None
    release_reason: str = ""


@dataclass(frozen=True)
class RunSummary:
    """One test's passed and failed attempts in one run (skips left out)."""

    classname: str
    name: str
    run_id: int
    started: float
    commit_key: str  # "commit SHA", or "run ID" for a run without a commit
    passes: int
    failures: int
    branch: str  # the run's


@dataclass(frozen=True)
class Pruned:
    runs: int
    attempts: int
    tests: int


class HistoryStore:
    """An open history database; see ``open_store``."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        # The staged rows belong to a run that ``record`` ended: the next ``stage`` drops them.
        self._staged_recorded = False

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` for writes: it takes the lock at once, so it waits in the busy
        handler instead of failing half way (a deferred one can hit SQLITE_BUSY on its first
        write); plain ``BEGIN`` for a consistent read, or for writes to temporary tables only."""
        self._db.execute(begin)
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def has_report(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM runs WHERE report_key = ?", (key,)).fetchone() is not None

    def has_tests(self) -> bool:
        """Whether any run recorded a test: a history with none knows no test from a new one."""
        return self._db.execute("SELECT EXISTS (SELECT 1 FROM tests)").fetchone()[0] == 1

    def unknown_tests(self, keys: Iterable[bytes], commit: str = "") -> set[bytes]:
        """The identity keys (``key_of``) among ``keys`` that no recorded test has: the
        tests the history has never seen; with ``commit``, also those that only runs of that
        commit saw (CI building it again: its earlier attempts are no history of the test).

        Asked by their first byte, so that the tests' unique index is read a 256th at a time,
        not at random (filling a temporary table with a million keys took 4 s before any
        lookup). When the keys are as many as half the history's tests, each 256th of the index
        is read whole (0.55 s for a million keys, where looking each up took 1.1 s); otherwise
        they are looked up 500 at a time and counted, and only a batch holding a key the history
        lacks is read back. The keys are held in 256 byte strings meanwhile, not as a million
        objects sorted (0.4 s and 60 MB more for a million keys)."""
        buckets = [bytearray() for _ in range(256)]
        for key in keys:
            buckets[key[0]] += key
        unknown: set[bytes] = set()
        db = self._db
        with self._transaction("BEGIN"):  # one snapshot, even while other processes record
            only_here = set()  # CI building the commit again: tests only its earlier runs saw
            if commit:
                only_here = {key for key, in db.execute(SHARED_SQL["seen_only_on_commit"], (commit, commit))}
            # Ids are never above the count of tests ever added: enough to choose.
            read_whole = sum(map(len, buckets)) // KEY_SIZE * 2 >= (db.execute("SELECT MAX(id) FROM tests").fetchone()[0] or 0)
            for first, bucket in enumerate(buckets):
                batch = set(split_keys(bucket))
                if not batch:
                    continue
                if read_whole:  # up to the next first byte; 17 bytes of 0xff follow every key
                    upper = bytes([first + 1]) if first < 255 else b"\xff" * (KEY_SIZE + 1)
                    rows = db.execute("SELECT key FROM tests WHERE key >= ? AND key < ?", (bytes([first]), upper))
                    unknown |= batch.difference(key for key, in rows)
                else:
                    ordered = list(batch)
                    for start in range(0, len(ordered), 500):
                        part = ordered[start : start + 500]
                        sql = f"SELECT {{}} FROM tests WHERE key IN ({', '.join('?' * len(part))})"
                        if db.execute(sql.format("COUNT(*)"), part).fetchone()[0] < len(part):
                            known = {key for key, in db.execute(sql.format("key"), part)}
                            unknown.update(key for key in part if key not in known)
                unknown |= only_here & batch
        return unknown

    def stage(self, attempts: Iterable[AttemptRow]) -> None:
        """Add attempts of the run that ``record`` adds next, in the order they ran; several
        calls append. The first row staged on a connection is ordinal 1, the next 2, and so on.

        Staging writes the temporary database only, which no other process shares: the slow,
        Python-paced part runs without the database's write lock.
        """
        self.stage_keyed(keyed(attempts))

    def stage_keyed(self, rows: Iterable[KeyedRow]) -> None:
        """``stage`` for rows that carry their identity key already (``keyed``)."""
        db = self._db
        if self._staged_recorded:
            self.discard_staged()
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS staged (ordinal INTEGER PRIMARY KEY, key BLOB, classname TEXT,"
            " name TEXT, file TEXT, suite TEXT, outcome INTEGER, duration_ms INTEGER)"
        )
        with self._transaction("BEGIN"):
            db.executemany(
                "INSERT INTO temp.staged (key, classname, name, file, suite, outcome, duration_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def unstage(self, rows: Iterable[Tuple[int, bytes]]) -> None:
        """Take back staged rows, each by its ordinal and only if it has that identity key."""
        with self._transaction("BEGIN"):
            self._db.executemany("DELETE FROM temp.staged WHERE ordinal = ? AND key = ?", rows)

    def discard_staged(self) -> None:
        self._db.execute("DROP TABLE IF EXISTS temp.staged")
        self._staged_recorded = False

    def record(self, run: RunInfo, attempts: Iterable[AttemptRow]) -> Optional[Recorded]:
        """Add one run with the attempts staged so far and ``attempts``; None if its report_key
        is recorded already. Either way nothing stays staged."""
        db = self._db
        try:
            self.stage(attempts)
            with self._transaction("BEGIN IMMEDIATE"):
                if run.report_key is not None and self.has_report(run.report_key):
                    return None
                run_id = db.execute(
                    "INSERT INTO runs (started, commit_sha, branch, job, build_id, report_key) VALUES (?, ?, ?, ?, ?, ?)",
                    (run.started, run.commit, run.branch, run.job, run.build_id, run.report_key),
                ).lastrowid
                if self._staged_tests_known():
                    added = self._add_attempts_then_tests(run_id)
                else:
                    added = self._add_tests_then_attempts(run_id)
                return Recorded(run_id, added)
        finally:
            # Dropped by the next stage, or by closing the connection, which costs nothing:
            # dropping a million staged rows takes a quarter of a second.
            self._staged_recorded = True

    def _staged_tests_known(self) -> bool:
        """Whether the history knows (nearly) every staged test, as when CI records the same
        suite build after build: judged by a sample spread evenly over them (64 to 127 rows;
        every row when fewer than 64 are staged)."""
        db = self._db
        last = db.execute("SELECT MAX(ordinal) FROM temp.staged").fetchone()[0] or 0
        sample = list(range(1, last + 1, max(1, last // 64)))
        if not sample:
            return False
        found, unknown = db.execute(
            f"SELECT COUNT(*), SUM(NOT EXISTS (SELECT 1 FROM tests t WHERE t.key = s.key)) FROM temp.staged s"
            f" WHERE s.ordinal IN ({', '.join('?' * len(sample))})",
            sample,
        ).fetchone()
        return found > 0 and unknown * 32 <= found

    def _add_tests_then_attempts(self, run_id: int) -> int:
        """The staged tests the history lacks, then the attempts: for new tests."""
        db = self._db
        # In key order, the unique index on tests.key is filled and probed page by page
        # instead of at random: a third of the time for a million new tests.
        db.execute(
            "INSERT OR IGNORE INTO tests (key, classname, name, file, suite)"
            " SELECT key, classname, name, file, suite FROM temp.staged ORDER BY key"
        )
        return db.execute(
            f"INSERT INTO attempts (run_id, test_id, seq, outcome, duration_ms)"
            f" SELECT ?, t.id, s.seq, s.outcome, s.duration_ms FROM ({_NUMBERED}) s CROSS JOIN tests t ON t.key = s.key",
            (run_id,),
        ).rowcount

    def _add_attempts_then_tests(self, run_id: int) -> int:
        """The attempts, then the few staged tests the history lacks: for a history that knows
        them, where looking every staged test up to add none cost a second per million. An
        attempt of a test the history lacks is added with the negative of its staged row's
        ordinal for a test id, then given the id of the test added for it; the write lock is
        held throughout, so no one sees those. The tests and attempts are the same as
        ``_add_tests_then_attempts`` adds, ids included: new tests are added in key order."""
        db = self._db
        added = db.execute(
            f"INSERT INTO attempts (run_id, test_id, seq, outcome, duration_ms)"
            f" SELECT ?, COALESCE(t.id, -s.ordinal), s.seq, s.outcome, s.duration_ms"
            f" FROM ({_NUMBERED}) s LEFT JOIN tests t ON t.key = s.key",
            (run_id,),
        ).rowcount
        if db.execute("SELECT EXISTS (SELECT 1 FROM attempts WHERE run_id = ? AND test_id < 0)", (run_id,)).fetchone()[0]:
            db.execute(
                "INSERT OR IGNORE INTO tests (key, classname, name, file, suite)"
                " SELECT s.key, s.classname, s.name, s.file, s.suite"
                " FROM attempts a CROSS JOIN temp.staged s ON s.ordinal = -a.test_id"
                " WHERE a.run_id = ? AND a.test_id < 0 ORDER BY s.key",
                (run_id,),
            )
            db.execute(
                "UPDATE attempts SET test_id = (SELECT t.id FROM temp.staged s CROSS JOIN tests t ON t.key = s.key"
                " WHERE s.ordinal = -attempts.test_id) WHERE run_id = ? AND test_id < 0",
                (run_id,),
            )
        return added

    def prune(self, older_than: Optional[float], keep_runs: Optional[int]) -> Pruned:
        """Delete the runs started before ``older_than`` (Unix time) and all but the newest
        ``keep_runs`` runs, with their attempts and the tests no attempt names any more; then
        give the space back, since the file is what a CI cache has to carry."""
        conditions = []
        if older_than is not None:
            conditions.append("started < :cutoff")
        if keep_runs is not None:
            conditions.append("id NOT IN (SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT :keep)")
        if not conditions:
            return Pruned(0, 0, 0)
        db = self._db
        with self._transaction("BEGIN IMMEDIATE"):
            db.execute("DROP TABLE IF EXISTS temp.doomed")
            db.execute(
                f"CREATE TEMP TABLE doomed AS SELECT id FROM runs WHERE {' OR '.join(conditions)}",
                {"cutoff": older_than, "keep": keep_runs},
            )
            attempts = db.execute("DELETE FROM attempts WHERE run_id IN (SELECT id FROM temp.doomed)").rowcount
            runs = db.execute("DELETE FROM runs WHERE id IN (SELECT id FROM temp.doomed)").rowcount
            tests = db.execute("DELETE FROM tests WHERE id NOT IN (SELECT test_id FROM attempts)").rowcount
            db.execute("DROP TABLE temp.doomed")
        if runs:
            db.execute("VACUUM")
        return Pruned(runs, attempts, tests)

    def attempt_sequences(self, since: float, branch: Optional[str], tests: Optional[Iterable[TestKey]] = None) -> List[SequenceRow]:
        """Per test with a failure since ``since`` (on ``branch`` if given), its passed and failed
        attempts since then on each branch in the order they ran: by run start, then within the
        run (each branch is a line of code of its own: one that broke a test is no rise elsewhere); ``tests``:
        only those of these (classname, name). Tests that only passed are left out (a rise in
        failures needs a failure), found by the partial index."""
        self._want(tests)
        rows = self._db.execute(
            f"""
            WITH recent AS (
                SELECT id, started, branch FROM runs WHERE started >= :since AND (:branch IS NULL OR branch = :branch)
            ), failing AS (
                SELECT DISTINCT failed.test_id AS test_id
                FROM recent r JOIN attempts failed INDEXED BY attempts_failed ON failed.run_id = r.id
                WHERE failed.outcome >= {_FAILED} AND (:every OR {_WANTED})
            )
            SELECT t.classname, t.name, r.branch, r.id, r.started, a.outcome >= {_FAILED}
            FROM recent r CROSS JOIN failing f
            JOIN attempts a ON a.run_id = r.id AND a.test_id = f.test_id
            JOIN tests t ON t.id = f.test_id
            WHERE a.outcome != {_SKIPPED}
            ORDER BY t.classname, t.name, r.branch, r.started, r.id, a.seq
            """,
            {"since": since, "branch": branch, "every": tests is None},
        )
        return rows.fetchall()

    def commit_rows(self, since: float, branch: Optional[str], tests: Optional[Iterable[TestKey]] = None) -> List[CommitRow]:
        """Per test with a flaky failure since ``since`` (on ``branch`` if given), its attempts
        grouped by commit, ordered by test; ``tests``: only those of these (classname, name).

        Only tests with a failure on a commit where they also passed can have flaky evidence, and
        the partial index finds their failures without reading any pass; the rest of each such
        test's attempts are then read by primary key, run by run.
        """
        db = self._db
        with self._transaction("BEGIN"):  # one snapshot, even while other processes record
            self._find_flaky(since, branch, tests)
            rows = db.execute(
                f"""
                SELECT t.classname, t.name, COUNT(*), SUM(a.outcome = {_PASSED}), SUM(a.outcome >= {_FAILED}),
                       COUNT(DISTINCT a.run_id), SUM(CASE WHEN a.seq > 0 THEN a.duration_ms ELSE 0 END),
                       GROUP_CONCAT(CASE WHEN a.outcome >= {_FAILED} THEN r.started END), MAX(t.file)
                FROM temp.recent r CROSS JOIN temp.flaky f
                JOIN attempts a ON a.run_id = r.id AND a.test_id = f.test_id
                JOIN tests t ON t.id = f.test_id
                WHERE a.outcome != {_SKIPPED}
                GROUP BY t.classname, t.name, r.commit_key
                ORDER BY t.classname, t.name
                """
            )
            return [
                CommitRow(
                    classname, name, CommitRuns(runs, passes, failures), builds, rerun_ms / 1000.0,
                    tuple(float(t) for t in times.split(",")) if times else (), file,
                )
                for classname, name, runs, passes, failures, builds, rerun_ms, times, file in rows
            ]

    def flaky_test_count(self, since: float, branch: Optional[str]) -> int:
        """How many tests (by classname and name) ``commit_rows`` lists, without reading their
        attempts: what the regression check's threshold needs of the tests it does not check."""
        with self._transaction("BEGIN"):
            self._find_flaky(since, branch)
            return self._db.execute(
                "SELECT COUNT(*) FROM (SELECT DISTINCT t.classname, t.name FROM temp.flaky f JOIN tests t ON t.id = f.test_id)"
            ).fetchone()[0]

    def test_files(self, tests: Iterable[TestKey]) -> Dict[TestKey, str]:
        """The file the reports named for each of ``tests`` (classname, name): where CODEOWNERS
        finds its owners; the greatest (bytewise) where they named several, none where none."""
        with self._transaction("BEGIN"):
            self._want(tests)
            # One pass over the tests, each looked up in temp.wanted by its key: the other order made
            # SQLite index every test first (0.30 s of CPU for 200,000 tests, this way 0.02 s).
            rows = self._db.execute(
                "SELECT t.classname, t.name, MAX(t.file) FROM tests t CROSS JOIN temp.wanted w"
                " ON t.classname = w.classname AND t.name = w.name WHERE t.file != '' GROUP BY t.classname, t.name"
            )
            return {(classname, name): file for classname, name, file in rows}

    def failed_tests(self, run_id: int) -> set[TestKey]:
        """The tests (classname, name) with a failed attempt in one run."""
        return set(self._db.execute(SHARED_SQL["failed_in_run"], (run_id,)).fetchall())

    def _want(self, tests: Optional[Iterable[TestKey]]) -> None:
        """temp.wanted: ``tests`` (classname, name), to restrict a query to; empty for None."""
        db = self._db
        # Keyed, so that each failed attempt finds its test in it by index, not by a scan of every
        # test wanted (all flaky tests, for stats).
        db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (classname TEXT, name TEXT, PRIMARY KEY (classname, name)) WITHOUT ROWID")
        db.execute("DELETE FROM temp.wanted")
        db.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?, ?)", tests or ())

    def _find_flaky(self, since: float, branch: Optional[str], tests: Optional[Iterable[TestKey]] = None) -> None:
        """temp.recent: the runs since ``since`` (on ``branch`` if given), with the commit each
        belongs to; temp.flaky: the tests that failed and passed on one such commit (``tests``:
        only those of these (classname, name))."""
        db = self._db
        self._want(tests)
        db.execute("DROP TABLE IF EXISTS temp.recent")
        db.execute("DROP TABLE IF EXISTS temp.flaky")
        db.execute(
            f"CREATE TEMP TABLE recent AS SELECT id, started, {COMMIT_KEY} AS commit_key"
            " FROM runs WHERE started >= :since AND (:branch IS NULL OR branch = :branch)",
            {"since": since, "branch": branch},
        )
        db.execute("CREATE INDEX temp.recent_commit ON recent (commit_key)")
        db.execute(
            f"""
            CREATE TEMP TABLE flaky AS
            SELECT DISTINCT failed.test_id AS test_id
            FROM temp.recent r JOIN attempts failed INDEXED BY attempts_failed ON failed.run_id = r.id
            WHERE failed.outcome >= {_FAILED} AND (:every OR {_WANTED}) AND EXISTS (
                SELECT 1 FROM temp.recent same
                JOIN attempts passed ON passed.run_id = same.id AND passed.test_id = failed.test_id
                WHERE same.commit_key = r.commit_key AND passed.outcome = {_PASSED}
            )
            """,
            {"every": tests is None},
        )

    def runs(self) -> List[Tuple[int, RunInfo]]:
        """Every run, oldest first, with its id."""
        return [(run_id, RunInfo(*facts)) for run_id, *facts in self._db.execute(SHARED_SQL["runs"])]

    def run_attempts(self, run_id: int) -> Iterator[AttemptRow]:
        """A run's attempts, each test's in the order they ran (as ``record`` numbered them),
        read as they are consumed."""
        return self._db.execute(SHARED_SQL["run_attempts"], (run_id,))

    def quarantines(self) -> List[QuarantineRow]:
        """Every automatic quarantine, held or released, oldest first."""
        rows = self._db.execute(
            "SELECT id, classname, name, reason, since, released, release_reason FROM quarantines ORDER BY since, id"
        )
        return [QuarantineRow(*row) for row in rows]

    def quarantine_evidence(self, since: float, mass_share: float, mass_min: int) -> List[RunSummary]:
        """Per run since ``since`` that was no mass failure, the attempts of each test that
        failed in such a run or is quarantined now; ordered by test, then run start.

        A mass failure (a broken build) is a run where at least ``mass_min`` tests, and more than
        ``mass_share`` of the tests it ran, failed (no pass in the run): it says nothing about any
        one test. Failing
        tests are found by the partial index; a run's tests are counted only for a run with
        ``mass_min`` failing tests or more, and only as far as the answer needs (with 33 failing
        tests, past 165 it cannot be a mass failure at 20%), not all ten thousand.
        """
        db = self._db
        with self._transaction("BEGIN"):
            for table in ("recent", "failing_tests", "candidates"):
                db.execute(f"DROP TABLE IF EXISTS temp.{table}")
            db.execute(
                f"CREATE TEMP TABLE recent AS SELECT id, started, {COMMIT_KEY} AS commit_key, branch FROM runs WHERE started >= ?",
                (since,),
            )
            db.execute(
                f"""
                CREATE TEMP TABLE failing_tests AS
                SELECT DISTINCT a.run_id, a.test_id FROM temp.recent r
                JOIN attempts a INDEXED BY attempts_failed ON a.run_id = r.id WHERE a.outcome >= {_FAILED}
                """
            )
            # Only tests that failed the run count: one that passed a rerun there is flaky, not broken.
            failing = db.execute(
                "SELECT f.run_id, COUNT(*) FROM temp.failing_tests f WHERE NOT EXISTS (SELECT 1 FROM attempts p"
                f" WHERE p.run_id = f.run_id AND p.test_id = f.test_id AND p.outcome = {_PASSED}) GROUP BY f.run_id HAVING COUNT(*) >= ?",
                (mass_min,),
            ).fetchall()
            for run_id, count in failing:
                enough = math.floor(count / mass_share) + 1 if mass_share > 0 else 1  # tests that make it no mass failure
                tests = db.execute(  # seq 0: each test of the run once
                    "SELECT COUNT(*) FROM (SELECT 1 FROM attempts WHERE run_id = ? AND seq = 0 LIMIT ?)", (run_id, enough)
                ).fetchone()[0]
                if count > mass_share * tests:
                    db.execute("DELETE FROM temp.recent WHERE id = ?", (run_id,))
            db.execute(
                """
                CREATE TEMP TABLE candidates AS
                SELECT f.test_id FROM temp.failing_tests f WHERE f.run_id IN (SELECT id FROM temp.recent)
                UNION
                SELECT t.id FROM quarantines q JOIN tests t ON t.classname = q.classname AND t.name = q.name
                WHERE q.released IS NULL
                """
            )
            # CROSS JOINs keep the order: each run, each candidate, then its attempts found by
            # primary key (left to itself, SQLite read every attempt of each run: 4x the time).
            rows = db.execute(
                f"""
                SELECT t.classname, t.name, x.run_id, x.started, x.commit_key, SUM(x.passes), SUM(x.failures), x.branch
                FROM (
                    SELECT c.test_id, r.id AS run_id, r.started, r.commit_key, r.branch,
                           SUM(a.outcome = {_PASSED}) AS passes, SUM(a.outcome >= {_FAILED}) AS failures
                    FROM temp.recent r CROSS JOIN temp.candidates c
                    CROSS JOIN attempts a ON a.run_id = r.id AND a.test_id = c.test_id
                    WHERE a.outcome != {_SKIPPED}
                    GROUP BY r.id, c.test_id
                ) x JOIN tests t ON t.id = x.test_id
                GROUP BY t.classname, t.name, x.run_id
                ORDER BY t.classname, t.name, x.started, x.run_id
                """
            ).fetchall()
            for table in ("recent", "failing_tests", "candidates"):
                db.execute(f"DROP TABLE temp.{table}")
        return [RunSummary(*row) for row in rows]

    def start_quarantines(self, tests: Iterable[Tuple[str, str, str]], when: float) -> int:
        """Quarantine each (classname, name, reason) from ``when``; one held already stays as
        it is (another shard may have started it). Returns how many were started."""
        with self._transaction("BEGIN IMMEDIATE"):
            return self._db.executemany(
                "INSERT OR IGNORE INTO quarantines (classname, name, reason, since) VALUES (?, ?, ?, ?)",
                ((classname, name, reason, when) for classname, name, reason in tests),
            ).rowcount

    def release_quarantines(self, releases: Iterable[Tuple[int, str]], when: float) -> int:
        """Release each held quarantine (id, why) at ``when``; returns how many were held."""
        with self._transaction("BEGIN IMMEDIATE"):
            return self._db.executemany(
                "UPDATE quarantines SET released = ?, release_reason = ? WHERE id = ? AND released IS NULL",
                ((when, why, quarantine_id) for quarantine_id, why in releases),
            ).rowcount


def explain(path: Path, error: sqlite3.Error, timeout: float = LOCK_TIMEOUT) -> JunitFlakyError:
    """One line that says what is wrong with the database file and what to do."""
    code = getattr(error, "sqlite_errorname", "")  # Python 3.11+; older ones: the message
    text = str(error)
    if code == "SQLITE_BUSY" or "locked" in text:
        return JunitFlakyError(f"{path}: history database stayed locked by another process for {timeout:g} s")
    if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "not a database" in text or "malformed" in text:
        return JunitFlakyError(
            f"{path}: history database is damaged or not a database ({text}); it was left as it is:"
            " move it away to start a new history"
        )
    if code == "SQLITE_READONLY" or "readonly" in text:
        return JunitFlakyError(f"{path}: history database is read-only")
    if code == "SQLITE_CANTOPEN" or "unable to open" in text:
        return JunitFlakyError(f"{path}: cannot open history database ({text})")
    return JunitFlakyError(f"{path}: history database error: {text}")


def _header(db: sqlite3.Connection) -> Tuple[int, int, int]:
    """(application id, schema version, number of schema objects), read in one statement so
    they agree with each other while another process creates the database."""
    return db.execute(
        "SELECT (SELECT application_id FROM pragma_application_id),"
        " (SELECT user_version FROM pragma_user_version), (SELECT COUNT(*) FROM sqlite_master)"
    ).fetchone()


def _initialize(db: sqlite3.Connection, path: Path) -> None:
    """Create or upgrade the schema; refuse files that are not ours or are newer than us."""
    if _header(db)[:2] == (APPLICATION_ID, SCHEMA_VERSION):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the lock: another process may have created or upgraded it meanwhile.
        application_id, version, objects = _header(db)
        if application_id != APPLICATION_ID and (application_id or objects):
            raise JunitFlakyError(f"{path}: not a junit-flaky history database; it was left as it is")
        if version > SCHEMA_VERSION:
            raise JunitFlakyError(
                f"{path}: history database has schema version {version}, newer than this junit-flaky"
                f" knows ({SCHEMA_VERSION}): upgrade junit-flaky"
            )
        if version == 0:
            _run_script(db, _SCHEMA_V1)
            version = 1
        for script in MIGRATIONS[version - 1 :]:
            _run_script(db, script)
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _use_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch to the WAL journal (persistent: once per database), so readers work while one
    process writes. The switch needs the file to itself and SQLite does not wait for that in its
    busy handler, so wait here: another process may be creating the same database."""
    deadline = time.monotonic() + timeout
    while db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the open transaction first; one statement at a time keeps the
    # whole upgrade atomic.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@contextlib.contextmanager
def open_store(path: Location, create: bool = True, timeout: float = LOCK_TIMEOUT) -> Iterator[HistoryStore]:
    """Open (and create or upgrade) the database at ``path``; every SQLite error, here or in the
    caller's block, becomes a one-line JunitFlakyError. A postgresql:// URL opens the same store
    in PostgreSQL (``postgres.PostgresStore``, with the same methods)."""
    if isinstance(path, DatabaseUrl):
        from junit_flaky.history import postgres  # psycopg only for a PostgreSQL history

        with postgres.open_store(path, create) as store:
            yield store  # type: ignore[misc]
        return
    try:
        exists, is_dir, is_file = path.exists(), path.is_dir(), path.is_file()  # any may be refused: a locked folder
    except OSError as exc:
        raise JunitFlakyError(f"{path}: cannot open history database: {exc.strerror}") from None
    if not exists:
        if not create:
            raise JunitFlakyError(f"{path}: no history database here (record some runs first)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JunitFlakyError(f"{path}: cannot create history database: {why_not_written(exc)}") from None
    elif is_dir:
        raise JunitFlakyError(f"{path}: is a folder, not a history database")
    elif not is_file:  # SQLite would call it damaged, and leave its journal beside it (/dev/null-journal)
        raise JunitFlakyError(f"{path}: is a device or a pipe, not a history database")
    try:
        db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise explain(path, exc, timeout) from None
    try:
        db.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable against crashes of the process
        _initialize(db, path)
        _use_wal(db, timeout)
        yield HistoryStore(db)
    except sqlite3.Error as exc:
        raise explain(path, exc, timeout) from None
    finally:
        db.close()
