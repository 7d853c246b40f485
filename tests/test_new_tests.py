"""New tests, flaky on arrival (``run --new-test-runs N``): real pytest projects, a real history.

Build 1 records the suite as it was; build 2 adds tests, which the history has never seen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from junit_flaky.junit_attempts import recorded_verdict
from junit_flaky import junit_read
from junit_flaky.limits import MAX_RUNS
from junit_flaky.model import Verdict
from junit_flaky.new_tests import extra_runs
from junit_flaky.upload import annotation
from junit_flaky.upload.reports import Report
from tests.projects import Project, flaky_body

RECORD = {"JUNIT_FLAKY_RECORD_HISTORY": "1"}
OLD_TESTS = f"def test_old():\n{flaky_body('old', [])}\n"


def counted(name: str, fail_on=(), sleep: float = 0.0) -> str:
    pause = f"    import time; time.sleep({sleep})\n" if sleep else ""
    return f"\n\ndef test_{name}():\n{pause}{flaky_body(name, fail_on)}"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project whose first build (test_old alone) is in the history."""
    project = Project(tmp_path)
    project.write("test_mod.py", OLD_TESTS)
    first = project.junit_flaky("run", str(project.pytest()), env=RECORD)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "recorded 1 attempt in the history" in first.stdout
    return project


def tool(project: Project, *args: str) -> subprocess.CompletedProcess:
    """A junit-flaky command other than run, in the project."""
    command = [sys.executable, "-m", "junit_flaky", *args]
    return subprocess.run(command, cwd=project.root, env=project.env(), capture_output=True, text=True, timeout=60)


def second_build(project: Project, *args: str, added: str, env: Optional[Dict[str, str]] = None):
    project.write("test_mod.py", OLD_TESTS + added)
    return project.junit_flaky("run", str(project.pytest()), "-o", "out.xml", "--json", "out.json", *args, env={**RECORD, **(env or {})})


@pytest.mark.reruns
def test_a_new_test_that_fails_its_second_run_is_flaky_on_arrival_and_fails_the_build(project: Project) -> None:
    result = second_build(project, "--new-test-runs", "5", added=counted("new", fail_on=[2]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "test_new: FLAKY - new test, flaky on arrival: failed 1 of 2 runs (this flaky verdict fails the build)" in result.stdout
    assert "1 new test is flaky on arrival, which fails the build" in result.stdout
    assert project.runs("new") == 2  # it stops at the first failure
    assert project.runs("old") == 2  # one run per build: the history knows it
    report = json.loads((project.root / "out.json").read_text())
    [new] = [t for t in report["tests"] if t["name"] == "test_new"]
    assert report["failed"] is True
    assert (new["verdict"], new["reason"]) == ("flaky", "new test, flaky on arrival: failed 1 of 2 runs")
    # The XML says failed, so every reader (merge, the annotation, Test Engine) counts what the
    # build did; its failed run stays a flaky child and the reason is the failure's message.
    [case] = [c for c in junit_read.testcases(project.root / "out.xml") if c.test.name == "test_new"]
    assert recorded_verdict(case.element) is Verdict.FAILED
    assert case.element.find("failure").get("message") == "junit-flaky: new test, flaky on arrival: failed 1 of 2 runs"
    assert [c.local for c in case.element.children if c.local.startswith("flaky")] == ["flakyFailure"]
    note = annotation.build([(Report(project.root / "out.xml"), None)])
    assert note.style == "error" and annotation.md("new test, flaky on arrival: failed 1 of 2 runs") in note.markdown
    merged = tool(project, "merge", "out.xml", "-o", "merged.xml")
    assert merged.returncode == 1 and "1 failed" in merged.stdout
    recorded = tool(project, "history", "record", "out.xml", "--db", "again.sqlite")
    assert "recorded 3 attempts" in recorded.stdout  # old, and the new test's failed run and its pass


@pytest.mark.reruns
def test_allow_new_flaky_reports_it_without_failing_the_build(project: Project) -> None:
    result = second_build(project, "--new-test-runs", "5", "--allow-new-flaky", added=counted("new", fail_on=[2]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_new: FLAKY - new test, flaky on arrival: failed 1 of 2 runs\n" in result.stdout
    assert "which does not fail the build (--allow-new-flaky)" in result.stdout


@pytest.mark.reruns
def test_a_stable_new_test_runs_n_times_and_passes_and_the_history_knows_it_next_time(project: Project) -> None:
    result = second_build(project, "--new-test-runs", "5", added=counted("new"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.runs("new") == 5 and project.runs("old") == 2
    assert "1 new test (never seen by the history): run up to 5 times each (--new-test-runs 5)" in result.stdout
    assert "recorded 6 attempts in the history" in result.stdout  # looked up before it was recorded
    third = project.junit_flaky("run", str(project.pytest()), "--new-test-runs", "5", env=RECORD)
    assert third.returncode == 0, third.stdout + third.stderr
    assert project.runs("new") == 6 and "new test" not in third.stdout


@pytest.mark.reruns
def test_the_default_is_8_runs_wherever_a_history_is_in_use(project: Project) -> None:
    result = second_build(project, added=counted("new"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.runs("new") == 8


@pytest.mark.reruns
@pytest.mark.parametrize("how", ["first build", "no history in use", "damaged"])
def test_without_a_history_the_option_is_off_and_the_report_says_so(tmp_path: Path, how: str) -> None:
    project = Project(tmp_path)
    project.write("test_mod.py", OLD_TESTS + counted("new"))
    env = {} if how == "no history in use" else RECORD
    if how == "damaged":
        (tmp_path / "h.sqlite").write_bytes(b"not a database " * 100)
        env = {"JUNIT_FLAKY_HISTORY_DB": str(tmp_path / "h.sqlite")}
    result = project.junit_flaky("run", str(project.pytest()), "--new-test-runs", "5", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--new-test-runs is off: no history to tell new tests by" in result.stdout
    assert project.runs("new") == 1


@pytest.mark.reruns
def test_the_budget_gives_a_slow_new_test_fewer_runs(project: Project) -> None:
    # test_slow takes 0.4 s a run: a budget of 0.6 s leaves it at most one more run.
    result = second_build(project, "--new-test-runs", "5", "--new-test-budget", "0.6", added=counted("fast") + counted("slow", sleep=0.4))
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.runs("fast") == 5
    assert project.runs("slow") <= 2
    assert "2 new tests (never seen by the history): run up to 5 times each (--new-test-runs 5); 1 of them fewer, to fit --new-test-budget 0.6s" in result.stdout


@pytest.mark.parametrize(
    "args, error",
    [
        (["--new-test-runs", "0"], f"--new-test-runs must be from 1 (off) to {MAX_RUNS}, got 0"),
        (["--new-test-runs", str(MAX_RUNS + 1)], f"--new-test-runs must be from 1 (off) to {MAX_RUNS}, got {MAX_RUNS + 1}"),
        (["--new-test-budget", "-1"], "--new-test-budget must be a number of seconds, 0 or more, got -1"),
    ],
)
def test_bad_values_are_a_one_line_error(run_cli, clean_env: Path, args, error: str) -> None:
    (clean_env / "r.xml").write_text('<testsuite name="s"><testcase classname="m" name="t"/></testsuite>')
    result = run_cli("run", "r.xml", "--no-flakybot", *args)
    assert result.exit_code == 2
    assert result.stderr == f"junit-flaky: error: {error}\n"


@pytest.mark.parametrize(
    "table, error",
    [
        ('new-test-runs = "5"', "new-test-runs must be an integer, got '5'"),
        ("new-test-runs = 0", f"new-test-runs must be from 1 (off) to {MAX_RUNS}, got 0"),
        ("new-test-budget = -5", "new-test-budget must be a number of seconds, 0 or more, got -5"),
        ("allow-new-flaky = 1", "allow-new-flaky must be true or false, got 1"),
    ],
)
def test_a_bad_pyproject_value_is_a_one_line_error_naming_the_file(run_cli, clean_env: Path, table: str, error: str) -> None:
    (clean_env / "r.xml").write_text('<testsuite name="s"><testcase classname="m" name="t"/></testsuite>')
    (clean_env / "pyproject.toml").write_text(f"[tool.junit-flaky]\n{table}\n")
    result = run_cli("run", "r.xml", "--no-flakybot")
    assert result.exit_code == 2
    assert result.stderr == f"junit-flaky: error: {clean_env / 'pyproject.toml'}: [tool.junit-flaky] {error}\n"


@pytest.mark.parametrize(
    "durations, caps, budget, runs",
    [
        ([1.0, 1.0], [4, 4], 100.0, [4, 4]),  # enough for all
        ([0.1, 10.0], [4, 4], 5.0, [4, 0]),  # 0.4 s for the fast one; none of the slow one fits
        ([0.1, 2.0], [7, 7], 4.7, [7, 2]),  # the same time T = 4 s each: 7 fast runs (0.7 s), 2 slow
        ([0.0, 5.0], [7, 7], 0.0, [7, 0]),  # no recorded duration costs nothing
        ([], [], 10.0, []),
    ],
)
def test_each_new_test_gets_the_same_time_for_its_extra_runs_within_the_budget(durations, caps, budget, runs) -> None:
    assert extra_runs(durations, caps, budget) == runs
    assert sum(r * d for r, d in zip(runs, durations)) <= budget


@pytest.mark.reruns
def test_when_too_many_tests_look_new_none_is_rerun(project: Project) -> None:
    # 101 new of 102: the history is another suite's, or the tests were renamed.
    many = '\n\nimport pytest\n\n@pytest.mark.parametrize("i", range(101))\ndef test_many(i):\n' + flaky_body("many", [], key="f'many{i}'")
    result = second_build(project, "--new-test-runs", "5", added=many)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--new-test-runs reran no test: 101 of the 102 testcases are new to the history, more than 30%" in result.stdout
    assert project.runs("many0") == 1 and project.runs("many100") == 1


@pytest.mark.reruns
def test_a_new_test_pytest_cannot_rerun_passes_saying_why(project: Project) -> None:
    # A report of another runner's tests (or a test since deleted): its reruns cannot happen,
    # which is no evidence against it.
    (project.root / "other.xml").write_text(
        '<testsuites><testsuite name="pytest"><testcase classname="test_mod" name="test_old" time="0.01"/></testsuite>'
        '<testsuite name="maven"><testcase classname="com.example.FooTest" name="testBar" time="0.1"/></testsuite></testsuites>'
    )
    result = project.junit_flaky("run", "other.xml", "--new-test-runs", "3", "--json", "out.json", env=RECORD)
    assert result.returncode == 0, result.stdout + result.stderr
    [new] = json.loads((project.root / "out.json").read_text())["tests"]
    assert (new["name"], new["verdict"]) == ("testBar", "passed")
    assert new["reason"].startswith("new test, passed 1 run (could not be rerun: ")


@pytest.mark.reruns
def test_new_tests_rerun_in_the_same_pytest_process_as_the_other_reruns(project: Project) -> None:
    project.write("test_mod.py", f"def test_old():\n{flaky_body('old', [2])}\n" + counted("new"))
    result = project.junit_flaky(
        "run", str(project.pytest()), "--new-test-runs", "4", "--max-runs", "3", "--rerun-log", "rerun.log", env=RECORD
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_old: FLAKY" in result.stdout and project.runs("new") == 4
    started = [line for line in (project.root / "rerun.log").read_text().splitlines() if line.startswith("$ ")]
    assert len(started) == 1  # one pytest for the failed test's reruns and the new test's


@pytest.mark.reruns
def test_fail_on_flaky_wins_over_allow_new_flaky_and_the_note_says_what_happened(project: Project) -> None:
    result = second_build(project, "--new-test-runs", "5", "--allow-new-flaky", "--fail-on-flaky", added=counted("new", fail_on=[2]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 new test is flaky on arrival, which fails the build\n" in result.stdout


@pytest.mark.reruns
def test_a_new_test_that_fails_its_first_run_and_passes_a_rerun_is_flaky_on_arrival_and_fails_the_build(project: Project) -> None:
    result = second_build(project, "--max-runs", "3", "--thresholds-from-history", added=counted("new", fail_on=[1]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "test_new: FLAKY - new test, flaky on arrival: failed 1 of 2 runs (this flaky verdict fails the build)" in result.stdout
    assert "1 new test is flaky on arrival, which fails the build" in result.stdout
    assert project.runs("new") == 2  # its usual reruns, stopped at the first pass
    report = json.loads((project.root / "out.json").read_text())
    [new] = [t for t in report["tests"] if t["name"] == "test_new"]
    assert (new["verdict"], report["failed"]) == ("flaky", True)
    allowed = second_build(project, "--max-runs", "3", "--allow-new-flaky", added=counted("other", fail_on=[1]))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "test_other: FLAKY - new test, flaky on arrival: failed 1 of 2 runs\n" in allowed.stdout


@pytest.mark.reruns
def test_a_new_test_that_fails_every_run_stays_failed(project: Project) -> None:
    result = second_build(project, "--max-runs", "3", added=counted("new", fail_on=[1, 2, 3]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "test_new: FAILED - passed 0 out of the required 1 time in 3 runs (max 3)" in result.stdout
    assert "flaky on arrival" not in result.stdout and project.runs("new") == 3


@pytest.mark.reruns
def test_a_ci_retry_of_the_same_commit_checks_its_new_tests_again(project: Project) -> None:
    """The first attempt of commit abc failed (flaky on arrival) and was recorded; retrying the
    build must not count that attempt as the history having seen the test. Another commit does."""
    ci = {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abc", "GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "1"}
    first = second_build(project, "--new-test-runs", "5", added=counted("new", fail_on=[2]), env=ci)
    assert first.returncode == 1 and "flaky on arrival" in first.stdout, first.stdout + first.stderr
    retry = second_build(project, "--new-test-runs", "5", added=counted("new", fail_on=[2]), env={**ci, "GITHUB_RUN_ATTEMPT": "2"})
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert "1 new test (never seen by the history): run up to 5 times each" in retry.stdout
    assert project.runs("new") == 2 + 5
    later = second_build(project, "--new-test-runs", "5", added=counted("new", fail_on=[2]), env={**ci, "GITHUB_SHA": "def", "GITHUB_RUN_ID": "8"})
    assert later.returncode == 0 and "new test" not in later.stdout, later.stdout + later.stderr
    assert project.runs("new") == 2 + 5 + 1


@pytest.mark.reruns
def test_buildkite_builds_made_at_head_tell_new_tests_by_the_history(project: Project) -> None:
    """A build made without a commit (a schedule, the UI's New Build) has BUILDKITE_COMMIT=HEAD in
    every job: a test the last such build recorded is known, not one only 'this commit' saw."""
    head = {"BUILDKITE": "true", "BUILDKITE_COMMIT": "HEAD", "BUILDKITE_BUILD_ID": "b1", "BUILDKITE_JOB_ID": "j1"}
    first = second_build(project, "--new-test-runs", "5", added=counted("new"), env=head)
    assert first.returncode == 0 and project.runs("new") == 5, first.stdout + first.stderr
    nightly = second_build(project, "--new-test-runs", "5", added=counted("new"), env={**head, "BUILDKITE_BUILD_ID": "b2", "BUILDKITE_JOB_ID": "j2"})
    assert nightly.returncode == 0 and "new test" not in nightly.stdout, nightly.stdout + nightly.stderr
    assert project.runs("new") == 5 + 1


@pytest.mark.reruns
def test_a_new_test_the_user_listed_keeps_its_listed_rule(project: Project) -> None:
    """A --thresholds file lists test_listed (max_runs 3): the user's rule decides it, as it does
    without a history: flaky, which fails no build, and a passing listed test is not rerun."""
    (project.root / "th.toml").write_text('[[flaky_tests]]\ntest_name = "test_listed"\nmax_runs = 3\n\n[[flaky_tests]]\ntest_name = "test_calm"\nmax_runs = 3\n')
    result = second_build(project, "--thresholds", "th.toml", added=counted("listed", fail_on=[1]) + counted("calm"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_listed: FLAKY" in result.stdout and "flaky on arrival" not in result.stdout
    assert "new test" not in result.stdout
    assert project.runs("listed") == 2 and project.runs("calm") == 1


@pytest.mark.reruns
def test_a_new_test_skipped_once_and_passed_once_failed_no_run(project: Project) -> None:
    """A skipped attempt is no run (the verdicts' tally): it failed no run, so it is a new test
    that passed, under the new-test rule; and a skip ends a test's runs, as in every verdict."""
    project.write("test_mod.py", OLD_TESTS + counted("new"))
    (project.root / "skipped.xml").write_text(
        '<testsuite name="pytest"><testcase classname="test_mod" name="test_old" time="0.01"/>'
        '<testcase classname="test_mod" name="test_new" time="0.01"><skipped message="not yet"/></testcase>'
        '<testcase classname="test_mod" name="test_new" time="0.01"/></testsuite>'
    )
    result = project.junit_flaky("run", "skipped.xml", "--new-test-runs", "4", "--json", "out.json", env=RECORD)
    assert result.returncode == 0, result.stdout + result.stderr
    [new] = [t for t in json.loads((project.root / "out.json").read_text())["tests"] if t["name"] == "test_new"]
    assert (new["verdict"], new["thresholds_source"]) == ("passed", "new test (--new-test-runs 4)")
    assert new["reason"] == "passed 1 out of the required 4 times; skipped, never failed"
    assert project.runs("new") == 0


@pytest.mark.reruns
def test_when_the_rerun_step_reruns_nothing_the_note_says_the_new_test_was_not_rerun(project: Project) -> None:
    """test_old fails, more failing tests than --max-reruns-total 0: nothing is rerun, the new
    test included, and the note must not claim runs that did not happen."""
    project.write("test_mod.py", f"def test_old():\n{flaky_body('old', [2])}\n" + counted("new"))
    result = project.junit_flaky("run", str(project.pytest()), "--max-reruns-total", "0", "--max-runs", "3", env=RECORD)
    assert result.returncode == 1, result.stdout + result.stderr
    assert project.runs("new") == 1
    assert "run up to" not in result.stdout
    assert "1 new test (never seen by the history): not rerun (--new-test-runs 8), as its verdict says" in result.stdout
