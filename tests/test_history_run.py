"""``run`` with the history: recording each run (--record-history) and learning thresholds from
it (--thresholds-from-history)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from junit_flaky.history.learn import thresholds_from_history
from junit_flaky.verdicts import plural
from tests.history_samples import FLAKY_RUN, RED_RUN
from tests.projects import Project, flaky_body

OTHER_SHARD = """<testsuite name="t">
<testcase classname="pkg.TestB" name="test_one" time="1"/>
<testcase classname="pkg.TestB" name="test_two" time="1"><skipped/></testcase>
</testsuite>"""
DEFAULT_DB = Path(".junit-flaky") / "history.sqlite"


@pytest.fixture
def reports(clean_env: Path) -> Path:
    (clean_env / "flaky.xml").write_text(FLAKY_RUN)
    (clean_env / "red.xml").write_text(RED_RUN)
    (clean_env / "other.xml").write_text(OTHER_SHARD)
    return clean_env


def run_offline(run_cli, *args):
    return run_cli("run", *args, "--no-flakybot", "--no-rerun")


@pytest.mark.parametrize(
    "option, env, pyproject, recorded",
    [
        ("--record-history", None, None, True),
        (None, "1", None, True),
        (None, None, "true", True),
        (None, None, None, False),
        ("--no-record-history", None, "true", False),
        (None, "0", "true", False),
    ],
)
def test_record_history_is_switched_by_option_env_or_pyproject(
    run_cli, reports: Path, monkeypatch: pytest.MonkeyPatch, option, env, pyproject, recorded: bool
) -> None:
    if env is not None:
        monkeypatch.setenv("JUNIT_FLAKY_RECORD_HISTORY", env)
    if pyproject is not None:
        (reports / "pyproject.toml").write_text(f"[tool.junit-flaky]\nrecord-history = {pyproject}\n")
    result = run_offline(run_cli, "flaky.xml", *([option] if option else []))
    assert result.exit_code == 0, result.stderr
    assert (reports / DEFAULT_DB).exists() == recorded
    assert ("recorded 3 attempts in the history" in result.stdout) == recorded


def test_recorded_run_is_flaky_evidence_for_the_next_one(run_cli, reports: Path) -> None:
    run_offline(run_cli, "flaky.xml", "--record-history")
    [entry] = thresholds_from_history(reports / DEFAULT_DB)
    assert (entry.class_name, entry.test_name) == ("pkg.TestA", "test_flaky[1]")
    rule = f"pass {entry.thresholds.min_passes} of max {entry.thresholds.max_runs}"

    result = run_offline(run_cli, "red.xml", "--thresholds-from-history")
    assert f"pkg.TestA::test_flaky[1]  ({rule}; from history {DEFAULT_DB})" in result.stdout
    assert f"needs {plural(entry.thresholds.min_passes, 'more run')}" in result.stdout


def test_output_replacing_an_input_records_each_attempt_once(run_cli, reports: Path) -> None:
    result = run_offline(run_cli, "flaky.xml", "other.xml", "--output", "flaky.xml", "--record-history")
    assert result.exit_code == 0, result.stderr
    assert "recorded 5 attempts in the history" in result.stdout
    again = run_cli("history", "record", "flaky.xml")  # the rewritten file holds the same attempts
    assert "recorded 5 attempts" in again.stdout


def test_history_db_option_env_and_pyproject_place_the_file(run_cli, reports: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (reports / "pyproject.toml").write_text('[tool.junit-flaky]\nhistory-db = "ci/h.sqlite"\nrecord-history = true\n')
    run_offline(run_cli, "flaky.xml")
    assert (reports / "ci" / "h.sqlite").exists()
    monkeypatch.setenv("JUNIT_FLAKY_HISTORY_DB", str(reports / "env.sqlite"))
    run_offline(run_cli, "flaky.xml")
    assert (reports / "env.sqlite").exists()
    run_offline(run_cli, "flaky.xml", "--history-db", "opt.sqlite")
    assert (reports / "opt.sqlite").exists()


def test_a_listed_entry_overrides_what_the_history_learned(run_cli, reports: Path) -> None:
    run_offline(run_cli, "flaky.xml", "--record-history")
    (reports / "pyproject.toml").write_text(
        '[tool.junit-flaky]\nthresholds-from-history = true\n'
        '[[tool.junit-flaky.flaky_tests]]\ntest_name = "test_flaky"\nmin_passes = 1\nmax_runs = 2\n'
    )
    result = run_cli("thresholds", "show", "red.xml", "--no-flakybot")
    assert result.exit_code == 0, result.stderr
    assert f"history {DEFAULT_DB}: pkg.TestA::test_flaky[1]: pass " in result.stdout
    assert "pkg.TestA::test_flaky[1]: pass 1 of max 2 (from pyproject.toml [tool.junit-flaky])" in result.stdout


def test_without_the_switch_the_history_is_not_read(run_cli, reports: Path) -> None:
    run_offline(run_cli, "flaky.xml", "--record-history")
    result = run_offline(run_cli, "red.xml")
    assert "from built-in default" in result.stdout and "history" not in result.stdout


@pytest.mark.parametrize("damaged", [False, True])
def test_a_missing_or_damaged_history_is_a_warning_and_the_run_goes_on(run_cli, reports: Path, damaged: bool) -> None:
    db = reports / "h.sqlite"
    junk = b"not a database " * 100
    if damaged:
        db.write_bytes(junk)
    result = run_offline(
        run_cli, "red.xml", "--thresholds-from-history", "--record-history", "--history-db", "h.sqlite", "--output", "out.xml"
    )
    assert result.exit_code == 1  # the verdict alone decides: test_flaky failed its only run
    assert (reports / "out.xml").exists()
    warnings = [line for line in result.stderr.splitlines() if line.startswith("junit-flaky: warning:")]
    if damaged:
        assert db.read_bytes() == junk  # never overwritten
        assert [re.sub(r":.*", "", w[len("junit-flaky: warning: "):]) for w in warnings] == [
            "no thresholds from history", "history not recorded"
        ]
        assert all("damaged" in w for w in warnings)
    else:
        assert warnings == ["junit-flaky: warning: no thresholds from history: h.sqlite: no history database here (record some runs first)"]
        assert "recorded 2 attempts in the history" in result.stdout


def test_a_history_path_the_file_system_refuses_is_a_warning(run_cli, reports: Path) -> None:
    refused = "x" * 300 + ".sqlite"  # longer than any file name may be
    result = run_offline(run_cli, "red.xml", "--thresholds-from-history", "--record-history", "--history-db", refused, "--output", "out.xml")
    assert result.exit_code == 1 and (reports / "out.xml").exists()
    assert result.stderr.count("cannot open history database: File name too long") == 2


def test_the_default_database_is_in_the_current_directory_whatever_rootdir_says(run_cli, reports: Path) -> None:
    (reports / "sub").mkdir()
    run_offline(run_cli, "flaky.xml", "--record-history", "--rootdir", "sub")
    result = run_cli("stats", "--format", "json")  # the next command of the same CI step
    assert result.exit_code == 0, result.stderr
    assert '"test_flaky[1]"' in result.stdout and not (reports / "sub" / ".junit-flaky").exists()


def test_a_history_db_without_a_switch_is_reported_unused(run_cli, reports: Path) -> None:
    result = run_offline(run_cli, "flaky.xml", "--history-db", "h.sqlite")
    assert result.exit_code == 0
    assert "warning: --history-db h.sqlite is unused" in result.stderr and not (reports / "h.sqlite").exists()


def test_a_switch_in_pyproject_that_is_not_a_boolean_is_exit_2(run_cli, reports: Path) -> None:
    (reports / "pyproject.toml").write_text('[tool.junit-flaky]\nrecord-history = "yes"\n')
    result = run_offline(run_cli, "flaky.xml")
    assert result.exit_code == 2
    assert result.stderr == (
        f"junit-flaky: error: {reports / 'pyproject.toml'}: [tool.junit-flaky] record-history must be true or false, got 'yes'\n"
    )


@pytest.mark.reruns
def test_a_flaky_failure_recorded_in_one_build_is_rerun_in_the_next(tmp_path: Path) -> None:
    """The loop a team without Flakybot runs: record each build, learn from the ones before."""
    project = Project(tmp_path)
    project.write("test_mod.py", f"def test_flaky():\n{flaky_body('flaky', [1, 3])}\n\ndef test_stable():\n    pass\n")
    env = {"JUNIT_FLAKY_RECORD_HISTORY": "1"}

    # Build 1: the rule of the day is "rerun twice"; the failure and its passing rerun are recorded.
    first = project.junit_flaky("run", str(project.pytest()), "--max-runs", "3", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "recorded 3 attempts in the history" in first.stdout

    # Build 2: no rule is set by hand; the history's alone reruns the test that fails again.
    report = project.pytest()
    [learned] = thresholds_from_history(tmp_path / DEFAULT_DB)
    second = project.junit_flaky("run", str(report), "--thresholds-from-history", "--output", "final.xml", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "FLAKY" in second.stdout and "from history" in second.stdout
    assert project.runs("flaky") == 3 + learned.thresholds.min_passes
    assert f"recorded {2 + learned.thresholds.min_passes} attempts in the history" in second.stdout


def test_a_folder_given_as_the_history_db_is_a_warning_like_any_unusable_history(run_cli, reports: Path) -> None:
    (reports / "dbdir").mkdir()
    result = run_offline(run_cli, "red.xml", "--thresholds-from-history", "--history-db", "dbdir")
    assert result.exit_code == 1  # the verdict's code, not a usage error
    assert "warning: no thresholds from history: dbdir: is a folder, not a history database" in result.stderr


def test_a_huge_time_still_records_the_history_and_writes_the_output(run_cli, reports: Path) -> None:
    (reports / "huge.xml").write_text(
        '<testsuite name="s"><testcase classname="m" name="t" time="1e308"/>'
        '<testcase classname="m" name="u" time="99999999999999999999"><failure/></testcase></testsuite>'
    )
    result = run_offline(run_cli, "huge.xml", "--record-history", "-o", "out.xml")
    assert result.exit_code == 1, result.stderr
    assert "recorded 2 attempts in the history" in result.stdout
    assert (reports / "out.xml").exists()


def test_a_test_straight_in_a_named_testsuites_root_is_recorded_as_one_test(run_cli, reports: Path) -> None:
    """``history record`` streams a passing test, ``run --record-history`` records it tracked when
    it failed: both with the scan's identity, so the history holds one test with two runs."""
    (reports / "pass.xml").write_text('<testsuites name="all"><testcase classname="m" name="t"/></testsuites>')
    (reports / "fail.xml").write_text('<testsuites name="all"><testcase classname="m" name="t"><failure/></testcase></testsuites>')
    assert run_cli("history", "record", "pass.xml").exit_code == 0
    run_offline(run_cli, "fail.xml", "--record-history")
    db = sqlite3.connect(reports / DEFAULT_DB)
    assert db.execute("SELECT suite, classname, name FROM tests").fetchall() == [("", "m", "t")]
    assert db.execute("SELECT COUNT(*) FROM attempts").fetchone() == (2,)
