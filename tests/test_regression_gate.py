"""--fail-on-flake-regression as a gate: it judges this build's run alone (a shared history has
other builds' runs recorded in between), never fails on a quarantined test, and refuses to run
where it could check nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

from junit_flaky.history.store import RunInfo, open_store
from tests.test_history_regression import DB, F, P, history, report, run_recorded  # noqa: F401 (history: a fixture)


def another_build_records(history: Path, outcomes: str) -> None:
    """Another build on the same history, which started after this one and recorded its run of
    test_rising first (``outcomes``: "FFP")."""
    with open_store(history / DB) as store:
        rows = [("pkg", "test_rising", "", "", F if o == "F" else P, 10) for o in outcomes]
        store.record(RunInfo(time.time() + 600, commit="other", branch="main", job="other-build"), rows)


def test_another_builds_alarm_does_not_fail_this_build(run_cli, history: Path) -> None:
    # One failure in this build, not enough for an alarm; the other build's run, after it in the
    # history, raises one.
    (history / "rising.xml").write_text(report([("test_steady", "P"), ("test_rising", "FP")]))
    another_build_records(history, "FFFFFFP")
    result = run_recorded(run_cli, "--fail-on-flake-regression")
    assert result.exit_code == 0, result.stdout
    assert "flake-rate regression" not in result.stdout
    assert json.loads((history / "out.json").read_text())["flake_regressions"] == []


def test_this_builds_alarm_is_not_missed_when_another_build_recorded_after_it(run_cli, history: Path) -> None:
    another_build_records(history, "P")
    result = run_recorded(run_cli, "--fail-on-flake-regression")
    assert result.exit_code == 1, result.stdout
    assert "flake-rate regression: pkg::test_rising failed" in result.stdout
    assert [r["test_name"] for r in json.loads((history / "out.json").read_text())["flake_regressions"]] == ["test_rising"]


def test_another_branchs_failures_do_not_flag_this_branchs_build(run_cli, history: Path, monkeypatch) -> None:
    """A feature branch broke test_steady (every run of its build failed); main's next build,
    where test_steady failed once and passed its rerun as it always did, has nothing risen."""
    with open_store(history / DB) as store:
        rows = [("pkg", "test_steady", "", "", F, 10)] * 4
        store.record(RunInfo(time.time() - 60, commit="wip", branch="feature", job="tests"), rows)
    monkeypatch.setenv("BUILDKITE", "true")
    monkeypatch.setenv("BUILDKITE_BRANCH", "main")
    (history / "rising.xml").write_text(report([("test_steady", "FP"), ("test_rising", "P")]))
    result = run_recorded(run_cli, "--fail-on-flake-regression")
    assert result.exit_code == 0, result.stdout
    assert "flake-rate regression" not in result.stdout
    # On the feature branch itself, a second build like it is a rise.
    monkeypatch.setenv("BUILDKITE_BRANCH", "feature")
    (history / "rising.xml").write_text(report([("test_steady", "FFF"), ("test_rising", "P")]))
    assert "flake-rate regression: pkg::test_steady failed 7 of 7 runs" in run_recorded(run_cli).stdout


def test_a_quarantined_tests_regression_is_reported_but_fails_no_build(run_cli, history: Path) -> None:
    assert run_cli("quarantine", "add", "pkg::test_rising", "--reason", "known").exit_code == 0
    result = run_recorded(run_cli, "--fail-on-flake-regression")
    assert result.exit_code == 0, result.stdout
    assert "flake-rate regression: pkg::test_rising failed" in result.stdout
    assert "(quarantined: does not fail the build)" in result.stdout
    assert "fails the build: --fail-on-flake-regression" not in result.stdout
    data = json.loads((history / "out.json").read_text())
    assert data["failed"] is False and [r["test_name"] for r in data["flake_regressions"]] == ["test_rising"]


def test_the_gate_without_a_history_to_record_into_is_exit_2(run_cli, history: Path) -> None:
    for args in (["--fail-on-flake-regression"], ["--fail-on-flake-regression", "--thresholds-from-history"]):
        result = run_cli("run", "rising.xml", "--no-flakybot", "--no-rerun", *args)
        assert result.exit_code == 2, result.stdout
        assert result.stderr == (
            "junit-flaky: error: --fail-on-flake-regression needs --record-history: the check reads this run in the history\n"
        )
    (history / "pyproject.toml").write_text("[tool.junit-flaky]\nfail-on-flake-regression = true\n")
    assert run_cli("run", "rising.xml", "--no-flakybot", "--no-rerun").exit_code == 2
    assert run_cli("run", "rising.xml", "--no-flakybot", "--no-rerun", "--no-fail-on-flake-regression").exit_code == 0
