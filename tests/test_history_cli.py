"""The history commands through the CLI: record, import, prune, thresholds compute, stats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from junit_flaky import console, thresholds
from junit_flaky.history.learn import thresholds_from_history
from junit_flaky.history.settings import Settings
from junit_flaky.history.location import resolve_db_path
from tests.history_samples import FLAKY_RUN, GREEN_RUN, RED_RUN


@pytest.fixture
def recorded(run_cli, clean_env: Path) -> Path:
    """Four builds: flaky failures on two commits, green on two."""
    (clean_env / "flaky.xml").write_text(FLAKY_RUN)
    (clean_env / "green.xml").write_text(GREEN_RUN)
    for report, commit in (("flaky.xml", "c1"), ("green.xml", "c2"), ("flaky.xml", "c3"), ("green.xml", "c4")):
        result = run_cli("history", "record", report, "--commit", commit, "--branch", "main")
        assert result.exit_code == 0, result.stderr
    return clean_env / ".junit-flaky" / "history.sqlite"


def test_record_says_what_it_wrote(run_cli, recorded: Path) -> None:
    result = run_cli("history", "record", "green.xml")
    assert result.exit_code == 0
    assert re.fullmatch(r"junit-flaky: recorded 2 attempts as run 5 in \S+history.sqlite\n", result.stdout)


def test_compute_writes_thresholds_that_run_reads(run_cli, recorded: Path, clean_env: Path) -> None:
    result = run_cli("thresholds", "compute", "--output", "t.json")
    assert result.exit_code == 0, result.stderr
    assert "thresholds for 1 test with flaky evidence to t.json" in result.stderr
    entries = thresholds.load_file(clean_env / "t.json", thresholds.BUILTIN)
    # 2 flaky failures in 6 runs: (2 + 1) / (6 + 10) = 0.1875. With no target for a regressed test
    # (the history's check catches those), 1 pass within 6 runs: a correct test fails all six with
    # 0.1875^6 = 4.3e-5 <= 0.0001 (all five: 2.3e-4).
    assert [(e.test_name, e.class_name, e.thresholds.min_passes, e.thresholds.max_runs) for e in entries] == [
        ("test_flaky[1]", "pkg.TestA", 1, 6)
    ]
    record = json.loads((clean_env / "t.json").read_text())["flaky_tests"][0]
    assert record["flake_rate"] == 0.1875 and record["runs"] == 6 and record["flaky_failures"] == 2
    assert [(e.test_name, e.thresholds.max_runs) for e in thresholds_from_history(recorded)] == [("test_flaky[1]", 6)]
    # A target within each build too: 3 passes within 8 runs fail a correct test with
    # P(Bin(8, 0.8125) < 3) = 8.6e-4 <= 0.001 (within 7 runs: 3.7e-3) and pass a regressed one
    # with at most 0.05.
    per_build = json.loads(run_cli("thresholds", "compute", "--alpha", "0.001", "--beta", "0.05").stdout)["flaky_tests"][0]
    assert (per_build["min_passes"], per_build["max_runs"]) == (3, 8)


def test_compute_warns_when_the_cap_makes_a_target_unreachable(run_cli, recorded: Path) -> None:
    # 1 of 5 fails a correct test with 0.1875^5 = 2.3e-4 but passes a regressed one (q1 = 0.91875)
    # with 1 - 0.91875^5 = 0.35; 2 of 5 fails a correct one with 5.3e-3.
    result = run_cli("thresholds", "compute", "--max-runs", "5", "--alpha", "0.001", "--beta", "0.05")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["flaky_tests"][0]["max_runs"] == 5
    assert (
        "warning: pkg.TestA::test_flaky[1]: flake rate 18.8%: within 5 runs a regressed test still passes"
        " with p=0.35 > beta=0.05; using 1 of 5, which meets alpha"
    ) in result.stderr
    # Within 4 runs even a correct test fails too often: 0.1875^4 = 1.2e-3.
    result = run_cli("thresholds", "compute", "--max-runs", "4", "--alpha", "0.001")
    assert "within 4 runs it still fails the build with p=0.0012 > alpha=0.001; using 1 of 4" in result.stderr
    result = run_cli("thresholds", "compute", "--max-runs", "1")  # one run: English has no '1 runs'
    assert "within 1 run it still fails the build with p=0.19 > alpha=0.0001; using 1 of 1" in result.stderr


def test_stats_as_json_markdown_and_table(run_cli, recorded: Path) -> None:
    data = json.loads(run_cli("stats", "--format", "json").stdout)
    assert [(d["test_name"], d["builds"], d["runs"], d["flaky_failures"], d["reruns"], d["rerun_seconds"]) for d in data] == [
        ("test_flaky[1]", 4, 6, 2, 2, 6.0)  # four builds, two of them with a failure and its rerun
    ]
    markdown = run_cli("stats", "--format", "markdown").stdout
    assert markdown.splitlines()[0] == (
        "| Test | Flake rate | Builds | Runs | Flaky failures | Last flaky | Reruns | Rerun time | Retried commits | Rate rose |"
    )
    assert "| pkg.TestA::test_flaky[1] | 18.8% | 4 | 6 | 2 |" in markdown
    table = run_cli("stats").stdout
    assert "1 flaky test in the last 30 days" in table and "pkg.TestA::test_flaky[1]" in table


def test_stats_html_is_one_self_contained_page(run_cli, recorded: Path, clean_env: Path) -> None:
    assert run_cli("stats", "--html", "flaky.html").exit_code == 0
    page = (clean_env / "flaky.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2  # the overall chart and one per test
    assert "pkg.TestA::test_flaky[1]" in page and "2 flaky failures</title>" in page
    assert not re.search(r"<script|<link|src=|url\(", page)  # nothing is fetched


def test_prune_needs_a_limit_and_reports_what_went(run_cli, recorded: Path) -> None:
    result = run_cli("history", "prune")
    assert result.exit_code == 2 and "prune needs --older-than DAYS or --keep-runs N" in result.stderr
    result = run_cli("history", "prune", "--keep-runs", "1")
    assert result.exit_code == 0
    assert "pruned 3 runs (8 attempts; 0 tests with no run left forgotten)" in result.stdout


def test_import_reports_what_it_left_out(run_cli, clean_env: Path) -> None:
    (clean_env / "old").mkdir()
    (clean_env / "old" / "a.xml").write_text(FLAKY_RUN)
    (clean_env / "old" / "lint.xml").write_text("<checkstyle/>")
    result = run_cli("history", "import", "old")
    assert result.exit_code == 0
    assert "imported 1 report into" in result.stdout and "(0 known already, 1 left out)" in result.stdout
    assert "warning: left out old/lint.xml" in result.stderr


def test_a_damaged_database_is_one_line_and_exit_2(run_cli, clean_env: Path) -> None:
    (clean_env / "bad.sqlite").write_bytes(b"not a database " * 100)
    (clean_env / "green.xml").write_text(GREEN_RUN)
    for args in (("stats", "--db", "bad.sqlite"), ("history", "record", "green.xml", "--db", "bad.sqlite")):
        result = run_cli(*args)
        assert result.exit_code == 2
        assert result.stderr.startswith("junit-flaky: error: bad.sqlite: history database is damaged")
        assert result.stderr.count("\n") == 1
    assert (clean_env / "bad.sqlite").read_bytes() == b"not a database " * 100


def test_stats_without_a_database(run_cli) -> None:
    result = run_cli("stats")
    assert result.exit_code == 2 and "no history database here" in result.stderr


def test_db_path_option_then_env_then_pyproject_then_default_in_the_current_directory(clean_env: Path) -> None:
    sub = clean_env / "pkg" / "sub"
    sub.mkdir(parents=True)
    assert resolve_db_path(None, {}, sub) == Path(".junit-flaky") / "history.sqlite"  # the current directory
    (clean_env / "pkg" / "pyproject.toml").write_text('[tool.junit-flaky]\nhistory-db = "ci/history.db"\n')
    assert resolve_db_path(None, {}, sub) == clean_env / "pkg" / "ci" / "history.db"
    assert resolve_db_path(None, {"JUNIT_FLAKY_HISTORY_DB": "env.db"}, sub) == Path("env.db")
    assert resolve_db_path("opt.db", {"JUNIT_FLAKY_HISTORY_DB": "env.db"}, sub) == Path("opt.db")


def test_a_db_path_ending_in_a_slash_is_a_folder_to_keep_it_in(run_cli, clean_env: Path) -> None:
    (clean_env / "r.xml").write_text(FLAKY_RUN)
    assert resolve_db_path("ci-cache/", {}, clean_env) == Path("ci-cache") / "history.sqlite"
    assert resolve_db_path(None, {"JUNIT_FLAKY_HISTORY_DB": "env/"}, clean_env) == Path("env") / "history.sqlite"
    (clean_env / "pyproject.toml").write_text('[tool.junit-flaky]\nhistory-db = "hist/"\n')
    assert resolve_db_path(None, {}, clean_env) == clean_env / "hist" / "history.sqlite"
    result = run_cli("history", "record", "r.xml", "--db", "new/")
    assert result.exit_code == 0 and (clean_env / "new" / "history.sqlite").is_file()


@pytest.mark.parametrize(
    "pyproject, words",
    [
        ('[tool.junit-flaky]\nhistory-db = 5\n', "history-db must be a path, got 5"),
        ('[tool.junit_flaky]\nrecord-history = true\n', "[tool.junit_flaky] is not read: the table is [tool.junit-flaky]"),
        ('tool = 1\n', "[tool] must be a table"),
    ],
)
def test_a_pyproject_mistake_is_reported_even_when_no_history_is_asked_for(run_cli, clean_env: Path, pyproject, words) -> None:
    (clean_env / "r.xml").write_text(FLAKY_RUN)
    (clean_env / "pyproject.toml").write_text(pyproject)
    result = run_cli("run", "r.xml", "--no-rerun", "--no-flakybot")
    assert result.exit_code == 2 and words in result.stderr


def test_settings_defaults_are_the_documented_ones() -> None:
    assert Settings() == Settings(0.0001, 1.0, 10.0, 10, 30.0)
    assert (Settings().false_alarms, Settings().regression_days) == (0.001, 7.0)


def test_the_same_report_is_recorded_once(run_cli, clean_env: Path) -> None:
    (clean_env / "saved").mkdir()
    (clean_env / "saved" / "r.xml").write_text(FLAKY_RUN)
    assert "recorded 3 attempts as run 1" in run_cli("history", "record", "saved/r.xml").stdout
    again = run_cli("history", "record", "saved/r.xml")
    assert again.exit_code == 0 and "nothing added" in again.stdout
    imported = run_cli("history", "import", "saved")  # bootstrapping from what was recorded already
    assert "imported 0 reports" in imported.stdout and "(1 known already" in imported.stdout
    elsewhere = run_cli("history", "record", "saved/r.xml", "--commit", "c9")  # another build's identical report
    assert "recorded 3 attempts as run 2" in elsewhere.stdout


def test_stats_in_a_ci_log_keeps_each_test_name_on_one_line(run_cli, recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.stdout, "width", 80)  # what rich assumes when stdout is not a terminal
    assert "pkg.TestA::test_flaky[1]" in run_cli("stats").stdout


@pytest.mark.parametrize("output_format", ["table", "markdown"])
def test_stats_with_nothing_to_show_says_so(run_cli, recorded: Path, output_format: str) -> None:
    result = run_cli("stats", "--branch", "nope", "--format", output_format)
    assert result.exit_code == 0 and result.stdout == "No flaky test on branch nope in the last 30 days.\n"


@pytest.mark.parametrize(
    "first, second, twice",
    [
        ({"CI": "true"}, {"CI": "true"}, True),  # a CI that names no build: both count
        ({"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "9", "GITHUB_RUN_ATTEMPT": "1"},
         {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "9", "GITHUB_RUN_ATTEMPT": "2"}, True),  # a re-run
        ({"BUILDKITE": "true", "BUILDKITE_BUILD_ID": "b1"}, {"BUILDKITE": "true", "BUILDKITE_BUILD_ID": "b1"}, False),
    ],
)
def test_identical_reports_are_one_run_only_when_the_ci_says_they_are(
    run_cli, clean_env: Path, monkeypatch: pytest.MonkeyPatch, first, second, twice: bool
) -> None:
    (clean_env / "r.xml").write_text(FLAKY_RUN)
    for env in (first, second):
        for key in {**first, **second}:
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = run_cli("history", "record", "r.xml")
        assert result.exit_code == 0, result.stderr
    assert ("recorded 3 attempts as run 2" in result.stdout) == twice
    assert ("nothing added" in result.stdout) == (not twice)


def test_buildkite_builds_made_at_head_are_of_no_known_commit(run_cli, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BUILDKITE_COMMIT is HEAD in every job of a build made without a commit (a schedule, the UI's
    New Build): a test broken in one such build and fixed in the next is not flaky."""
    monkeypatch.setenv("BUILDKITE", "true")
    monkeypatch.setenv("BUILDKITE_COMMIT", "HEAD")
    for build, report in (("b1", RED_RUN), ("b2", GREEN_RUN)):
        monkeypatch.setenv("BUILDKITE_BUILD_ID", build)
        (clean_env / "r.xml").write_text(report)
        assert run_cli("history", "record", "r.xml").exit_code == 0
    assert json.loads(run_cli("stats", "--format", "json").stdout) == []


def test_stats_shows_test_names_that_look_like_markup_as_they_are(run_cli, clean_env: Path) -> None:
    (clean_env / "r.xml").write_text(FLAKY_RUN.replace("test_flaky[1]", "test_q[bold]").replace('name="test_stable"', 'name="test_z[/x]"'))
    (clean_env / "s.xml").write_text(
        '<testsuite name="s"><testcase classname="pkg.TestA" name="test_z[/x]"><failure/></testcase>'
        '<testcase classname="pkg.TestA" name="test_z[/x]"/></testsuite>'
    )
    run_cli("history", "record", "r.xml", "s.xml")
    result = run_cli("stats")
    assert result.exit_code == 0, result.stderr
    assert "pkg.TestA::test_q[bold]" in result.stdout and "pkg.TestA::test_z[/x]" in result.stdout


def test_a_tilde_in_the_db_path_is_the_home_folder(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(clean_env / "home"))
    assert resolve_db_path("~/h.sqlite", {}, clean_env) == clean_env / "home" / "h.sqlite"
    assert resolve_db_path(None, {"JUNIT_FLAKY_HISTORY_DB": "~/"}, clean_env) == clean_env / "home" / "history.sqlite"
