"""The history database: recording, grouping, pruning, migration, damaged files, two writers.

The tests that take ``history_at`` run on both stores, a SQLite file and a PostgreSQL database;
the ones about the file itself run on SQLite (PostgreSQL's own: test_history_postgres.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import List

import pytest

from junit_flaky.errors import JunitFlakyError
from junit_flaky.history import store as store_mod
from junit_flaky.history.estimate import CommitRuns
from junit_flaky.history.location import Location
from junit_flaky.history.store import OUTCOME_CODES, SCHEMA_VERSION, AttemptRow, RunInfo, open_store
from junit_flaky.model import Outcome

P, S, F, E = (OUTCOME_CODES[o] for o in (Outcome.PASSED, Outcome.SKIPPED, Outcome.FAILED, Outcome.ERROR))
DAY = 86400.0


def key(*identity: str) -> bytes:
    return store_mod.key_of(identity)  # type: ignore[arg-type]


def row(name: str, outcome: int, ms: int = 100, classname: str = "m") -> AttemptRow:
    return (classname, name, "", "", outcome, ms)


def test_records_attempts_in_order_with_a_seq_per_test(history_at: Location) -> None:
    with open_store(history_at) as store:
        recorded = store.record(RunInfo(1000.0, "abc", "main", "unit", "b1"), [row("a", F), row("b", P), row("a", P), row("a", E, 7)])
        assert recorded is not None and recorded.attempts == 4
        assert store.runs() == [(recorded.run_id, RunInfo(1000.0, "abc", "main", "unit", "b1"))]
        found = [(name, outcome, ms) for _, name, _, _, outcome, ms in store.run_attempts(recorded.run_id)]
    assert found == [("a", F, 100), ("a", P, 100), ("a", E, 7), ("b", P, 100)]  # each test's in the order they ran


def test_commit_rows_group_by_commit_and_keep_only_tests_with_flaky_failures(history_at: Location) -> None:
    with open_store(history_at) as store:
        # flaky: failed then passed on rerun in one build; fails in another build of the same
        # commit, passes in one more; a third commit where it only failed.
        store.record(RunInfo(1 * DAY, "c1"), [row("flaky", F), row("flaky", P, 300), row("broken", F), row("ok", P)])
        store.record(RunInfo(2 * DAY, "c1"), [row("flaky", E), row("broken", F), row("ok", P)])
        store.record(RunInfo(3 * DAY, "c2"), [row("flaky", F), row("flaky", S), row("broken", F), row("ok", P)])
        store.record(RunInfo(4 * DAY, ""), [row("flaky", P), row("broken", F), row("ok", P)])
        rows = store.commit_rows(since=0.0, branch=None)
    assert {r.name for r in rows} == {"flaky"}  # "broken" never passed, "ok" never failed
    by_count = sorted(((r.counts, r.builds, r.rerun_seconds, r.failure_times) for r in rows), key=lambda x: (x[0].runs, x[0].passes))
    assert by_count == [
        (CommitRuns(runs=1, passes=0, failures=1), 1, 0.0, (3 * DAY,)),  # c2: the skip is no run
        (CommitRuns(runs=1, passes=1, failures=0), 1, 0.0, ()),  # the run without a commit
        (CommitRuns(runs=3, passes=1, failures=2), 2, 0.3, (1 * DAY, 2 * DAY)),  # c1 over two builds
    ]


def test_the_regression_checks_questions_have_the_answers_of_commit_rows(history_at: Location) -> None:
    """The check asks for the rows of a few tests, how many tests have rows, and which tests failed
    in a run; the same tests by classname and name, whatever their file."""
    with open_store(history_at) as store:
        for day, commit in ((1, "c1"), (2, "c2")):
            store.record(RunInfo(day * DAY, commit), [
                row("a", F), row("a", P), row("b", F), row("b", P),
                ("m", "b", "other.py", "", F, 1), ("m", "b", "other.py", "", P, 1),
                row("broken", F), row("ok", P), row("c", F, classname="n"), row("c", P, classname="n"),
            ])
        last = store.record(
            RunInfo(3 * DAY, "c3"), [row("a", P), ("m", "b", "other.py", "", F, 1), row("broken", E), row("c", P, classname="n")]
        )
        every = store.commit_rows(since=0.0, branch=None)
        assert last is not None and store.failed_tests(last.run_id) == {("m", "b"), ("m", "broken")}
        assert store.flaky_test_count(since=0.0, branch=None) == len({(r.classname, r.name) for r in every}) == 3
        assert store.flaky_test_count(since=2.5 * DAY, branch=None) == 0
        some = store.commit_rows(since=0.0, branch=None, tests=[("m", "b"), ("m", "c"), ("x", "a")])
        assert some == [r for r in every if (r.classname, r.name) == ("m", "b")] and len(some) == 3
        assert store.commit_rows(since=0.0, branch=None, tests=[]) == []
        sequences = store.attempt_sequences(since=0.0, branch=None)
        of_b = [r for r in sequences if r[:2] == ("m", "b")]
        assert store.attempt_sequences(since=0.0, branch=None, tests=[("m", "b"), ("x", "a")]) == of_b
        assert len(sequences) > len(of_b) > 0


def test_commit_rows_honour_the_window_and_the_branch(history_at: Location) -> None:
    with open_store(history_at) as store:
        store.record(RunInfo(1 * DAY, "old", "main"), [row("t", F), row("t", P)])
        store.record(RunInfo(5 * DAY, "new", "feature"), [row("t", F), row("t", P)])
        assert [r.failure_times for r in store.commit_rows(since=2 * DAY, branch=None)] == [(5 * DAY,)]
        assert [r.failure_times for r in store.commit_rows(since=0.0, branch="main")] == [(1 * DAY,)]
        assert store.commit_rows(since=2 * DAY, branch="main") == []


def test_attempt_sequences_list_each_failing_tests_attempts_in_the_order_they_ran(history_at: Location) -> None:
    with open_store(history_at) as store:
        first = store.record(RunInfo(2 * DAY, "c1", "main"), [row("b", F), row("b", P), row("a", P), row("ok", P)])
        second = store.record(RunInfo(1 * DAY, "c0", "main"), [row("b", P), row("b", S), row("a", E)])
        store.record(RunInfo(3 * DAY, "c2", "feature"), [row("b", F)])
        assert first is not None and second is not None
        assert store.attempt_sequences(since=0.0, branch="main") == [
            ("m", "a", "main", second.run_id, 1 * DAY, 1), ("m", "a", "main", first.run_id, 2 * DAY, 0),  # by run start
            ("m", "b", "main", second.run_id, 1 * DAY, 0), ("m", "b", "main", first.run_id, 2 * DAY, 1),
            ("m", "b", "main", first.run_id, 2 * DAY, 0),
        ]  # "ok" never failed; skips are no attempt
        # Each branch's attempts apart, branch by branch: the feature branch's later run comes first.
        assert [r[:3] for r in store.attempt_sequences(since=1.5 * DAY, branch=None)] == [("m", "b", "feature")] + [("m", "b", "main")] * 2


def test_quarantines_start_once_release_and_their_evidence_leaves_out_mass_failures(history_at: Location) -> None:
    with open_store(history_at) as store:
        ok = [row(f"n{i}", P) for i in range(4)]
        flaky = store.record(RunInfo(1 * DAY, "c1"), [row("x", F), row("x", P), *ok])
        mass = store.record(RunInfo(2 * DAY, "c2"), [row("x", F), *(row(f"n{i}", F) for i in range(4))])
        store.record(RunInfo(3 * DAY, "c3"), [row("held", P), row("x", S), *ok])
        assert flaky is not None and mass is not None
        assert store.start_quarantines([("m", "held", "by policy"), ("m", "x", "flaky")], when=4 * DAY) == 2
        assert store.start_quarantines([("m", "held", "again")], when=5 * DAY) == 0  # held already
        [first, second] = store.quarantines()
        assert (first.name, first.reason, first.since, first.released) == ("held", "by policy", 4 * DAY, None)
        # c2 is a mass failure (5 of 5 tests failed): it is left out, and n0..n3 with it.
        evidence = store.quarantine_evidence(since=0.0, mass_share=0.5, mass_min=3)
        assert [(e.name, e.started, e.commit_key, e.passes, e.failures) for e in evidence] == [
            ("held", 3 * DAY, "commit c3", 1, 0), ("x", 1 * DAY, "commit c1", 1, 1),  # the skip is no attempt
        ]
        assert store.release_quarantines([(second.id, "clean builds"), (second.id, "twice")], when=6 * DAY) == 1
        assert [(q.name, q.released, q.release_reason) for q in store.quarantines()] == [
            ("held", None, ""), ("x", 6 * DAY, "clean builds")
        ]
        assert store.start_quarantines([("m", "x", "again")], when=7 * DAY) == 1  # a released one may start anew


def test_tests_that_passed_a_rerun_make_no_mass_failure(history_at: Location) -> None:
    with open_store(history_at) as store:  # 3 of 4 tests failed once, then passed: flaky, not broken
        store.record(RunInfo(1 * DAY, "c1"), [*(attempt for i in range(3) for attempt in (row(f"f{i}", F), row(f"f{i}", P))), row("ok", P)])
        evidence = store.quarantine_evidence(since=0.0, mass_share=0.2, mass_min=3)
        assert [(e.name, e.passes, e.failures) for e in evidence] == [("f0", 1, 1), ("f1", 1, 1), ("f2", 1, 1)]


def test_prune_by_age_and_by_count_removes_attempts_and_forgotten_tests(history_at: Location) -> None:
    with open_store(history_at) as store:
        for day in range(1, 6):
            store.record(RunInfo(day * DAY, f"c{day}"), [row("always", P), row(f"only_day_{day}", P)])
        pruned = store.prune(older_than=2.5 * DAY, keep_runs=None)
        assert (pruned.runs, pruned.attempts, pruned.tests) == (2, 4, 2)
        pruned = store.prune(older_than=None, keep_runs=1)
        assert (pruned.runs, pruned.attempts, pruned.tests) == (2, 4, 2)
        [(run_id, run)] = store.runs()
        assert run.started == 5 * DAY
        assert sorted(name for _, name, *_ in store.run_attempts(run_id)) == ["always", "only_day_5"]
        # The tests pruned are forgotten: recording one again makes it new.
        store.record(RunInfo(6 * DAY, "c6"), [row("only_day_1", F), row("only_day_1", P)])
        assert [r.name for r in store.commit_rows(since=0.0, branch=None)] == ["only_day_1"]


def test_an_older_schema_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    raw = sqlite3.connect(db, isolation_level=None)
    raw.executescript(store_mod._SCHEMA_V1)  # a database as version 1 left it
    raw.execute(f"PRAGMA application_id = {store_mod.APPLICATION_ID}")
    raw.execute("PRAGMA user_version = 1")
    raw.execute("INSERT INTO runs (started, commit_sha) VALUES (10.0, 'c1')")
    raw.execute("INSERT INTO tests (key, classname, name, file, suite) VALUES (?, 'm', 't', '', '')", (store_mod.key_of(("m", "t", "", "")),))
    raw.execute(f"INSERT INTO attempts VALUES (1, 1, 0, {F}, 5), (1, 1, 1, {P}, 5)")
    raw.close()
    with open_store(db) as store:
        rows = store.commit_rows(since=0.0, branch=None)
        assert store.record(RunInfo(20.0, report_key="sha256:x"), [row("t", P)]) is not None
        assert store.has_report("sha256:x")
    assert [r.counts for r in rows] == [CommitRuns(2, 1, 1)]
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_report_key_is_recorded_once(history_at: Location) -> None:
    with open_store(history_at) as store:
        assert store.record(RunInfo(1.0, report_key="k"), [row("t", P)]) is not None
        assert store.record(RunInfo(2.0, report_key="k"), [row("t", P)]) is None
        assert [run.started for _, run in store.runs()] == [1.0]
        assert store.has_report("k") and not store.has_report("other")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is not a database, it is a text file that happens to be long enough" * 20, "damaged or not a database"),
        (b"SQLite format 3\x00" + b"\xff" * 4000, "damaged or not a database"),
    ],
)
def test_a_damaged_file_is_an_error_and_is_left_alone(tmp_path: Path, content: bytes, message: str) -> None:
    db = tmp_path / "h.sqlite"
    db.write_bytes(content)
    with pytest.raises(JunitFlakyError) as caught:
        with open_store(db) as store:
            store.record(RunInfo(1.0), [row("t", P)])
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.exit_code == 2
    assert db.read_bytes() == content


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite"
    raw = sqlite3.connect(db)
    raw.execute("CREATE TABLE users (name TEXT)")
    raw.commit()
    raw.close()
    before = db.read_bytes()
    with pytest.raises(JunitFlakyError, match="not a junit-flaky history database"):
        with open_store(db):
            pass
    assert db.read_bytes() == before


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    with open_store(db):
        pass
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(JunitFlakyError, match="newer than this junit-flaky"):
        with open_store(db):
            pass


def test_a_missing_database_is_an_error_when_not_creating(tmp_path: Path) -> None:
    with pytest.raises(JunitFlakyError, match="no history database"):
        with open_store(tmp_path / "none.sqlite", create=False):
            pass
    assert not (tmp_path / "none.sqlite").exists()


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from junit_flaky.history.location import resolve_db_path
    from junit_flaky.history.store import RunInfo, open_store
    db, name, go = resolve_db_path(sys.argv[1], {}, Path.cwd()), sys.argv[2], Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.005)
    for i in range(15):
        rows = [("m", f"test_{n}", "", "", n % 3 and 0 or 2, 1) for n in range(300)]
        with open_store(db, timeout=30) as store:
            store.record(RunInfo(float(i), commit=name), rows)
    """
)


def test_two_processes_recording_at_once_both_land(history_at: Location, tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers: List[subprocess.Popen] = [
        subprocess.Popen([sys.executable, "-c", WRITER, getattr(history_at, "secret", str(history_at)), name, str(go)], stderr=subprocess.PIPE)
        for name in ("shard-1", "shard-2")
    ]
    go.touch()  # both create the database and write at the same moment
    for writer in writers:
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err.decode()
    with open_store(history_at, create=False) as store:
        runs = store.runs()
        assert sorted(Counter(run.commit for _, run in runs).items()) == [("shard-1", 15), ("shard-2", 15)]
        attempts = [a for run_id, _ in runs for a in store.run_attempts(run_id)]
    assert len(attempts) == 2 * 15 * 300
    assert len({a[:4] for a in attempts}) == 300


def test_unknown_tests_are_the_identities_no_recorded_run_holds(history_at: Location) -> None:
    with open_store(history_at) as store:
        assert not store.has_tests()
        store.record(RunInfo(1000.0), [row("seen", P), ("other.Class", "seen", "f.py", "s", P, 5)])
        assert store.has_tests()
        asked = [key("m", "seen", "", ""), key("m", "new", "", ""), key("other.Class", "seen", "f.py", "s"), key("m", "seen", "", "other suite")]
        assert store.unknown_tests(asked + asked) == {key("m", "new", "", ""), key("m", "seen", "", "other suite")}
        assert store.unknown_tests([]) == set()


def test_test_files_are_the_files_the_reports_named_for_each_test(history_at: Location) -> None:
    with open_store(history_at) as store:
        store.record(RunInfo(1000.0), [("C", "t", "b.js", "s1", P, 5), ("C", "t", "a.js", "s2", P, 5), ("C", "u", "", "", P, 5), row("v", P)])
        assert store.test_files([("C", "t"), ("C", "u"), ("C", "gone")]) == {("C", "t"): "b.js"}
        assert store.test_files([]) == {}


def test_unknown_tests_among_a_few_keys_asked_of_a_larger_history(history_at: Location) -> None:
    """Few keys against many tests are looked up one by one rather than by reading the index."""
    with open_store(history_at) as store:
        store.record(RunInfo(1000.0), [row(f"t{i}", P) for i in range(40)])
        asked = [key("m", "t7", "", ""), key("m", "new", "", ""), key("m", "t39", "", "")]
        assert store.unknown_tests(asked) == {key("m", "new", "", "")}
        assert store.unknown_tests(asked[:1]) == set()


def test_unknown_tests_of_a_commit_include_those_only_its_earlier_runs_saw(history_at: Location) -> None:
    with open_store(history_at) as store:
        store.record(RunInfo(1000.0, "old"), [row("kept", P)])
        store.record(RunInfo(1001.0, "abc"), [row("kept", P), row("added", F)])
        store.record(RunInfo(1002.0, "abc"), [row("added", P)])  # CI retried commit abc
        asked = [key("m", "kept", "", ""), key("m", "added", "", ""), key("m", "never", "", "")]
        assert store.unknown_tests(asked, "abc") == {key("m", "added", "", ""), key("m", "never", "", "")}
        assert store.unknown_tests(asked, "def") == {key("m", "never", "", "")}
        assert store.unknown_tests(asked) == {key("m", "never", "", "")}
        assert store.unknown_tests(asked[:1], "abc") == set()  # only the keys asked


def test_a_test_of_a_commit_that_a_later_or_earlier_build_also_ran_is_known(history_at: Location) -> None:
    with open_store(history_at) as store:
        store.record(RunInfo(1000.0, "old"), [row("before", P)])
        store.record(RunInfo(1001.0, "abc"), [row("before", P), row("after", P), row("only", P)])
        store.record(RunInfo(1002.0, "next"), [row("after", P)])  # another commit's build, since
        store.record(RunInfo(1003.0, "abc"), [row("only", F), row("only", P)])  # CI retried abc
        asked = [key("m", name, "", "") for name in ("before", "after", "only")]
        assert store.unknown_tests(asked, "abc") == {key("m", "only", "", "")}


def test_new_tests_among_many_the_history_knows_are_added_with_their_attempts_in_order(history_at: Location) -> None:
    """A build of a suite the history knows, with a few new tests among its 200: each attempt
    recorded in the order it ran, each new test added once, as a history that knew none adds them."""
    known = [row(f"t{i:03}", P, i) for i in range(200)]
    with open_store(history_at) as store:
        store.record(RunInfo(1.0), known)
        again = known[:90] + [row("new-a", F, 7), row("new-b", P, 8)] + known[90:] + [row("new-a", P, 9), row("new-a", S, 10)]
        second = store.record(RunInfo(2.0), again)
        third = store.record(RunInfo(3.0), [row("new-b", F, 11), row("new-a", P, 12), *known])
        assert second is not None and third is not None and (second.attempts, third.attempts) == (204, 202)
        attempts = [(name, outcome, ms) for _, name, _, _, outcome, ms in store.run_attempts(second.run_id)]
        assert [a for a in attempts if a[0].startswith("new")] == [("new-a", F, 7), ("new-a", P, 9), ("new-a", S, 10), ("new-b", P, 8)]
        assert sorted(a for a in attempts if a[0].startswith("t")) == [(f"t{i:03}", P, i) for i in range(200)]
        assert {(name, ms) for _, name, _, _, _, ms in store.run_attempts(third.run_id)} >= {("new-a", 12), ("new-b", 11)}
        assert store.unknown_tests([store_mod.key_of(("m", name, "", "")) for name in ("new-a", "new-b", "t000")]) == set()
    if not isinstance(history_at, Path):
        return
    db = sqlite3.connect(history_at)
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key), MIN(id) FROM tests").fetchone() == (202, 202, 1)
    assert db.execute("SELECT COUNT(*) FROM attempts WHERE test_id NOT IN (SELECT id FROM tests)").fetchone() == (0,)


def test_each_record_takes_only_the_rows_staged_since_the_last(history_at: Location) -> None:
    with open_store(history_at) as store:
        store.stage([row("a", P), row("b", F)])
        first = store.record(RunInfo(1.0), [row("b", P)])
        store.stage([row("c", P)])
        second = store.record(RunInfo(2.0), [])
        third = store.record(RunInfo(3.0), [row("d", S)])
        assert first is not None and second is not None and third is not None
        assert (first.attempts, second.attempts, third.attempts) == (3, 1, 1)
        assert [a[1] for a in store.run_attempts(second.run_id)] == ["c"]
        assert [a[1] for a in store.run_attempts(third.run_id)] == ["d"]


def test_the_postgresql_store_has_every_method_of_the_sqlite_store() -> None:
    """One interface, two stores: a method added to one is added to the other (the tests above
    that take ``history_at`` then check that they agree)."""
    from junit_flaky.history.postgres import PostgresStore

    def methods(cls: type) -> set:
        return {name for name, value in vars(cls).items() if callable(value) and not name.startswith("_")}

    assert methods(store_mod.HistoryStore) - methods(PostgresStore) == set()
