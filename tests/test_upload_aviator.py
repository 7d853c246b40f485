"""Aviator over the wire: files as file[], the API key, the metadata headers per CI, errors."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from junit_flaky.upload import upload
from junit_flaky.upload.aviator import build_status
from junit_flaky.http_client import Http
from junit_flaky.upload.reports import load
from tests.loopback import closed_port, drip, raw_server  # noqa: F401 - raw_server is a fixture

SAMPLE = Path(__file__).parent / "data" / "upload-aggregated.xml"
TOKEN = "av_live_do_not_leak_0123456789"
BUILDKITE = {
    "BUILDKITE": "true",
    "BUILDKITE_LABEL": "🔨 Unit tests",
    "BUILDKITE_PIPELINE_SLUG": "web",
    "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/web/builds/42",
    "BUILDKITE_BUILD_ID": "0190-build",
    "BUILDKITE_COMMIT": "abc123",
    "BUILDKITE_REPO": "git@github.com:acme/web.git",
    "BUILDKITE_BRANCH": "main",
    "BUILDKITE_COMMAND_EXIT_STATUS": "0",
}
CIRCLECI = {
    "CIRCLECI": "true",
    "CIRCLE_JOB": "test",
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/web/7",
    "CIRCLE_WORKFLOW_JOB_ID": "wf-job-1",
    "CIRCLE_SHA1": "def456",
    "CIRCLE_PROJECT_USERNAME": "acme",
    "CIRCLE_PROJECT_REPONAME": "web",
    "CIRCLE_BRANCH": "feature",
    "CIRCLE_REPOSITORY_URL": "git@github.com:acme/web.git",
}
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_JOB": "tests",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_REPOSITORY": "acme/web",
    "GITHUB_RUN_ID": "999",
    "GITHUB_RUN_NUMBER": "12",
    "GITHUB_SHA": "fedcba",
    "GITHUB_REF_NAME": "main",
    "GITHUB_SERVER_URL": "https://github.com",
}
METADATA = ("Provider-Name", "Job-Name", "Build-URL", "Build-ID", "Commit-Sha", "Repo-Url", "Branch-Name",
            "Build-Status", "Workflow-Name")


def send(url, ci_env, reports=(SAMPLE,), sleeps=None, **kwargs):
    env = {**ci_env, "AVIATOR_API_TOKEN": TOKEN, "AVIATOR_UPLOAD_URL": url}
    http = Http(sleep=(sleeps if sleeps is not None else []).append)
    [outcome] = upload(list(reports), ["aviator"], env, http=http, **kwargs)
    assert TOKEN not in outcome.message
    return outcome


def metadata(request):
    # Werkzeug reads header bytes as Latin-1; the client sent UTF-8, as curl would.
    return {name: request.headers[name].encode("latin-1").decode("utf-8")
            for name in METADATA if name in request.headers}


def test_buildkite_request(httpserver, tmp_path):
    second = tmp_path / "second.xml"
    shutil.copy(SAMPLE, second)
    httpserver.expect_request(
        "/api/test-report-uploader", method="POST", headers={"x-Aviator-Api-Key": TOKEN}
    ).respond_with_json({"status": 200})
    outcome = send(httpserver.url_for("/api/test-report-uploader"), BUILDKITE, reports=(SAMPLE, second))
    assert (outcome.ok, outcome.message) == (True, "uploaded 2 reports to localhost")
    [(request, _)] = httpserver.log
    assert [f.filename for f in request.files.getlist("file[]")] == ["upload-aggregated.xml", "second.xml"]
    assert all(f.read() == SAMPLE.read_bytes() for f in request.files.getlist("file[]"))
    assert metadata(request) == {
        "Provider-Name": "buildkite",
        "Job-Name": "🔨 Unit tests",
        "Workflow-Name": "web",  # the plugin's BUILDKITE_PIPELINE_SLUG
        "Build-URL": "https://buildkite.com/acme/web/builds/42",
        "Build-ID": "0190-build",
        "Commit-Sha": "abc123",
        "Repo-Url": "https://github.com/acme/web",
        "Branch-Name": "main",
        "Build-Status": "success",
    }


def test_circleci_metadata(httpserver):
    httpserver.expect_request("/up").respond_with_data("ok")
    assert send(httpserver.url_for("/up"), CIRCLECI, build_passed=False).ok
    assert metadata(httpserver.log[0][0]) == {
        "Provider-Name": "circleci",
        "Job-Name": "test",
        "Build-URL": "https://circleci.com/gh/acme/web/7",
        "Build-ID": "wf-job-1",
        "Commit-Sha": "def456",
        "Repo-Url": "https://github.com/acme/web",  # as the orb builds it, not CIRCLE_REPOSITORY_URL's git@ form
        "Branch-Name": "feature",
        "Build-Status": "failure",
    }


def test_github_actions_metadata(httpserver):
    httpserver.expect_request("/up").respond_with_data("ok")
    assert send(httpserver.url_for("/up"), GITHUB, build_passed=True).ok
    assert metadata(httpserver.log[0][0]) == {
        "Provider-Name": "github_action",
        "Job-Name": "tests",
        "Workflow-Name": "CI",
        "Build-URL": "https://github.com/acme/web/actions/runs/999",
        "Build-ID": "999_12",
        "Commit-Sha": "fedcba",
        "Repo-Url": "https://github.com/acme/web",
        "Branch-Name": "main",
        "Build-Status": "success",
    }


@pytest.mark.parametrize(
    "remote",
    ["git@github.com:acme/web.git", "https://x-access-token:ghs_secret@github.com/acme/web.git",
     "ssh://git@github.com:22/acme/web", "https://github.com/acme/web/"],
)
def test_the_repository_is_sent_as_its_https_address(httpserver, remote):
    # Aviator's orb and action send https://github.com/OWNER/REPO; never a credential in the remote.
    httpserver.expect_request("/up").respond_with_data("ok")
    assert send(httpserver.url_for("/up"), {**BUILDKITE, "BUILDKITE_REPO": remote}).ok
    assert metadata(httpserver.log[0][0])["Repo-Url"] == "https://github.com/acme/web"


def test_a_step_without_a_label_is_named_as_the_plugin_names_it(httpserver):
    httpserver.expect_request("/up").respond_with_data("ok")
    assert send(httpserver.url_for("/up"), {**BUILDKITE, "BUILDKITE_LABEL": ""}).ok
    assert metadata(httpserver.log[0][0])["Job-Name"] == "aviator"


PASSED = (
    "<testsuite name='s'><testcase classname='c' name='ok'/>"
    "<testcase classname='c' name='flaky'><flakyFailure message='m'/></testcase></testsuite>"
)


@pytest.mark.parametrize(
    "content, status", [(SAMPLE.read_text(), "failure"), (PASSED, "success")], ids=["a failed test", "none failed"]
)
def test_the_build_status_is_always_sent(httpserver, tmp_path, content, status):
    # The upload command knows no verdict and GitHub no exit status: the reports' verdicts decide.
    report = tmp_path / "report.xml"
    report.write_text(content)
    httpserver.expect_request("/up").respond_with_data("ok")
    assert send(httpserver.url_for("/up"), GITHUB, reports=(report,)).ok
    assert metadata(httpserver.log[0][0])["Build-Status"] == status


@pytest.mark.parametrize(
    "build_passed, exit_status, status",
    [(True, 1, "success"), (False, 0, "failure"), (None, 0, "success"), (None, 2, "failure"), (None, None, "failure")],
)
def test_build_status(build_passed, exit_status, status):
    # Our verdict first, then Buildkite's exit status, then the reports (SAMPLE records a failed test).
    assert build_status(build_passed, exit_status, [load(SAMPLE)]) == status


def test_sends_again_only_when_asked_to(httpserver):
    httpserver.expect_ordered_request("/up").respond_with_data("", status=429, headers={"Retry-After": "2"})
    httpserver.expect_ordered_request("/up").respond_with_data("ok")
    sleeps = []
    assert send(httpserver.url_for("/up"), BUILDKITE, sleeps=sleeps).ok
    assert sleeps == [2.0]
    assert all(r.files.getlist("file[]")[0].read() == SAMPLE.read_bytes() for r, _ in httpserver.log)


def test_a_server_error_is_not_sent_again(httpserver):
    # The server read the reports before it failed: it may have stored them.
    httpserver.expect_request("/up").respond_with_data("oops", status=502)
    outcome = send(httpserver.url_for("/up"), BUILDKITE)
    assert (outcome.ok, outcome.message) == (False, "the server answered HTTP 502: oops")
    assert len(httpserver.log) == 1


def test_a_refused_key(httpserver):
    httpserver.expect_request("/up").respond_with_data(f"invalid key {TOKEN}", status=403)
    outcome = send(httpserver.url_for("/up"), BUILDKITE)
    assert (outcome.ok, outcome.message) == (False, "HTTP 403: the server refused AVIATOR_API_TOKEN")
    # The token sent is junit-flaky's own when set there: the refusal names that variable.
    outcome = send(httpserver.url_for("/up"), {**BUILDKITE, "JUNIT_FLAKY_AVIATOR_API_TOKEN": TOKEN + "_own"})
    assert (outcome.ok, outcome.message) == (False, "HTTP 403: the server refused JUNIT_FLAKY_AVIATOR_API_TOKEN")


def test_an_upload_url_that_is_no_http_url_is_named_without_its_value():
    outcome = send("upload.example.com/api", BUILDKITE)
    assert (outcome.ok, outcome.message) == (False, "AVIATOR_UPLOAD_URL is not an http:// or https:// URL with a host")


def test_a_server_that_is_down():
    sleeps = []
    outcome = send(f"http://user:{TOKEN}@127.0.0.1:{closed_port()}/up", BUILDKITE, sleeps=sleeps)
    assert (outcome.ok, outcome.message) == (False, "127.0.0.1: could not connect")
    assert sleeps == [0.0, 2.0, 4.0]  # the request never left: tried four times


def test_without_a_token(httpserver):
    env = {**BUILDKITE, "AVIATOR_UPLOAD_URL": httpserver.url_for("/up")}
    [outcome] = upload([SAMPLE], ["aviator"], env)
    assert (outcome.ok, outcome.message) == (False, "AVIATOR_API_TOKEN is not set")
    assert httpserver.log == []


def test_a_token_under_junit_flakys_own_name(httpserver):
    httpserver.expect_request("/up", headers={"x-Aviator-Api-Key": TOKEN}).respond_with_data("ok")
    env = {**BUILDKITE, "JUNIT_FLAKY_AVIATOR_API_TOKEN": TOKEN, "AVIATOR_UPLOAD_URL": httpserver.url_for("/up")}
    [outcome] = upload([SAMPLE], ["aviator"], env)
    assert outcome.ok, outcome
    assert len(httpserver.log) == 1


def test_outside_a_ci_aviator_knows(httpserver):
    outcome = send(httpserver.url_for("/up"), {"CI": "true"})
    assert (outcome.ok, outcome.message) == (
        False, "Aviator takes uploads from CircleCI, Buildkite or GitHub Actions; none detected"
    )
    assert httpserver.log == []


def test_the_upload_command_ends_at_its_deadline_against_a_server_that_never_finishes(tmp_path, raw_server):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **BUILDKITE, "AVIATOR_API_TOKEN": TOKEN, "AVIATOR_UPLOAD_URL": raw_server(drip)}
    command = [sys.executable, "-m", "junit_flaky", "upload", str(SAMPLE), "--to", "aviator", "--upload-timeout", "1", "--strict-upload"]
    # The bound: the process exits, however the server goes on, rather than hanging the CI step.
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert result.stderr == "junit-flaky: upload FAILED: aviator: 127.0.0.1: no complete answer within 1s\n"
    assert TOKEN not in result.stdout + result.stderr
