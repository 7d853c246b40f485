"""Flake-rate regressions: the CUSUM on crafted sequences, and run/stats on real history databases."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import List, Sequence, Tuple

import pytest

from junit_flaky.history import regression
from junit_flaky.history.regression import RunAttempts
from junit_flaky.history.store import OUTCOME_CODES, RunInfo, open_store
from junit_flaky.model import Outcome

P, F = OUTCOME_CODES[Outcome.PASSED], OUTCOME_CODES[Outcome.FAILED]
DB = Path(".junit-flaky") / "history.sqlite"


def runs_of(*builds: str) -> List[RunAttempts]:
    """``"FFP"``: failed, failed, passed, in one run."""
    return [RunAttempts(i, float(i), tuple(c == "F" for c in b)) for i, b in enumerate(builds)]


def test_a_steady_flaky_test_raises_no_alarm() -> None:
    # A 30% test under 1 of n: one failure now and then, each followed by a pass.
    steady = runs_of(*(["P", "P", "FP"] * 100))
    assert regression.alarms(steady, 0.3, 10.0, regression.threshold(100, 0.001)) == []


def test_a_rise_is_flagged_in_the_run_that_reaches_the_threshold_and_counted_from_where_it_began() -> None:
    h = regression.threshold(100, 0.001)  # ln(200 / 0.001) = 12.2
    assert h == pytest.approx(math.log(200_000))
    history = runs_of(*(["P", "P", "FP"] * 20), "FFFFFFP", "FFFFFFP", "FFFFFFP", "FFFFFFP")
    # A failure weighs ln(0.93 / 0.3) = 1.13 and a pass -ln 10 = -2.30: six failures and a pass
    # add 4.5, so the third such run (13.5 before its pass) reaches h.
    [alarm] = regression.alarms(history, 0.3, 10.0, h)
    assert (alarm.run_id, alarm.since, alarm.runs, alarm.failures) == (62, 60.0, 21, 18)


def test_after_an_alarm_old_evidence_is_not_counted_again() -> None:
    h = regression.threshold(100, 0.001)
    regressed = ["FFFFFFP"] * 3
    after_fix = ["P", "FP", "P"] * 5
    found = regression.alarms(runs_of(*regressed, *after_fix), 0.3, 10.0, h)
    assert [a.run_id for a in found] == [2]
    # A regression that stays is flagged again once new evidence reaches h.
    found = regression.alarms(runs_of(*regressed, *regressed, *regressed), 0.3, 10.0, h)
    assert [a.run_id for a in found] == [2, 5, 8]


def test_a_regression_factor_of_one_looks_for_no_rise() -> None:
    assert regression.alarms(runs_of("FFFFFFFFFF"), 0.3, 1.0, 1.0) == []


def test_only_tests_with_flaky_evidence_are_checked_and_each_against_its_own_rate(tmp_path: Path) -> None:
    from junit_flaky.history.learn import flaky_tests
    from junit_flaky.history.settings import Settings

    now = time.time()
    with open_store(tmp_path / "h.sqlite") as store:
        for build in range(40):
            rows = [("pkg", "test_broken", "", "", F, 10)]  # never passed: no flake rate, its red builds say enough
            rising = [F] * 5 + [P] if build >= 37 else [F, P] if build % 4 == 0 else [P]
            rows += [("pkg", "test_rising", "", "", code, 10) for code in rising]
            rows += [("pkg", "test_often", "", "", code, 10) for code in ([F, F, P] if build % 2 else [P])]
            store.record(RunInfo(now - (40 - build) * 3600, commit=f"c{build}"), rows)
        settings = Settings()
        rates = {(t.classname, t.name): t.flake_rate for t in flaky_tests(store, settings, now)}
        assert set(rates) == {("pkg", "test_rising"), ("pkg", "test_often")}
        found = regression.find(store, rates, settings, now)
    # test_often fails two runs before it passes in every other build, as it always did: its own
    # rate (46%) makes that ordinary. test_rising, at 1 build in 4, then failed five runs in each
    # of the last three builds.
    assert [(r.name, r.alarm.failures, r.alarm.run_id) for r in found] == [("test_rising", 15, 40)]  # the last build


# --- run and stats on a real history ------------------------------------------------------------

def report(tests: Sequence[Tuple[str, str]]) -> str:
    """A report in which each (name, outcomes) test ran its attempts in order, "FFP"."""
    cases = "".join(
        f'<testcase classname="pkg" name="{name}" time="1">' + ("<failure message='boom'>t</failure>" if o == "F" else "") + "</testcase>"
        for name, outcomes in tests
        for o in outcomes
    )
    return f'<testsuite name="s">{cases}<testcase classname="pkg" name="test_stable" time="1"/></testsuite>'


@pytest.fixture
def history(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """60 hourly builds of main of two flaky tests, each failing once (and passing its rerun) in
    one build of five; then test_rising fails five runs before it passes in the last one, which
    alone is not enough to flag it (a second such run is: rising.xml). Builds run now are main's."""
    monkeypatch.setenv("BUILDKITE", "true")
    monkeypatch.setenv("BUILDKITE_BRANCH", "main")
    now = time.time()
    with open_store(clean_env / DB) as store:
        for build in range(62):
            rows = []
            for name, offset in (("test_steady", 0), ("test_rising", 2)):
                outcomes = [F, P] if build % 5 == offset else [P]
                if name == "test_rising" and build == 61:
                    outcomes = [F, F, F, F, F, P]
                rows += [("pkg", name, "", "", code, 10) for code in outcomes]
            store.record(RunInfo(now - (62 - build) * 3600, commit=f"c{build}", branch="main"), rows)
    (clean_env / "rising.xml").write_text(report([("test_steady", "FP"), ("test_rising", "FFFFFP")]))
    return clean_env


def run_recorded(run_cli, *args: str):
    return run_cli("run", "rising.xml", "--no-flakybot", "--no-rerun", "--record-history", "--json", "out.json", *args)


def test_a_test_whose_rate_rose_is_flagged_in_the_report_and_the_json_and_a_steady_one_is_not(run_cli, history: Path) -> None:
    result = run_recorded(run_cli)
    assert result.exit_code == 0, result.stderr  # flagged, but only --fail-on-flake-regression fails the build
    assert "flake-rate regression: pkg::test_rising failed" in result.stdout
    assert "test_steady" not in result.stdout.split("flake-rate regression")[1]
    data = json.loads((history / "out.json").read_text())
    assert [(r["class_name"], r["test_name"]) for r in data["flake_regressions"]] == [("pkg", "test_rising")]
    [flagged] = data["flake_regressions"]
    assert flagged["failures"] >= 5 and flagged["runs"] > flagged["failures"] and 0 < flagged["flake_rate"] < 0.5
    assert data["failed"] is False


@pytest.mark.parametrize("how", ["option", "env", "pyproject"])
def test_fail_on_flake_regression_fails_the_build(run_cli, history: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    args = ["--fail-on-flake-regression"] if how == "option" else []
    if how == "env":
        monkeypatch.setenv("JUNIT_FLAKY_FAIL_ON_FLAKE_REGRESSION", "1")
    if how == "pyproject":
        (history / "pyproject.toml").write_text("[tool.junit-flaky]\nfail-on-flake-regression = true\n")
    result = run_recorded(run_cli, *args)
    assert result.exit_code == 1
    assert "(fails the build: --fail-on-flake-regression)" in result.stdout
    assert json.loads((history / "out.json").read_text())["failed"] is True


def test_a_steady_flaky_test_does_not_fail_the_build(run_cli, history: Path) -> None:
    (history / "rising.xml").write_text(report([("test_steady", "FP"), ("test_rising", "P")]))
    result = run_recorded(run_cli, "--fail-on-flake-regression")
    assert result.exit_code == 0, result.stdout
    assert "flake-rate regression" not in result.stdout
    assert json.loads((history / "out.json").read_text())["flake_regressions"] == []


def test_stats_shows_when_the_rate_rose(run_cli, history: Path) -> None:
    run_recorded(run_cli)
    data = {d["test_name"]: d for d in json.loads(run_cli("stats", "--format", "json").stdout)}
    assert data["test_rising"]["rate_rose"] is not None and data["test_steady"]["rate_rose"] is None
    markdown = run_cli("stats", "--format", "markdown").stdout
    rising = next(line for line in markdown.splitlines() if "test_rising" in line)
    assert rising.rstrip(" |").endswith("UTC")  # the last column: when it was flagged


def test_a_pass_and_a_failure_on_one_commit_in_two_builds_is_flaky_evidence_in_stats(run_cli, clean_env: Path) -> None:
    # A retried job: the first build of c1 fails the test (no rerun), the retry passes it.
    (clean_env / "red.xml").write_text(report([("test_x", "F")]))
    (clean_env / "green.xml").write_text(report([("test_x", "P")]))
    for xml, commit in (("red.xml", "c1"), ("green.xml", "c1"), ("green.xml", "c2")):
        assert run_cli("history", "record", xml, "--commit", commit, "--job", f"{xml}-{commit}").exit_code == 0
    [data] = json.loads(run_cli("stats", "--format", "json").stdout)
    assert (data["test_name"], data["flaky_failures"], data["runs"], data["retried_commits"]) == ("test_x", 1, 3, 1)
    assert data["flake_rate"] == round((1 + 0.1 * 10) / (3 + 10), 6)  # feeds the estimate: (f + m w) / (n + w)
    header = run_cli("stats", "--format", "markdown").stdout.splitlines()[0]
    assert "| Retried commits |" in header
