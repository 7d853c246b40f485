"""Owners from CODEOWNERS where people read about a flaky or failed test: the report, --json, the
job summary (the annotation's Markdown), with real pytest runs on a small project in a git tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.projects import Project, flaky_body

CODEOWNERS = """
# everything, then narrower rules: the last match wins
*                  @org/everyone
/app/tests/        @org/qa
/app/tests/ui/     @org/frontend
"""


@pytest.fixture
def repo(tmp_path: Path) -> Project:
    """A repository whose pytest project lives in app/: CODEOWNERS paths start at the repository,
    pytest's classnames at the project."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text(CODEOWNERS, encoding="utf-8")
    project = Project(tmp_path / "app")
    project.write("tests/__init__.py", "")
    project.write("tests/ui/__init__.py", "")
    project.write(
        "tests/test_api.py",
        "class TestApi:\n    def test_retry(self):\n" + flaky_body("retry", [1], indent="        "),
    )
    project.write("tests/ui/test_page.py", "def test_render():\n" + flaky_body("render", [1, 2, 3]))
    return project


def test_report_and_json_name_each_tests_owners(repo: Project) -> None:
    repo.pytest()
    result = repo.junit_flaky("run", "result.xml", "--max-runs", "3", "--json", "out.json")
    assert result.returncode == 1, result.stderr
    assert "owners: @org/qa\n" in result.stdout
    assert "owners: @org/frontend\n" in result.stdout
    tests = {t["name"]: t for t in json.loads((repo.root / "out.json").read_text())["tests"]}
    assert tests["test_retry"]["verdict"] == "flaky" and tests["test_retry"]["owners"] == ["@org/qa"]
    assert tests["test_render"]["verdict"] == "failed" and tests["test_render"]["owners"] == ["@org/frontend"]
    assert "warning" not in result.stderr


def test_the_job_summary_names_the_owners(repo: Project, tmp_path: Path) -> None:
    repo.pytest()
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(tmp_path / "out")}
    result = repo.junit_flaky(
        "run", "result.xml", "--max-runs", "3", "-o", "final.xml", "--upload", "github-actions", env=env
    )
    assert result.returncode == 1, result.stderr
    text = summary.read_text()
    assert "**tests\\.ui\\.test\\_page\\:\\:test\\_render** (@org/frontend)" in text
    assert "**tests\\.test\\_api\\.TestApi\\:\\:test\\_retry** (@org/qa)" in text
    # the upload command finds the same owners from the same directory
    summary.unlink()
    command = [sys.executable, "-m", "junit_flaky", "upload", "final.xml", "--to", "github-actions"]
    uploaded = subprocess.run(command, cwd=repo.root, env=repo.env(env), capture_output=True, text=True, timeout=60)
    assert uploaded.returncode == 0, uploaded.stderr
    assert "(@org/frontend)" in summary.read_text()


def test_codeowners_option_overrides_the_repositorys_file(repo: Project) -> None:
    (repo.root / "OWNERS.txt").write_text("/app/ @override\n")
    repo.pytest()
    result = repo.junit_flaky("run", "result.xml", "--max-runs", "3", "--codeowners", "OWNERS.txt")
    assert "owners: @override\n" in result.stdout and "@org/qa" not in result.stdout


def test_codeowners_in_pyproject_is_relative_to_it_and_must_exist(repo: Project) -> None:
    (repo.root / "ci").mkdir()
    (repo.root / "ci" / "OWNERS").write_text("*.py @from-pyproject\n")
    repo.write("pyproject.toml", '[tool.junit-flaky]\ncodeowners = "ci/OWNERS"\n')
    repo.pytest()
    assert "owners: @from-pyproject\n" in repo.junit_flaky("run", "result.xml", "--max-runs", "3").stdout
    repo.write("pyproject.toml", '[tool.junit-flaky]\ncodeowners = "ci/MISSING"\n')
    runs_before = repo.runs("retry")
    missing = repo.junit_flaky("run", "result.xml", "--max-runs", "3", "-o", "final.xml")
    assert missing.returncode == 2
    # stopped before it reran or wrote anything
    assert repo.runs("retry") == runs_before and not (repo.root / "final.xml").exists()
    assert missing.stderr.strip().splitlines()[-1].endswith("codeowners: no file " + str(repo.root / "ci" / "MISSING"))


def test_a_malformed_codeowners_is_one_warning_and_the_rest_still_counts(repo: Project) -> None:
    codeowners = repo.root.parent / ".github" / "CODEOWNERS"
    codeowners.write_text("[broken\n*.py not-an-owner\n/app/tests/ @org/qa\n")
    repo.pytest()
    result = repo.junit_flaky("run", "result.xml", "--max-runs", "3")
    assert result.returncode == 1
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "ignored 2 malformed line(s)" in warnings[0]
    assert "owners: @org/qa\n" in result.stdout
    assert "Traceback" not in result.stderr


def test_without_codeowners_nothing_about_owners_is_said(repo: Project) -> None:
    (repo.root.parent / ".github" / "CODEOWNERS").unlink()
    repo.pytest()
    result = repo.junit_flaky("run", "result.xml", "--max-runs", "3", "--json", "out.json")
    assert "owners" not in result.stdout and result.stderr.count("warning") == 0
    assert all(t["owners"] == [] for t in json.loads((repo.root / "out.json").read_text())["tests"])


@pytest.fixture
def history(run_cli, clean_env: Path) -> Path:
    """Two flaky tests in the history, in two files with different owners."""
    (clean_env / "pkg").mkdir()
    (clean_env / "pkg" / "test_a.py").write_text("")
    (clean_env / "pkg" / "test_b.py").write_text("")
    (clean_env / "CODEOWNERS").write_text("/pkg/ @org/core\n/pkg/test_b.py @org/web\n")
    flaky = '<testsuite name="s">{}</testsuite>'.format(
        "".join(
            f'<testcase classname="pkg.{module}.TestX" name="test_f"><failure message="boom">t</failure></testcase>'
            f'<testcase classname="pkg.{module}.TestX" name="test_f"/>'
            for module in ("test_a", "test_b")
        )
    )
    (clean_env / "flaky.xml").write_text(flaky)
    for commit in ("c1", "c2"):
        assert run_cli("history", "record", "flaky.xml", "--commit", commit).exit_code == 0
    return clean_env


def test_stats_shows_owners_and_filters_by_one(run_cli, history: Path) -> None:
    data = json.loads(run_cli("stats", "--format", "json").stdout)
    assert sorted((d["class_name"], d["owners"]) for d in data) == [
        ("pkg.test_a.TestX", ["@org/core"]), ("pkg.test_b.TestX", ["@org/web"])
    ]
    markdown = run_cli("stats", "--format", "markdown", "--owner", "org/web").stdout
    assert markdown.splitlines()[0].endswith("| Owners |")
    assert "pkg.test_b.TestX::test_f" in markdown and "pkg.test_a" not in markdown
    table = run_cli("stats", "--owner", "@ORG/CORE").stdout
    assert "1 flaky test in the last 30 days" in table and "pkg.test_a.TestX::test_f" in table


def test_stats_takes_a_tests_owners_from_the_file_its_report_named(run_cli, clean_env: Path) -> None:
    # jest-junit and others name the test's file; its classname is a describe block, no path.
    (clean_env / "CODEOWNERS").write_text("/src/ @org/web\n")
    case = '<testcase classname="Cart adds an item" name="Cart adds an item" file="src/cart.test.js">{}</testcase>'
    (clean_env / "flaky.xml").write_text(f'<testsuite name="jest">{case.format("<failure/>")}{case.format("")}</testsuite>')
    assert run_cli("history", "record", "flaky.xml", "--commit", "c1").exit_code == 0
    ran = run_cli("run", "flaky.xml", "--no-rerun", "--no-flakybot", "--json", "run.json")
    assert json.loads((clean_env / "run.json").read_text())["tests"][0]["owners"] == ["@org/web"], ran.stderr
    assert [d["owners"] for d in json.loads(run_cli("stats", "--format", "json").stdout)] == [["@org/web"]]
    assert "Cart adds an item::Cart adds an item" in run_cli("stats", "--owner", "org/web").stdout


def test_stats_owner_without_codeowners_is_a_usage_error(run_cli, history: Path) -> None:
    (history / "CODEOWNERS").unlink()
    markdown = run_cli("stats", "--format", "markdown").stdout
    assert "Owners" not in markdown  # no file: no empty column
    result = run_cli("stats", "--owner", "org/web")
    assert result.exit_code == 2
    assert "--owner org/web needs a CODEOWNERS file" in result.stderr


def test_quarantine_list_falls_back_to_the_codeowners_owner(run_cli, clean_env: Path) -> None:
    (clean_env / "tests").mkdir()
    (clean_env / "tests" / "test_x.py").write_text("")
    (clean_env / "CODEOWNERS").write_text("/tests/ @org/qa\n")
    for extra in ([], ["--owner", "alice"]):
        name = "test_y" if not extra else "test_z"
        added = run_cli("quarantine", "add", f"tests/test_x.py::TestC::{name}", "--reason", "flaky", *extra)
        assert added.exit_code == 0, added.stderr
    listed = {item["test"]: item["owner"] for item in json.loads(run_cli("quarantine", "list", "--format", "json").stdout)}
    assert listed == {"tests/test_x.py::TestC::test_y": "@org/qa (CODEOWNERS)", "tests/test_x.py::TestC::test_z": "alice"}
    (clean_env / "CODEOWNERS").unlink()
    listed = {item["test"]: item["owner"] for item in json.loads(run_cli("quarantine", "list", "--format", "json").stdout)}
    assert listed["tests/test_x.py::TestC::test_y"] in ("", None)


def test_quarantine_list_finds_an_automatic_quarantines_owners_by_the_file_its_reports_named(run_cli, clean_env: Path) -> None:
    (clean_env / "CODEOWNERS").write_text("/src/ @org/web\n")
    neighbours = "".join(f'<testcase classname="Cart" name="ok {i}" file="src/ok.test.js"/>' for i in range(10))
    for number, red in enumerate([True, False, True, False, True, True]):
        body = "<failure/>" if red else ""
        case = f'<testcase classname="Cart adds" name="an item" file="src/cart.test.js">{body}</testcase>'
        (clean_env / "r.xml").write_text(f'<testsuite name="jest">{case}{neighbours}</testsuite>')
        args = ("run", "r.xml", "--no-rerun", "--no-flakybot", "--auto-quarantine") if number == 5 else ("history", "record", "r.xml", "--commit", f"c{number}")
        assert "error" not in run_cli(*args).stderr
    listed = json.loads(run_cli("quarantine", "list", "--format", "json").stdout)
    assert [(item["test"], item["source"], item["owner"]) for item in listed] == [("Cart adds::an item", "auto", "@org/web (CODEOWNERS)")]


def test_stats_for_an_owner_of_no_flaky_test_does_not_say_the_history_has_none(run_cli, history: Path) -> None:
    result = run_cli("stats", "--owner", "@org/nobody")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "No flaky test owned by @org/nobody in the last 30 days."
    result = run_cli("stats", "--branch", "release")
    assert result.stdout.strip() == "No flaky test on branch release in the last 30 days."
