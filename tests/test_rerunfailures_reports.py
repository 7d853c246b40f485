"""Reports that pytest-rerunfailures 16.7 really wrote (tests/data/rerunfailures/README.md): every
attempt that it reran is an empty <testcase> before the test's last one, and is a failed attempt.
Other producers repeat a passing <testcase> for other reasons, and those stay passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from junit_flaky import junit_read
from junit_flaky.junit_attempts import RERUN_KEPT_NO_DETAILS, attempts_of, recorded_verdict
from tests.junit_builders import testcase, testsuite, testsuites, write
from tests.junit_checks import parse
from tests.vendored import DATA

REPORTS = sorted((DATA / "rerunfailures").glob("*.xml"))


def test_the_reports_are_there() -> None:
    assert len(REPORTS) == 3


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: p.stem)
def test_reruns_recorded_by_pytest_rerunfailures_are_failed_attempts(run_cli, tmp_path: Path, report: Path) -> None:
    js = tmp_path / "out.json"
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", tmp_path / "out.xml", "--json", js)
    seen = json.loads(js.read_text())
    tests = {test["name"]: test for test in seen["tests"]}
    outcomes = {name: [attempt["outcome"] for attempt in tests[name]["attempts"]] for name in ("test_flaky", "test_always_fails")}
    assert outcomes == {"test_flaky": ["failed", "passed"], "test_always_fails": ["failed", "failed", "failed"]}
    assert seen["summary"] == {"passed": 1, "flaky": 1, "failed": 1, "skipped": 0, "quarantined": 0}
    assert result.exit_code == 1  # as pytest's own: a test failed every time


def outcomes_read(run_cli, tmp_path: Path, *reports: Path, exit_code: int = 0) -> dict:
    js = tmp_path / "out.json"
    result = run_cli("run", *reports, "--no-rerun", "--no-flakybot", "-o", tmp_path / "out.xml", "--json", js)
    assert result.exit_code == exit_code, result.stderr
    return {test["name"]: [attempt["outcome"] for attempt in test["attempts"]] for test in json.loads(js.read_text())["tests"]}


def test_a_rerun_attempt_is_a_failure_whose_details_were_not_kept(run_cli, tmp_path: Path) -> None:
    js = tmp_path / "out.json"
    run_cli("run", REPORTS[0], "--no-rerun", "--no-flakybot", "-o", tmp_path / "out.xml", "--json", js)
    test = next(t for t in json.loads(js.read_text())["tests"] if t["name"] == "test_flaky")
    first = test["attempts"][0]
    assert (first["outcome"], first["message"]) == ("failed", "failed (pytest-rerunfailures kept no details of this attempt)")
    assert "type" not in first and "text" not in first  # --json leaves out what is empty


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: p.stem)
def test_merge_records_the_flaky_test_as_flaky(run_cli, tmp_path: Path, report: Path) -> None:
    out = tmp_path / "m.xml"
    result = run_cli("merge", report, "-o", out)
    assert "3 tests: 1 passed, 1 flaky, 1 failed" in result.stdout and result.exit_code == 1
    verdicts = {case.test.name: recorded_verdict(case.element).value for case in junit_read.testcases(out)}
    assert verdicts == {"test_flaky": "flaky", "test_always_fails": "failed", "test_passes": "passed"}


@pytest.mark.parametrize("command", ["run", "merge"])
@pytest.mark.parametrize("report", REPORTS, ids=lambda p: p.stem)
def test_the_failure_written_for_a_test_that_always_failed_is_its_attempt_with_details(
    run_cli, tmp_path: Path, report: Path, command: str
) -> None:
    """Jenkins, GitLab and Test Engine show only the <failure>: it holds the last attempt's message
    and trace, all pytest-rerunfailures kept; the reruns it kept nothing of are rerunFailures."""
    out = tmp_path / "out.xml"
    options = ["--no-rerun", "--no-flakybot"] if command == "run" else []
    assert run_cli(command, report, *options, "-o", out).exit_code == 1
    case = parse(out).find(".//testcase[@name='test_always_fails']")
    assert [(c.tag, c.get("message")) for c in case] == [
        ("failure", "assert 1 == 2"), ("rerunFailure", RERUN_KEPT_NO_DETAILS), ("rerunFailure", RERUN_KEPT_NO_DETAILS),
    ]
    failure = case.find("failure")
    assert failure.get("type") == "AssertionError"  # from pytest's crash line
    assert ">       assert 1 == 2" in failure.text and failure.text.endswith("test_rf.py:16: AssertionError")
    # Read back: still three failed runs, the one with details first (Surefire's <failure> is the
    # first attempt it records), and merge keeps the verdict.
    [written] = [c.element for c in junit_read.testcases(out) if c.test.name == "test_always_fails"]
    assert [(a.outcome.value, a.message) for a in attempts_of(written)] == [
        ("failed", "assert 1 == 2"), ("failed", RERUN_KEPT_NO_DETAILS), ("failed", RERUN_KEPT_NO_DETAILS),
    ]
    again = run_cli("merge", out, "-o", tmp_path / "again.xml")
    assert "3 tests: 1 passed, 1 flaky, 1 failed" in again.stdout and again.exit_code == 1


def test_reruns_are_read_beside_a_call_failure_and_its_teardown_error(run_cli, tmp_path: Path) -> None:
    # pytest writes that failure as two testcases and counts it once in ``tests``.
    teardown = testcase("test_broken", "error", message='failed on teardown with "RuntimeError: leak"')
    cases = [testcase("test_flaky"), testcase("test_flaky"), testcase("test_broken", "failed"), teardown, testcase("test_passes")]
    report = write(tmp_path / "r.xml", testsuites(testsuite(*cases, tests="3", failures="1", errors="1")))
    outcomes = outcomes_read(run_cli, tmp_path, report, exit_code=1)
    assert outcomes == {"test_flaky": ["failed", "passed"], "test_broken": ["failed"]}


def test_overlapping_shards_that_both_passed_a_test_stay_passes(run_cli, tmp_path: Path) -> None:
    # The same passing test in two shards' suites, whose ``tests`` count every testcase: passed
    # in each suite that reports it, so counted as passed and not listed (see README's --json).
    shard = testsuite(testcase("test_shared"), testcase("test_other"), tests="2")
    one_file = write(tmp_path / "one.xml", testsuites(shard, shard))
    first, second = write(tmp_path / "a.xml", shard), write(tmp_path / "b.xml", shard)
    for reports in ([one_file], [first, second]):
        assert outcomes_read(run_cli, tmp_path, *reports) == {}
        summary = json.loads((tmp_path / "out.json").read_text())["summary"]
        assert summary == {"passed": 2, "flaky": 0, "failed": 0, "skipped": 0, "quarantined": 0}
        written = {case.test.name: recorded_verdict(case.element).value for case in junit_read.testcases(tmp_path / "out.xml")}
        assert written == {"test_shared": "passed", "test_other": "passed"}


def test_pytest_keep_duplicates_repeats_stay_passes(run_cli, tmp_path: Path) -> None:
    # ``pytest --keep-duplicates tests tests/test_mod.py`` runs each test twice, counts both.
    report = write(tmp_path / "r.xml", testsuites(testsuite(*[testcase("test_a"), testcase("test_b")] * 2, tests="4", failures="0")))
    assert outcomes_read(run_cli, tmp_path, report) == {"test_a": ["passed", "passed"], "test_b": ["passed", "passed"]}


def test_a_repeated_pass_in_a_suite_whose_tests_leave_out_its_skips_stays_a_pass(run_cli, tmp_path: Path) -> None:
    # Ginkgo counts only the specs it ran in ``tests``; two specs may share one name.
    skips = [testcase(f"test_skip_{i}", "skipped") for i in range(3)]
    report = write(tmp_path / "r.xml", testsuite(testcase("test_same"), *skips, testcase("test_same"), tests="2"))
    assert outcomes_read(run_cli, tmp_path, report)["test_same"] == ["passed", "passed"]


def test_the_history_records_the_failed_attempts(run_cli, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    for report in REPORTS:  # three builds
        (tmp_path / "old" / report.name).write_bytes(report.read_bytes())
    assert run_cli("history", "import", "old").exit_code == 0
    every_run = ("--window-days", "100000")  # the reports' own timestamps date the runs
    stats = json.loads(run_cli("stats", "--format", "json", *every_run).stdout)
    # test_always_fails failed every attempt: a failure, no flaky evidence.
    assert [(s["test_name"], s["runs"], s["flaky_failures"]) for s in stats] == [("test_flaky", 6, 3)]
    computed = json.loads(run_cli("thresholds", "compute", *every_run).stdout)["flaky_tests"]
    assert [(t["test_name"], t["runs"], t["flaky_failures"]) for t in computed] == [("test_flaky", 6, 3)]
