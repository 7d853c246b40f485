"""The history in PostgreSQL, against a real server the tests start (conftest's postgres_server):
every command that takes a history, many writers at once, a server that is down, slow or refuses
the login, the password never shown, copying to and from SQLite. The store's own tests run on both
stores in test_history_store.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List

import pytest

# The test extras install it; without them these tests say so (in CI the server fixture fails instead).
psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")

from junit_flaky.errors import JunitFlakyError
from junit_flaky.history import postgres, store as sqlite_store
from junit_flaky.history.location import DatabaseUrl, resolve_db_path
from junit_flaky.history.store import RunInfo, open_store
from tests.history_samples import FLAKY_RUN, GREEN_RUN, RED_RUN
from tests.postgres_server import PASSWORD

CLI = [sys.executable, "-m", "junit_flaky"]


@pytest.fixture
def url(postgres_server) -> str:
    """A fresh database's URL, with the password in it."""
    return postgres_server.new_database()


@pytest.fixture
def reports(clean_env: Path) -> Path:
    (clean_env / "flaky.xml").write_text(FLAKY_RUN)
    (clean_env / "green.xml").write_text(GREEN_RUN)
    (clean_env / "red.xml").write_text(RED_RUN)
    return clean_env


def no_password(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text


def test_every_history_command_works_on_postgresql(run_cli, reports: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for report, commit in (("flaky.xml", "c1"), ("green.xml", "c2"), ("flaky.xml", "c3"), ("green.xml", "c4")):
        result = run_cli("history", "record", report, "--commit", commit, "--branch", "main", "--db", url)
        assert result.exit_code == 0, result.stderr
        no_password(result.stdout, result.stderr)
    assert "as run 4 in postgresql://postgres:***@127.0.0.1:" in result.stdout
    (reports / "artifacts").mkdir()
    (reports / "artifacts" / "old.xml").write_text(FLAKY_RUN.replace("test_stable", "test_old"))
    monkeypatch.setenv("JUNIT_FLAKY_HISTORY_DB", url)  # the environment names it from here on
    imported = run_cli("history", "import", "artifacts")
    assert imported.exit_code == 0 and "imported 1 report into postgresql://postgres:***@" in imported.stdout
    assert "imported 0 reports" in run_cli("history", "import", "artifacts").stdout  # known by content

    computed = run_cli("thresholds", "compute", "--output", "t.json")
    assert computed.exit_code == 0, computed.stderr
    [rule] = json.loads((reports / "t.json").read_text())["flaky_tests"]
    # 3 flaky failures in 8 runs: the four builds (6), the import (2).
    assert (rule["test_name"], rule["runs"], rule["flaky_failures"]) == ("test_flaky[1]", 8, 3)
    stats = run_cli("stats", "--format", "json")
    assert [t["test_name"] for t in json.loads(stats.stdout)] == ["test_flaky[1]"]

    # run learns from it and records into it; a red run of the flaky test is rerun-worthy now.
    ran = run_cli("run", "red.xml", "--no-flakybot", "--no-rerun", "--thresholds-from-history", "--record-history")
    assert "recorded 2 attempts in the history (postgresql://postgres:***@" in ran.stdout
    assert "history postgresql://postgres:***@" in ran.stdout  # where test_flaky's rule came from
    pruned = run_cli("history", "prune", "--keep-runs", "2")
    assert pruned.exit_code == 0 and "pruned 4 runs (10 attempts;" in pruned.stdout  # the four builds: the import and run are newest
    for result in (imported, computed, stats, ran, pruned):
        no_password(result.stdout, result.stderr)


def test_the_url_may_come_from_pyproject_and_the_password_from_pgpassword(
    run_cli, reports: Path, postgres_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = postgres_server.new_database().replace(f":{PASSWORD}@", "@")
    (reports / "pyproject.toml").write_text(f'[tool.junit-flaky]\nhistory-db = "{bare}"\nrecord-history = true\n')
    assert resolve_db_path(None, {}, reports) == DatabaseUrl(bare)  # not a path relative to pyproject.toml
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # libpq's own; ~/.pgpass works the same way
    result = run_cli("run", "flaky.xml", "--no-flakybot", "--no-rerun")
    assert result.exit_code == 0 and f"recorded 3 attempts in the history ({bare})" in result.stdout


def test_twenty_history_record_processes_at_once_lose_no_run(reports: Path, url: str) -> None:
    go = reports / "go"
    starter = "import sys, time, pathlib, runpy\nwhile not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.01)\nsys.argv = ['junit-flaky', *sys.argv[2:]]\nrunpy.run_module('junit_flaky', run_name='__main__')"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", starter, str(go), "history", "record", "flaky.xml", "--commit", f"c{n}", "--db", url],
            cwd=reports, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        )
        for n in range(20)
    ]
    go.touch()  # all of them create the schema and record at the same moment
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    with open_store(DatabaseUrl(url), create=False) as store:
        runs = store.runs()
        assert sorted(run.commit for _, run in runs) == sorted(f"c{n}" for n in range(20))
        assert [len(list(store.run_attempts(run_id))) for run_id, _ in runs] == [3] * 20
        [flaky] = store.commit_rows(since=0.0, branch=None)[:1]
    assert flaky.name == "test_flaky[1]"


def test_the_same_report_from_the_same_build_recorded_at_once_is_one_run(reports: Path, url: str) -> None:
    writers = [
        subprocess.Popen([*CLI, "history", "record", "flaky.xml", "--commit", "c1", "--db", url], cwd=reports,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        for _ in range(4)
    ]
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]
    assert all(writer.returncode == 0 for writer in writers)
    assert sum("recorded 3 attempts" in out for out in outputs) == 1
    assert sum("nothing added" in out for out in outputs) == 3


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIT_FLAKY_", "PG")) and k != "CI"}
    return {**env, **extra}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word: a server that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@pytest.mark.parametrize("server", ["down", "silent", "wrong password"])
def test_an_unusable_database_is_a_warning_in_run_and_exit_2_in_the_history_commands(
    reports: Path, postgres_server, silent_server: int, server: str
) -> None:
    wrong = "not-" + PASSWORD
    target = {
        "down": f"postgresql://postgres:{PASSWORD}@127.0.0.1:{_free_port()}/db",
        "silent": f"postgresql://postgres:{PASSWORD}@127.0.0.1:{silent_server}/db",
        "wrong password": postgres_server.url(password=wrong),
    }[server]
    env = _env(JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT="2")
    why = {"down": "Connection refused", "silent": "timeout expired", "wrong password": "password authentication failed"}[server]

    run = subprocess.run(
        [*CLI, "run", "red.xml", "--no-flakybot", "--no-rerun", "--thresholds-from-history", "--record-history",
         "--history-db", target, "--output", "out.xml"],
        cwd=reports, capture_output=True, text=True, env=env, timeout=120,
    )
    assert run.returncode == 1, run.stderr  # the verdict alone decides: test_flaky failed its only run
    assert (reports / "out.xml").exists()
    warnings = [line for line in run.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2 and all(why in w and "cannot connect to the history database" in w for w in warnings)

    for command in (["history", "record", "red.xml"], ["thresholds", "compute"], ["stats"], ["history", "prune", "--keep-runs", "1"]):
        result = subprocess.run([*CLI, *command, "--db", target], cwd=reports, capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 2, (command, result.stderr)
        [line] = result.stderr.splitlines()
        assert line.startswith("junit-flaky: error: postgresql://postgres:***@127.0.0.1:") and why in line
    for output in (run.stdout, run.stderr, result.stdout, result.stderr):
        assert PASSWORD not in output and wrong not in output


def test_a_statement_that_waits_past_the_statement_timeout_is_exit_2(run_cli, reports: Path, url: str) -> None:
    assert run_cli("history", "record", "flaky.xml", "--db", url).exit_code == 0
    with psycopg.connect(url) as blocker:  # holds every table of the history until the end
        blocker.execute("LOCK TABLE junit_flaky.runs IN ACCESS EXCLUSIVE MODE")
        result = subprocess.run(
            [*CLI, "history", "record", "green.xml", "--db", url], cwd=reports, capture_output=True, text=True,
            env=_env(JUNIT_FLAKY_HISTORY_STATEMENT_TIMEOUT="1"), timeout=120,
        )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "history database did not answer within 1 s (JUNIT_FLAKY_HISTORY_STATEMENT_TIMEOUT)" in line


@pytest.mark.parametrize("variable", ["JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT", "JUNIT_FLAKY_HISTORY_STATEMENT_TIMEOUT"])
@pytest.mark.parametrize("value", ["0", "soon", "-3", "nan", "inf", "1e12"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_exit_2(
    run_cli, reports: Path, url: str, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = run_cli("history", "record", "flaky.xml", "--db", url)
    assert result.exit_code == 2
    assert result.stderr == f"junit-flaky: error: {variable} must be a number of seconds above 0, at most 86400, got {value!r}\n"


def test_without_psycopg_a_postgresql_url_says_what_to_install(reports: Path) -> None:
    hidden = "import sys, runpy; sys.modules['psycopg'] = None; sys.argv = ['junit-flaky', *sys.argv[1:]]; runpy.run_module('junit_flaky', run_name='__main__')"
    target = f"postgresql://me:{PASSWORD}@127.0.0.1:1/db"
    # run too: a history that can never work until something is installed is bad set-up, not a
    # history that is down for a while.
    for command in (["history", "record", "flaky.xml", "--db", target], ["run", "flaky.xml", "--record-history", "--history-db", target]):
        result = subprocess.run([sys.executable, "-c", hidden, *command], cwd=reports, capture_output=True, text=True, env=_env(), timeout=60)
        assert result.returncode == 2
        assert result.stderr == (
            "junit-flaky: error: postgresql://me:***@127.0.0.1:1/db: a PostgreSQL history needs psycopg:"
            " pip install 'junit-flaky[postgresql]'\n"
        )
    # A SQLite history does not import it.
    local = subprocess.run([sys.executable, "-c", hidden, "history", "record", "flaky.xml"], cwd=reports, capture_output=True, text=True, env=_env(), timeout=60)
    assert local.returncode == 0, local.stderr


def test_copy_moves_a_history_both_ways_and_again_adds_nothing(run_cli, reports: Path, url: str) -> None:
    for report, commit in (("flaky.xml", "c1"), ("green.xml", "c1"), ("flaky.xml", ""), ("red.xml", "c3")):
        assert run_cli("history", "record", report, "--commit", commit, "--job", "unit").exit_code == 0
    there = run_cli("history", "copy", "--from", ".junit-flaky/history.sqlite", "--to", url)
    assert there.exit_code == 0, there.stderr
    assert "copied 4 runs (10 attempts) from .junit-flaky/history.sqlite to postgresql://postgres:***@" in there.stdout
    assert "copied 0 runs (0 attempts)" in run_cli("history", "copy", "--from", ".junit-flaky/history.sqlite", "--to", url).stdout
    back = run_cli("history", "copy", "--from", url, "--to", "back.sqlite")
    assert "copied 4 runs (10 attempts)" in back.stdout and "(0 there already)" in back.stdout
    assert "copied 0 runs" in run_cli("history", "copy", "--from", url, "--to", ".junit-flaky/history.sqlite").stdout
    no_password(there.stdout, there.stderr, back.stdout, back.stderr)

    def rules(at: str) -> object:
        result = run_cli("thresholds", "compute", "--db", at)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    assert rules(url) == rules("back.sqlite") == rules(".junit-flaky/history.sqlite") != {"flaky_tests": []}
    with open_store(Path("back.sqlite")) as copied, open_store(DatabaseUrl(url)) as original:
        assert [run for _, run in copied.runs()] == [run for _, run in original.runs()]
        assert [list(copied.run_attempts(i)) for i, _ in copied.runs()] == [list(original.run_attempts(i)) for i, _ in original.runs()]


def test_copy_of_a_missing_history_or_onto_itself_is_exit_2(run_cli, reports: Path, url: str) -> None:
    missing = run_cli("history", "copy", "--from", "none.sqlite", "--to", url)
    assert missing.exit_code == 2 and "none.sqlite: no history database here" in missing.stderr
    same = run_cli("history", "copy", "--from", url, "--to", url)
    assert same.exit_code == 2 and "--from and --to are the same history" in same.stderr
    no_password(same.stderr)


def test_a_database_without_a_history_is_an_error_when_not_creating(url: str) -> None:
    with pytest.raises(JunitFlakyError, match="no junit-flaky history in this database"):
        with open_store(DatabaseUrl(url), create=False):
            pass


def test_an_older_schema_is_migrated_and_keeps_its_data(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as raw:  # a database as version 1 left it
        raw.execute("CREATE SCHEMA junit_flaky")
        raw.execute("SET search_path = junit_flaky")
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        raw.execute("INSERT INTO schema_version VALUES (1)")
        for statement in postgres.postgres_ddl(sqlite_store._SCHEMA_V1).split(";"):
            if statement.strip():
                raw.execute(statement)
        raw.execute("INSERT INTO runs (started, commit_sha) VALUES (10.0, 'c1')")
        raw.execute("INSERT INTO tests (key, classname, name, file, suite) VALUES (%s, 'm', 't', '', '')", (sqlite_store.key_of(("m", "t", "", "")),))
        raw.execute("INSERT INTO attempts VALUES (1, 1, 0, 2, 5), (1, 1, 1, 0, 5)")
    with open_store(DatabaseUrl(url)) as store:
        assert [(r.name, r.counts.runs) for r in store.commit_rows(since=0.0, branch=None)] == [("t", 2)]
        assert store.record(RunInfo(20.0, report_key="sha256:x"), [("m", "t", "", "", 0, 1)]) is not None
        assert store.has_report("sha256:x")
    with psycopg.connect(url) as raw:
        assert raw.execute("SELECT version FROM junit_flaky.schema_version").fetchone() == (sqlite_store.SCHEMA_VERSION,)


def test_a_role_without_create_on_the_database_records_into_the_empty_schema_it_owns(reports: Path, url: str) -> None:
    database = url.rsplit("/", 1)[1]
    role = f"ci_{database}"  # roles are the server's, not the database's: one of its own
    with psycopg.connect(url, autocommit=True) as admin:  # what a DBA does for it, as the README says
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'owner-pw'")
        admin.execute(f"REVOKE CREATE ON DATABASE {database} FROM PUBLIC")
        admin.execute(f"CREATE SCHEMA junit_flaky AUTHORIZATION {role}")
    login = url.replace(f"postgres:{PASSWORD}@", f"{role}:owner-pw@")
    result = subprocess.run([*CLI, "history", "record", "flaky.xml", "--commit", "c1", "--db", login], cwd=reports, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "recorded 3 attempts" in result.stdout
    with open_store(DatabaseUrl(login), create=False) as store:
        assert [r.name for r in store.commit_rows(since=0.0, branch=None)] == ["test_flaky[1]"]


def test_a_newer_schema_or_another_programs_schema_is_refused_and_left_alone(url: str) -> None:
    with open_store(DatabaseUrl(url)):
        pass
    with psycopg.connect(url, autocommit=True) as raw:
        raw.execute("UPDATE junit_flaky.schema_version SET version = version + 1")
    with pytest.raises(JunitFlakyError, match="newer than this junit-flaky knows"):
        with open_store(DatabaseUrl(url)):
            pass
    with psycopg.connect(url, autocommit=True) as raw:
        raw.execute("DROP SCHEMA junit_flaky CASCADE")
        raw.execute("CREATE SCHEMA junit_flaky")
        raw.execute("CREATE TABLE junit_flaky.users (name TEXT)")
    with pytest.raises(JunitFlakyError, match="not a junit-flaky history; it was left as it is"):
        with open_store(DatabaseUrl(url)):
            pass
    with psycopg.connect(url) as raw:
        assert raw.execute("SELECT COUNT(*) FROM junit_flaky.users").fetchone() == (0,)


def test_auto_quarantine_and_flake_regressions_read_and_write_a_postgresql_history(
    run_cli, reports: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_quarantine_auto import build_report

    monkeypatch.setenv("JUNIT_FLAKY_HISTORY_DB", url)
    for number, red in enumerate([True, False, True, False, True]):  # test_x failed 3 of its 5 builds
        past = build_report(reports / "past.xml", {"test_x": [red, red]})
        assert run_cli("history", "record", past, "--commit", f"c{number}").exit_code == 0
    now = build_report(reports / "now.xml", {"test_x": [True]})
    result = run_cli("run", now, "--no-rerun", "--no-flakybot", "--auto-quarantine", "--record-history", "--fail-on-flake-regression")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "quarantined m.T::test_x automatically: failed 3 of its last 5 builds" in result.stdout
    listed = json.loads(run_cli("quarantine", "list", "--format", "json").stdout)
    assert [(q["test"], q["source"]) for q in listed] == [("m.T::test_x", "auto")]
    no_password(result.stdout, result.stderr)


def test_a_connection_lost_while_staging_is_one_error_kept_for_the_end(url: str) -> None:
    """The scan hands testcases to the recorder as it reads; a server lost meanwhile must not
    stop the scan (run goes on, and warns at the end)."""
    from junit_flaky.history.record import RunRecorder
    from junit_flaky.model import Outcome

    recorder = RunRecorder(DatabaseUrl(url))
    recorder.BATCH = 1  # every testcase staged at once, so the store is open before the loss
    recorder.untracked(("m", "before", "", ""), Outcome.PASSED, "1")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'junit-flaky'")
    recorder.untracked(("m", "after", "", ""), Outcome.PASSED, "1")  # must not raise
    recorder.untracked(("m", "later", "", ""), Outcome.PASSED, "1")
    assert recorder.error is not None and str(recorder.error).startswith("postgresql://postgres:***@")
    with pytest.raises(JunitFlakyError) as caught:
        recorder.finish([], RunInfo(1.0))
    assert caught.value is recorder.error


def test_a_bad_timeout_is_exit_2_in_run_too_not_a_history_that_is_down(run_cli, reports: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNIT_FLAKY_HISTORY_STATEMENT_TIMEOUT", "1m")
    result = run_cli("run", "red.xml", "--no-flakybot", "--no-rerun", "--record-history", "--history-db", url)
    assert result.exit_code == 2
    assert "JUNIT_FLAKY_HISTORY_STATEMENT_TIMEOUT must be a number of seconds above 0, at most 86400, got '1m'" in result.stderr



def test_two_builds_starting_the_same_quarantines_in_opposite_orders_do_not_deadlock(url: str) -> None:
    """Another session holds test a's new quarantine while two builds start theirs, one as (a, b),
    the other as (b, a); when it lets go, whichever build gets a first must not end up waiting for
    b while the other waits for a. Each round both finish and each quarantine is started once;
    in another order than one they share, about every second round would deadlock."""
    with open_store(DatabaseUrl(url)):
        pass  # the schema
    for round_ in range(6):
        a, b = f"a{round_}", f"b{round_}"
        results: List[object] = []

        def start(order: List[str]) -> None:
            try:
                with open_store(DatabaseUrl(url)) as store:
                    results.append(store.start_quarantines([("m", name, "policy") for name in order], when=1.0))
            except BaseException as exc:  # reported in the test's thread
                results.append(exc)

        with psycopg.connect(url) as holder:
            holder.execute("INSERT INTO junit_flaky.quarantines (classname, name, reason, since) VALUES ('m', %s, 'held', 0)", (a,))
            builds = [threading.Thread(target=start, args=(order,)) for order in ([a, b], [b, a])]
            for build in builds:
                build.start()
            with psycopg.connect(url, autocommit=True) as watcher:
                for _ in range(600):  # until both builds wait on a lock (a minute at most)
                    waiting = watcher.execute(
                        "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'junit-flaky' AND wait_event_type = 'Lock'"
                    ).fetchone()[0]
                    if waiting == 2:
                        break
                    time.sleep(0.1)
                assert waiting == 2
            holder.rollback()  # a was never quarantined: one of the builds starts it
        for build in builds:
            build.join(timeout=60)
        assert sorted(map(str, results)) in (["0", "2"], ["1", "1"]), results
    with open_store(DatabaseUrl(url)) as store:
        assert len([q for q in store.quarantines() if q.released is None]) == 12


@pytest.fixture
def own_server(postgres_server) -> Iterator[object]:
    """A server of this test's own, which it may freeze (the session's one skips or fails first
    where none can be started)."""
    from tests import postgres_server as servers

    with servers.running() as server:
        yield server


@contextlib.contextmanager
def frozen(server) -> Iterator[None]:
    """Every process of the server's cluster stopped (SIGSTOP), the postmaster and its backends:
    the host's kernel still answers TCP, so keepalives succeed, but nothing else does; the
    server enforces no statement timeout. Thawed at the end."""
    postmaster = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    pids = [postmaster, *map(int, children)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize("command", ["history record", "run --record-history"])
def test_a_server_frozen_mid_statement_is_a_warning_in_run_and_exit_2_in_history_record_not_a_hang(
    reports: Path, own_server, command: str
) -> None:
    url = own_server.new_database()
    assert subprocess.run([*CLI, "history", "record", "flaky.xml", "--db", url], cwd=reports, env=_env(), timeout=60).returncode == 0
    args = {
        "history record": ["history", "record", "red.xml", "--db", url],
        "run --record-history": ["run", "red.xml", "--no-flakybot", "--no-rerun", "--record-history", "--history-db", url, "--output", "out.xml"],
    }[command]
    env = _env(JUNIT_FLAKY_HISTORY_STATEMENT_TIMEOUT="3", JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT="2")
    with psycopg.connect(url) as blocker, psycopg.connect(url, autocommit=True) as watcher:
        blocker.execute("LOCK TABLE junit_flaky.runs IN ACCESS EXCLUSIVE MODE")  # the command waits on it...
        build = subprocess.Popen([*CLI, *args], cwd=reports, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            for _ in range(300):
                waiting = watcher.execute(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'junit-flaky' AND wait_event_type = 'Lock'"
                ).fetchone()[0]
                if waiting or build.poll() is not None:
                    break
                time.sleep(0.1)
            assert waiting == 1, build.communicate()
            with frozen(own_server):  # ...and now its server will never answer
                try:
                    out, err = build.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"{command} still waits for a frozen server after a minute")
        finally:
            if build.poll() is None:
                build.kill()
                build.communicate()
    said = "history database did not answer within 5 s (JUNIT_FLAKY_HISTORY_STATEMENT_TIMEOUT + JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT)"
    if command == "history record":
        assert build.returncode == 2
        [line] = err.splitlines()
        assert line.startswith("junit-flaky: error: postgresql://postgres:***@127.0.0.1:") and said in line
    else:
        assert build.returncode == 1, err  # the verdict alone decides: test_flaky failed its only run
        assert (reports / "out.xml").exists()
        [warning] = [line for line in err.splitlines() if "warning" in line]
        assert said in warning
    no_password(out, err)
