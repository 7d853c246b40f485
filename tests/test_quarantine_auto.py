"""Automatic quarantine (``run --auto-quarantine``): the history's policy starts a quarantine and
releases it; a mass failure never starts one. Real history databases filled by ``history record``
and ``run --record-history``, real CLI invocations, a real pytest project for the whole lifecycle."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Dict, Sequence

import pytest

from tests.projects import Project, flaky_body

DB = Path(".junit-flaky") / "history.sqlite"
NEIGHBOURS = [f"test_{i}" for i in range(10)]


def build_report(path: Path, attempts: Dict[str, Sequence[bool]]) -> Path:
    """A report of 10 passing neighbours and, per test named, its attempts (True: failed)."""
    cases = [f'<testcase classname="m.T" name="{name}" time="0.1"/>' for name in NEIGHBOURS if name not in attempts]
    for name, failed in attempts.items():
        for fail in failed:
            body = '<failure message="boom">trace</failure>' if fail else ""
            cases.append(f'<testcase classname="m.T" name="{name}" time="0.1">{body}</testcase>')
    path.write_text('<testsuite name="s">' + "".join(cases) + "</testsuite>")
    return path


def record(run_cli, clean_env: Path, commit: str, attempts: Dict[str, Sequence[bool]]) -> None:
    report = build_report(clean_env / "past.xml", attempts)
    result = run_cli("history", "record", report, "--commit", commit)
    assert result.exit_code == 0, result.stderr


def run_auto(run_cli, clean_env: Path, attempts: Dict[str, Sequence[bool]], *args: str):
    report = build_report(clean_env / "now.xml", attempts)
    return run_cli("run", report, "--no-rerun", "--no-flakybot", "--json", "now.json", *args)


def verdict(clean_env: Path, name: str) -> str:
    tests = json.loads((clean_env / "now.json").read_text())["tests"]
    return next(t["verdict"] for t in tests if t["name"] == name)


def held(clean_env: Path) -> list:
    db = sqlite3.connect(str(clean_env / DB))
    return db.execute("SELECT classname, name FROM quarantines WHERE released IS NULL").fetchall()


def failed_builds_history(run_cli, clean_env: Path, mass: bool = False) -> None:
    """test_x failed its build 3 times in 5 (passing in between); with ``mass``, 8 of the 10
    neighbours failed with it in those builds."""
    for number, red in enumerate([True, False, True, False, True]):
        attempts: Dict[str, Sequence[bool]] = {"test_x": [red, red]}
        if mass and red:
            attempts.update({name: [True] for name in NEIGHBOURS[:8]})
        record(run_cli, clean_env, f"c{number}", attempts)


def test_flaky_tests_that_passed_their_reruns_make_no_mass_failure(run_cli, clean_env: Path) -> None:
    """Three of thirteen tests fail and pass a rerun in every build: flaky, not a broken build,
    so their runs are evidence (a flake rate of 32% over 12 runs each)."""
    flaky = {"test_x": [True, False], "test_y": [True, False], "test_z": [True, False]}
    for number in range(6):
        record(run_cli, clean_env, f"c{number}", flaky)
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert "quarantined m.T::test_x automatically: flake rate 32% over 12 runs" in result.stdout, result.stdout
    assert sorted(held(clean_env)) == [("m.T", "test_x"), ("m.T", "test_y"), ("m.T", "test_z")]


def test_a_test_failing_its_build_in_several_recent_builds_is_quarantined(run_cli, clean_env: Path) -> None:
    failed_builds_history(run_cli, clean_env)
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "quarantined m.T::test_x automatically: failed 3 of its last 5 builds (policy: 3 of 10)" in result.stdout
    assert verdict(clean_env, "test_x") == "quarantined"
    report = json.loads((clean_env / "now.json").read_text())
    assert report["notes"] == ["quarantined m.T::test_x automatically: failed 3 of its last 5 builds (policy: 3 of 10)"]
    quarantine = report["tests"][0]["quarantine"]
    assert quarantine["source"] == "auto" and quarantine["reason"].startswith("failed 3 of its last 5 builds")

    listed = json.loads(run_cli("quarantine", "list", "--format", "json").stdout)
    assert [(q["test"], q["source"]) for q in listed] == [("m.T::test_x", "auto")]
    again = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert again.exit_code == 0 and "automatically" not in again.stdout  # held, not started again


def test_a_mass_failure_quarantines_nothing(run_cli, clean_env: Path) -> None:
    failed_builds_history(run_cli, clean_env, mass=True)
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 1
    assert "automatically" not in result.stdout and held(clean_env) == []


def test_a_test_that_failed_every_recent_build_is_broken_and_never_quarantined(run_cli, clean_env: Path) -> None:
    for number in range(5):
        record(run_cli, clean_env, f"c{number}", {"test_x": [True, True]})
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 1 and held(clean_env) == []


def test_a_high_flake_rate_over_enough_runs_is_quarantined(run_cli, clean_env: Path) -> None:
    """Builds that each fail once and pass on rerun: it never failed a build, but after six its
    flake rate (7/22 = 32% with the prior) over 12 runs passes the policy's 30% over at least 10;
    after four, 8 runs are too few."""
    for number in range(4):
        record(run_cli, clean_env, f"c{number}", {"test_x": [True, False]})
    fewer = run_auto(run_cli, clean_env, {"test_x": [False]}, "--auto-quarantine")
    assert fewer.exit_code == 0 and "automatically" not in fewer.stdout
    for number in range(4, 6):
        record(run_cli, clean_env, f"c{number}", {"test_x": [True, False]})
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "quarantined m.T::test_x automatically: flake rate 32% over 12 runs (policy: 30% over at least 10)" in result.stdout


@pytest.mark.parametrize(
    "option, env, pyproject, on",
    [
        ("--auto-quarantine", None, None, True),
        (None, "1", None, True),
        (None, None, "true", True),
        (None, None, None, False),
        ("--no-auto-quarantine", "1", "true", False),
    ],
)
def test_auto_quarantine_is_switched_by_option_env_or_pyproject(
    run_cli, clean_env: Path, monkeypatch: pytest.MonkeyPatch, option, env, pyproject, on: bool
) -> None:
    failed_builds_history(run_cli, clean_env)
    if env is not None:
        monkeypatch.setenv("JUNIT_FLAKY_AUTO_QUARANTINE", env)
    if pyproject is not None:
        (clean_env / "pyproject.toml").write_text(f"[tool.junit-flaky]\nauto-quarantine = {pyproject}\n")
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, *([option] if option else []))
    assert result.exit_code == (0 if on else 1)
    assert ("quarantined m.T::test_x automatically" in result.stdout) == on


def test_a_test_quarantined_by_hand_is_left_to_its_file(run_cli, clean_env: Path) -> None:
    failed_builds_history(run_cli, clean_env)
    assert run_cli("quarantine", "add", "m.T::test_x", "--reason", "known").exit_code == 0
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 0 and "automatically" not in result.stdout
    assert held(clean_env) == []


def test_without_a_history_auto_quarantine_is_a_warning_and_the_run_goes_on(run_cli, clean_env: Path) -> None:
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 1
    assert "warning: no automatic quarantine: " in result.stderr and "no history database here" in result.stderr


def test_remove_releases_an_automatic_quarantine_and_old_evidence_does_not_start_it_again(run_cli, clean_env: Path) -> None:
    failed_builds_history(run_cli, clean_env)
    run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    removed = run_cli("quarantine", "remove", "m.T::test_x")
    assert removed.exit_code == 0, removed.stderr
    assert "released m.T::test_x from its automatic quarantine" in removed.stdout
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 1 and held(clean_env) == []


def test_remove_of_a_test_quarantined_both_ways_releases_it_both_ways(run_cli, clean_env: Path) -> None:
    failed_builds_history(run_cli, clean_env)
    run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    # Someone lists the automatically quarantined test by hand too, to give it an owner.
    assert run_cli("quarantine", "add", "m.T::test_x", "--reason", "flaky", "--owner", "alice").exit_code == 0
    removed = run_cli("quarantine", "remove", "m.T::test_x")
    assert removed.exit_code == 0, removed.stderr
    assert "released m.T::test_x from its automatic quarantine" in removed.stdout
    assert json.loads(run_cli("quarantine", "list", "--format", "json").stdout) == []
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 1 and verdict(clean_env, "test_x") == "failed"


@pytest.mark.parametrize("classname, shown", [("", "test_p"), ("Cart adds", "Cart adds::test_p")])
def test_remove_releases_an_automatic_quarantine_named_as_list_shows_it_whatever_its_classname(
    run_cli, clean_env: Path, classname: str, shown: str
) -> None:
    # Reports without a classname, or with a jest describe block for one, quarantine tests too.
    neighbours = "".join(f'<testcase classname="m.T" name="{name}"/>' for name in NEIGHBOURS)
    for number, red in enumerate([True, False, True, False, True, True]):
        body = '<failure message="boom"/>' if red else ""
        (clean_env / "r.xml").write_text(f'<testsuite name="s"><testcase classname="{classname}" name="test_p">{body}</testcase>{neighbours}</testsuite>')
        args = ("run", "r.xml", "--no-rerun", "--no-flakybot", "--auto-quarantine") if number == 5 else ("history", "record", "r.xml", "--commit", f"c{number}")
        run_cli(*args)
    assert [q["test"] for q in json.loads(run_cli("quarantine", "list", "--format", "json").stdout)] == [shown]
    removed = run_cli("quarantine", "remove", shown)
    assert removed.exit_code == 0, removed.stderr
    assert f"released {shown} from its automatic quarantine" in removed.stdout
    assert held(clean_env) == []


@pytest.mark.reruns
def test_the_lifecycle_quarantine_after_failed_builds_release_after_clean_builds(clean_env: Path) -> None:
    """Each build: pytest, then run --record-history --auto-quarantine --max-runs 2 (one rerun).
    test_flaky fails both runs of builds 1, 3 and 5 and passes builds 2 and 4: build 6 starts by
    quarantining it, so its failure there fails nothing. Builds 7 to 11 pass; build 12 starts by
    releasing it, and its failure there fails the build again."""
    project = Project(clean_env)
    project.write("test_mod.py", f"def test_flaky():\n{flaky_body('flaky', [1, 2, 4, 5, 7, 8, 9, 15, 16])}\n\ndef test_stable():\n    pass\n")

    def build():
        return project.junit_flaky("run", str(project.pytest()), "--max-runs", "2", "--record-history", "--auto-quarantine", "--json", "b.json")

    codes = [build().returncode for _ in range(5)]
    assert codes == [1, 0, 1, 0, 1]
    sixth = build()
    assert sixth.returncode == 0, sixth.stdout + sixth.stderr
    assert "quarantined test_mod::test_flaky automatically: failed 3 of its last 5 builds" in sixth.stdout
    assert "QUARANTINED test_mod::test_flaky" in sixth.stdout
    assert project.runs("flaky") == 9  # a quarantined test is not rerun
    for _ in range(5):
        clean = build()
        assert clean.returncode == 0 and "released" not in clean.stdout
    twelfth = build()
    assert "released test_mod::test_flaky from quarantine: 5 builds in a row without a failure" in twelfth.stdout
    assert twelfth.returncode == 1  # its failure counts again, after its rerun failed too


def test_stats_shows_which_flaky_tests_are_quarantined_and_why(run_cli, clean_env: Path) -> None:
    for number in range(6):
        record(run_cli, clean_env, f"c{number}", {"test_x": [True, False], "test_y": [True, False]})
    assert run_cli("quarantine", "add", "m.T::test_y", "--reason", "dns", "--owner", "bob").exit_code == 0
    run_auto(run_cli, clean_env, {}, "--auto-quarantine")

    listed = {t["test_name"]: t["quarantine"] for t in json.loads(run_cli("stats", "--format", "json").stdout)}
    assert listed["test_x"]["source"] == "auto" and listed["test_x"]["reason"].startswith("flake rate 32% over 12 runs")
    assert listed["test_y"] == {"source": "manual", "reason": "dns", "since": listed["test_y"]["since"], "owner": "bob", "until": None}
    table = run_cli("stats").stdout
    assert "Quarantine" in table and "manual since" in table and "owner bob: dns" in table
    assert "| auto since " in run_cli("stats", "--format", "markdown").stdout


def test_a_quarantine_whose_test_did_not_run_for_the_window_is_released(run_cli, clean_env: Path) -> None:
    """A test removed or renamed while quarantined: nothing could release it by clean builds."""
    import time

    from junit_flaky.history.store import open_store

    record(run_cli, clean_env, "c0", {})  # a build without it
    with open_store(clean_env / DB) as store:
        store.start_quarantines([("m.T", "test_gone", "failed 3 of its last 4 builds")], when=time.time() - 31 * 86400)
    result = run_auto(run_cli, clean_env, {}, "--auto-quarantine")
    assert "released m.T::test_gone from quarantine: did not run in the last 30 days" in result.stdout
    assert held(clean_env) == []


def test_history_copy_takes_the_automatic_quarantines_along(run_cli, clean_env: Path) -> None:
    failed_builds_history(run_cli, clean_env)
    run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert run_cli("quarantine", "remove", "m.T::test_x").exit_code == 0  # released by hand
    for number in range(5, 10):  # new evidence, after the release: quarantined again
        record(run_cli, clean_env, f"c{number}", {"test_x": [number % 2 == 1] * 2})
    assert "automatically" in run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine").stdout

    copied = run_cli("history", "copy", "--from", str(DB), "--to", "copy.sqlite")
    assert copied.exit_code == 0, copied.stderr
    assert "and 2 automatic quarantines" in copied.stdout
    rows = "SELECT classname, name, reason, since, released, release_reason FROM quarantines ORDER BY id"
    assert sqlite3.connect("copy.sqlite").execute(rows).fetchall() == sqlite3.connect(str(clean_env / DB)).execute(rows).fetchall()
    again = run_cli("history", "copy", "--from", str(DB), "--to", "copy.sqlite")
    assert "and 0 automatic quarantines" in again.stdout


def test_a_test_a_commit_broke_is_not_quarantined_and_fails_the_build(run_cli, clean_env: Path) -> None:
    """Seven builds passed, then the last three (each its own commit) failed: a break, not flakiness."""
    for number in range(10):
        record(run_cli, clean_env, f"c{number}", {"test_flip": [number >= 7]})
    result = run_auto(run_cli, clean_env, {"test_flip": [True]}, "--auto-quarantine")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "automatically" not in result.stdout and held(clean_env) == []
    assert verdict(clean_env, "test_flip") == "failed"


def test_a_test_a_branch_broke_is_not_quarantined_by_the_passes_of_another(run_cli, clean_env: Path) -> None:
    """A feature branch broke test_x: it failed each of the branch's builds, on three commits,
    while main's builds in between passed it. Broken on the branch, not flaky: the branch's next
    build must fail."""
    for number, branch in enumerate(["feature", "main"] * 3):
        report = build_report(clean_env / "past.xml", {"test_x": [branch == "feature"]})
        assert run_cli("history", "record", report, "--commit", f"c{number}", "--branch", branch).exit_code == 0
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 1 and verdict(clean_env, "test_x") == "failed", result.stdout
    assert held(clean_env) == []


def test_the_failed_builds_reason_names_the_branch_it_judged(run_cli, clean_env: Path) -> None:
    """Judged on each branch apart, the reason says which: someone looking at main's green builds
    must not look for the failures there."""
    for number, red in enumerate([False, True, False, True, False, True]):
        report = build_report(clean_env / "past.xml", {"test_x": [red]})
        assert run_cli("history", "record", report, "--commit", f"c{number // 2}", "--branch", "feature/x").exit_code == 0
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert "quarantined m.T::test_x automatically: failed 3 of its last 6 builds on branch feature/x (policy: 3 of 10)" in result.stdout


def test_ci_retries_of_one_bad_commit_count_as_one_failed_build(run_cli, clean_env: Path) -> None:
    """One flaky failure on c3 (it passed again on c4), then c5, which broke it, built three times."""
    builds = [("c0", False), ("c1", False), ("c2", False), ("c3", True), ("c4", False), ("c5", True), ("c5", True), ("c5", True)]
    for number, (commit, red) in enumerate(builds):  # test_build<n>: each build's report its own
        record(run_cli, clean_env, commit, {"test_x": [red], f"test_build{number}": [False]})
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "automatically" not in result.stdout and held(clean_env) == []


def test_failing_and_passing_on_the_same_commit_is_flaky_and_quarantined(run_cli, clean_env: Path) -> None:
    """Each of three commits failed its build once and passed when built again: flaky, however the builds end."""
    for commit in ["c0", "c1", "c2"]:
        record(run_cli, clean_env, commit, {"test_x": [False]})
        record(run_cli, clean_env, commit, {"test_x": [True]})
    result = run_auto(run_cli, clean_env, {"test_x": [True]}, "--auto-quarantine")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "quarantined m.T::test_x automatically: failed 3 of its last 6 builds (policy: 3 of 10)" in result.stdout


def test_a_test_broken_fixed_and_broken_again_is_not_quarantined(run_cli, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI builds of seven commits, each run --record-history --auto-quarantine: test_x passes on
    c1, a commit breaks it (c2-c4), a fix makes it pass (c5), another commit breaks it again
    (c6, c7). One fix between two breaks is no flakiness: every red build stays red."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    codes = []
    for number, red in enumerate([False, True, True, True, False, True, True], start=1):
        monkeypatch.setenv("GITHUB_SHA", f"c{number}")
        monkeypatch.setenv("GITHUB_RUN_ID", str(number))
        result = run_auto(run_cli, clean_env, {"test_x": [red]}, "--record-history", "--auto-quarantine")
        assert "automatically" not in result.stdout, result.stdout
        codes.append(result.exit_code)
    assert codes == [0, 1, 1, 1, 0, 1, 1]
    assert held(clean_env) == [] and verdict(clean_env, "test_x") == "failed"
