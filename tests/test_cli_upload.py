"""`run --upload` and `upload` on the command line, against a real HTTP server on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="pytest" tests="3" failures="1" errors="0" skipped="0">
  <testcase classname="tests.test_a" name="test_ok" time="0.1"/>
  <testcase classname="tests.test_a" name="test_flaky" time="0.2"><failure message="boom">trace</failure></testcase>
  <testcase classname="tests.test_a" name="test_flaky" time="0.3"/>
</testsuite>
"""
TOKEN = "secret-test-engine-token-123"


def junit_flaky(tmp_path: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    full_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "junit_flaky", *args], cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "result.xml"
    path.write_text(REPORT)
    return path


def test_run_uploads_the_aggregated_report_to_test_engine(tmp_path, report, httpserver):
    httpserver.expect_request("/v1/uploads", method="POST").respond_with_json({"id": "1"}, status=202)
    env = {
        "BUILDKITE": "true", "BUILDKITE_BUILD_ID": "build-1", "BUILDKITE_ANALYTICS_TOKEN": TOKEN,
        "BUILDKITE_TEST_ENGINE_URL": httpserver.url_for("/v1/uploads"),
    }
    result = junit_flaky(tmp_path, "run", str(report), "--no-rerun", "--output", "final.xml", "--upload", "buildkite-test-engine", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    (request, _), = httpserver.log
    assert request.headers["Authorization"] == f'Token token="{TOKEN}"'
    sent = request.files["data"].read().decode()
    assert sent.count('name="test_flaky"') == 2  # the failed and the passing attempt, so Test Engine sees a retry
    assert TOKEN not in result.stdout + result.stderr


def test_failed_upload_is_a_warning_unless_strict(tmp_path, report, httpserver):
    httpserver.expect_request("/v1/uploads", method="POST").respond_with_data("nope", status=400)
    env = {
        "BUILDKITE": "true", "BUILDKITE_BUILD_ID": "build-1", "BUILDKITE_ANALYTICS_TOKEN": TOKEN,
        "BUILDKITE_TEST_ENGINE_URL": httpserver.url_for("/v1/uploads"),
    }
    args = ["run", str(report), "--no-rerun", "--output", "final.xml", "--upload", "buildkite-test-engine"]
    lenient = junit_flaky(tmp_path, *args, env=env)
    assert lenient.returncode == 0
    assert "upload FAILED: buildkite-test-engine" in lenient.stderr
    assert (tmp_path / "final.xml").exists()  # the report is on disk whatever the upload did
    strict = junit_flaky(tmp_path, *args, "--strict-upload", env=env)
    assert strict.returncode == 3
    assert TOKEN not in lenient.stderr + strict.stderr


def test_upload_command_copies_reports_for_circleci(tmp_path, report):
    target = tmp_path / "store"
    result = junit_flaky(tmp_path, "upload", str(report), "--to", "circleci", env={"JUNIT_FLAKY_CIRCLECI_DIR": str(target)})
    assert result.returncode == 0, result.stderr
    written = (target / "result.xml").read_text()  # the executions: the same three testcases here
    assert (written.count("<testcase "), written.count('name="test_flaky"'), written.count("<failure ")) == (3, 2, 1)


@pytest.mark.parametrize(
    "args, message",
    [
        (["upload", "result.xml", "--to", "nowhere"], "unknown upload target 'nowhere'"),
        (["run", "result.xml", "--no-rerun", "--upload", "circleci"], "--upload needs --output"),
    ],
)
def test_upload_usage_errors_exit_2(tmp_path, report, args, message):
    result = junit_flaky(tmp_path, *args, env={})
    assert result.returncode == 2
    assert message in result.stderr


def test_upload_command_rejects_hostile_xml(tmp_path):
    hostile = tmp_path / "hostile.xml"
    hostile.write_text('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<testsuite>&e;</testsuite>\n')
    result = junit_flaky(tmp_path, "upload", str(hostile), "--to", "circleci", env={"JUNIT_FLAKY_CIRCLECI_DIR": str(tmp_path / "s")})
    assert result.returncode == 2
    assert "DOCTYPE is not allowed" in result.stderr
    assert not (tmp_path / "s").exists()


def test_the_upload_variable_takes_several_targets_as_the_readme_says(tmp_path, report):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    [row] = [line for line in readme.splitlines() if line.startswith("| `--upload TARGET` |")]
    assert "`JUNIT_FLAKY_UPLOAD`, several separated by spaces" in row
    env = {
        "JUNIT_FLAKY_UPLOAD": "circleci github-actions", "JUNIT_FLAKY_CIRCLECI_DIR": str(tmp_path / "store"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_OUTPUT": str(tmp_path / "outputs"),
    }
    result = junit_flaky(tmp_path, "run", str(report), "--no-rerun", "--output", "final.xml", env=env)
    assert result.returncode == 0, result.stderr
    assert "upload ok: circleci" in result.stdout and "upload ok: github-actions" in result.stdout
