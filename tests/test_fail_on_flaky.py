"""--fail-on-flaky: on a release branch a flaky verdict fails the build (Gradle test-retry's
failOnPassedAfterRetry), with the report saying why; real pytest runs on a small project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from junit_flaky.junit_attempts import recorded_verdict
from junit_flaky import junit_read
from junit_flaky.model import Verdict
from tests.projects import Project, flaky_body


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path)
    project.write("test_x.py", "def test_flaky():\n" + flaky_body("flaky", [1]) + "\ndef test_ok():\n    pass\n")
    project.pytest()
    return project


def test_without_it_a_flaky_test_passes_the_build(project: Project) -> None:
    result = project.junit_flaky("run", "result.xml", "--max-runs", "3")
    assert result.returncode == 0, result.stdout
    assert "--fail-on-flaky" not in result.stdout


def test_a_flaky_verdict_fails_the_build_and_the_report_says_why(project: Project) -> None:
    result = project.junit_flaky("run", "result.xml", "--max-runs", "3", "--fail-on-flaky", "--json", "out.json", "-o", "final.xml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the build fails on 1 flaky test: --fail-on-flaky makes a flaky verdict fail the build" in result.stdout
    report = json.loads((project.root / "out.json").read_text())
    assert report["failed"] is True
    assert [t["verdict"] for t in report["tests"]] == ["flaky"]
    assert any("--fail-on-flaky" in note for note in report["notes"])
    # the XML says what the build did, so the annotation, Test Engine and merge count it failed
    [flaky] = [case for case in junit_read.testcases(project.root / "final.xml") if case.test.name == "test_flaky"]
    assert recorded_verdict(flaky.element) is Verdict.FAILED


@pytest.mark.parametrize(
    "how, env",
    [
        ("env", {"JUNIT_FLAKY_FAIL_ON_FLAKY": "1"}),
        ("pyproject", {}),
    ],
)
def test_it_comes_from_the_environment_or_pyproject(project: Project, how: str, env: dict) -> None:
    if how == "pyproject":
        project.write("pyproject.toml", "[tool.junit-flaky]\nfail-on-flaky = true\n")
    assert project.junit_flaky("run", "result.xml", "--max-runs", "3", env=env).returncode == 1
    # and --no-fail-on-flaky turns it off for one run
    assert project.junit_flaky("run", "result.xml", "--max-runs", "3", "--no-fail-on-flaky", env=env).returncode == 0


def test_a_green_build_without_flaky_tests_still_passes(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write("test_y.py", "def test_ok():\n    pass\n")
    project.pytest()
    result = project.junit_flaky("run", "result.xml", "--fail-on-flaky")
    assert result.returncode == 0 and "--fail-on-flaky" not in result.stdout


def test_a_quarantined_flaky_test_still_fails_no_build(project: Project) -> None:
    project.write(
        "pyproject.toml",
        '[tool.junit-flaky]\nfail-on-flaky = true\n[[tool.junit-flaky.flaky_tests]]\n'
        'test_name = "test_flaky"\nmax_runs = 3\nquarantined = true\n',
    )
    result = project.junit_flaky("run", "result.xml")
    assert result.returncode == 0, result.stdout


def test_a_bad_value_in_pyproject_is_a_usage_error(project: Project) -> None:
    project.write("pyproject.toml", '[tool.junit-flaky]\nfail-on-flaky = "yes"\n')
    result = project.junit_flaky("run", "result.xml")
    assert result.returncode == 2
    assert "fail-on-flaky must be true or false" in result.stderr
