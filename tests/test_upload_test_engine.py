"""Buildkite Test Engine over the wire: fields, the file sent, the 5000-result split, errors."""

import json
import logging
from pathlib import Path

import subprocess
import sys
import uuid

import pytest
from lxml import etree

from junit_flaky import __version__
from junit_flaky.upload import default_targets, upload
from junit_flaky.http_client import Http
from junit_flaky.upload.reports import load
from junit_flaky.upload.executions import executions, split
from tests.loopback import closed_port

SAMPLE = Path(__file__).parent / "data" / "upload-aggregated.xml"
TOKEN = "bkua_test_engine_token_do_not_leak"
ENV = {
    "BUILDKITE": "true",
    "BUILDKITE_ANALYTICS_TOKEN": TOKEN,
    "BUILDKITE_BUILD_ID": "0190-build",
    "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/web/builds/42",
    "BUILDKITE_BRANCH": "main",
    "BUILDKITE_COMMIT": "abc123",
    "BUILDKITE_BUILD_NUMBER": "42",
    "BUILDKITE_JOB_ID": "0190-job",
    "BUILDKITE_MESSAGE": "Fix ünïcode\nsecond line",
}
ACCEPTED = {"id": "u1", "run_id": "r1", "queued": 10, "skipped": 0, "errors": [], "run_url": "https://bk/run/r1"}


CIRCLECI = {
    "CIRCLECI": "true",
    "CIRCLE_JOB": "test",
    "CIRCLE_WORKFLOW_ID": "wf-1",
    "CIRCLE_WORKFLOW_JOB_ID": "wf-job-1",
    "CIRCLE_BUILD_NUM": "7",
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/web/7",
    "CIRCLE_BRANCH": "feature",
    "CIRCLE_SHA1": "def456",
    "TEST_ANALYTICS_COMMIT_MESSAGE": "Fix it",
}
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_ACTION": "__run_2",
    "GITHUB_JOB": "tests",
    "GITHUB_REPOSITORY": "acme/web",
    "GITHUB_RUN_ID": "999",
    "GITHUB_RUN_NUMBER": "12",
    "GITHUB_RUN_ATTEMPT": "3",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REF_NAME": "main",
    "GITHUB_SHA": "fedcba",
    "TEST_ANALYTICS_COMMIT_MESSAGE": "Fix it",
}
GITLAB = {
    "CI": "true",
    "GITLAB_CI": "true",
    "CI_PIPELINE_ID": "5001",
    "CI_PIPELINE_IID": "77",
    "CI_PIPELINE_URL": "https://gitlab.example.com/acme/web/-/pipelines/5001",
    "CI_JOB_ID": "90210",
    "CI_COMMIT_SHA": "0a1b2c",
    "CI_COMMIT_REF_NAME": "feature",
    "CI_COMMIT_MESSAGE": "Fix it",
}
WHO = {"run_env[collector]": "junit-flaky", "run_env[version]": __version__}


def send(url, reports=(SAMPLE,), env=None, sleeps=None, ci=ENV):
    env = {**ci, "BUILDKITE_ANALYTICS_TOKEN": TOKEN, "BUILDKITE_TEST_ENGINE_URL": url, **(env or {})}
    http = Http(sleep=(sleeps if sleeps is not None else []).append)
    [outcome] = upload(list(reports), ["buildkite-test-engine"], env, http=http)
    assert TOKEN not in outcome.message
    return outcome


def sent_files(httpserver):
    return [etree.fromstring(request.files["data"].read()) for request, _ in httpserver.log]


def test_the_request(httpserver):
    httpserver.expect_request(
        "/v1/uploads", method="POST", headers={"Authorization": f'Token token="{TOKEN}"'}
    ).respond_with_json(ACCEPTED, status=202)
    outcome = send(httpserver.url_for("/v1/uploads"))
    assert outcome.ok, outcome
    assert outcome.message == "sent 10 results in 1 file; run: https://bk/run/r1"
    [(request, _)] = httpserver.log
    assert request.content_type.startswith("multipart/form-data")
    assert request.form.to_dict() == {
        "format": "junit",
        "run_env[CI]": "buildkite",
        "run_env[key]": "0190-build",
        "run_env[url]": "https://buildkite.com/acme/web/builds/42",
        "run_env[branch]": "main",
        "run_env[commit_sha]": "abc123",
        "run_env[number]": "42",
        "run_env[job_id]": "0190-job",
        "run_env[message]": "Fix ünïcode\nsecond line",
        **WHO,
    }
    assert list(request.files) == ["data"]


# The run_env keys of buildkite/test-collector-python's run_env.py for each CI (GitHub's branch as
# test-collector-ruby reads it: the branch name, not the ref).
@pytest.mark.parametrize(
    "ci, fields",
    [
        (CIRCLECI, {
            "run_env[CI]": "circleci", "run_env[key]": "wf-1-7", "run_env[url]": "https://circleci.com/gh/acme/web/7",
            "run_env[branch]": "feature", "run_env[commit_sha]": "def456", "run_env[number]": "7",
            "run_env[message]": "Fix it",
        }),
        (GITHUB, {
            "run_env[CI]": "github_actions", "run_env[key]": "__run_2-12-3",
            "run_env[url]": "https://github.com/acme/web/actions/runs/999", "run_env[branch]": "main",
            "run_env[commit_sha]": "fedcba", "run_env[number]": "12", "run_env[message]": "Fix it",
        }),
        # A CI Test Engine has no name for: "generic", with what GitLab says of the pipeline (the
        # commit is what Test Engine finds flaky tests by), keyed by it so its parallel jobs join one run.
        (GITLAB, {
            "run_env[CI]": "generic", "run_env[key]": "5001",
            "run_env[url]": "https://gitlab.example.com/acme/web/-/pipelines/5001", "run_env[branch]": "feature",
            "run_env[commit_sha]": "0a1b2c", "run_env[number]": "77", "run_env[job_id]": "90210",
            "run_env[message]": "Fix it",
        }),
    ],
    ids=["circleci", "github_actions", "gitlab"],
)
def test_the_run_env_of_other_ci(httpserver, ci, fields):
    httpserver.expect_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    outcome = send(httpserver.url_for("/v1/uploads"), ci=ci)
    assert outcome.ok, outcome
    [(request, _)] = httpserver.log
    assert request.form.to_dict() == {"format": "junit", **fields, **WHO}


def test_another_ci_gets_one_fresh_key_for_all_its_files(httpserver, tmp_path):
    path = tmp_path / "big.xml"
    path.write_text("<testsuite name='s'>" + "<testcase classname='c' name='t'/>" * 7000 + "</testsuite>")
    httpserver.expect_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    assert send(httpserver.url_for("/v1/uploads"), reports=[path], ci={"CI": "true"}).ok
    forms = [request.form.to_dict() for request, _ in httpserver.log]
    assert [form["run_env[CI]"] for form in forms] == ["generic", "generic"]
    assert len({form["run_env[key]"] for form in forms}) == 1 and uuid.UUID(forms[0]["run_env[key]"])
    assert set(forms[0]) == {"format", "run_env[CI]", "run_env[key]", *WHO}


# Buildkite's "CI environments" docs, "Other CI providers": a CI Test Engine does not know gives the
# run's facts in these variables (test-collector-ruby's ci.rb reads them over what it detects).
ANALYTICS = {
    "BUILDKITE_ANALYTICS_KEY": "jenkins-web-301", "BUILDKITE_ANALYTICS_URL": "https://ci.example.com/web/301",
    "BUILDKITE_ANALYTICS_BRANCH": "main", "BUILDKITE_ANALYTICS_SHA": "9f8e7d", "BUILDKITE_ANALYTICS_NUMBER": "301",
    "BUILDKITE_ANALYTICS_JOB_ID": "unit", "BUILDKITE_ANALYTICS_MESSAGE": "Fix it",
}


@pytest.mark.parametrize("ci, name", [({"CI": "true"}, "generic"), (ENV, "buildkite")], ids=["generic", "buildkite"])
def test_the_run_env_a_ci_gives_in_buildkites_analytics_variables(httpserver, tmp_path, ci, name):
    path = tmp_path / "big.xml"
    path.write_text("<testsuite name='s'>" + "<testcase classname='c' name='t'/>" * 5001 + "</testsuite>")
    httpserver.expect_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    assert send(httpserver.url_for("/v1/uploads"), reports=[path], ci={**ci, **ANALYTICS}).ok
    forms = [request.form.to_dict() for request, _ in httpserver.log]
    expected = {
        "format": "junit", "run_env[CI]": name, "run_env[key]": "jenkins-web-301",
        "run_env[url]": "https://ci.example.com/web/301", "run_env[branch]": "main", "run_env[commit_sha]": "9f8e7d",
        "run_env[number]": "301", "run_env[job_id]": "unit", "run_env[message]": "Fix it", **WHO,
    }
    assert forms == [expected, expected]

@pytest.mark.parametrize(
    "env",
    [
        {**CIRCLECI, "BUILDKITE_ANALYTICS_TOKEN": "t"},
        {**GITHUB, "BUILDKITE_ANALYTICS_TOKEN": "t"},
        {"CI": "true", "BUILDKITE_ANALYTICS_TOKEN": "t"},
    ],
    ids=["circleci", "github_actions", "generic"],
)
def test_auto_sends_to_test_engine_from_any_ci_with_its_token(env):
    assert "buildkite-test-engine" in default_targets(env)
    assert "buildkite-test-engine" not in default_targets({**env, "BUILDKITE_ANALYTICS_TOKEN": ""})


def test_a_token_under_junit_flakys_own_name_is_sent_and_wins(httpserver):
    # How the CI templates hand over a token kept under another name: junit-flaky reads it, its
    # reruns never see it (test_reruns.py).
    httpserver.expect_request(
        "/v1/uploads", method="POST", headers={"Authorization": f'Token token="{TOKEN}"'}
    ).respond_with_json(ACCEPTED, status=202)
    env = {"BUILDKITE_ANALYTICS_TOKEN": "", "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN": TOKEN}
    assert send(httpserver.url_for("/v1/uploads"), env=env).ok
    env = {"BUILDKITE_ANALYTICS_TOKEN": "the_tests_own_token_0123", "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN": TOKEN}
    assert send(httpserver.url_for("/v1/uploads"), env=env).ok
    assert len(httpserver.log) == 2


def test_auto_sends_to_test_engine_with_the_token_under_junit_flakys_own_name(tmp_path, monkeypatch):
    # The tests, reruns included, never see that name, so a collector among them uploads nothing.
    package = tmp_path / "buildkite_test_collector"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    env = {**ENV, "BUILDKITE_ANALYTICS_TOKEN": "", "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN": TOKEN}
    assert "buildkite-test-engine" in default_targets(env)
    assert "buildkite-test-engine" not in default_targets({**env, "BUILDKITE_ANALYTICS_TOKEN": "t"})


def test_auto_leaves_test_engine_to_the_collector_when_the_tests_run_it(tmp_path, monkeypatch):
    # pytest loads buildkite-test-collector by itself, and with the token it uploads every test
    # it runs, reruns included: a second upload of the same tests would count each one twice.
    package = tmp_path / "buildkite_test_collector"
    package.mkdir()
    (package / "__init__.py").write_text("")
    env = {**ENV, "BUILDKITE_PIPELINE_SLUG": "web"}
    assert "buildkite-test-engine" in default_targets(env)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert default_targets(env) == ["buildkite-artifact", "buildkite-annotation"]


def test_every_attempt_is_an_execution_of_its_own(httpserver):
    httpserver.expect_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    send(httpserver.url_for("/v1/uploads"))
    [root] = sent_files(httpserver)
    assert root.find(".//flakyFailure") is None and root.find(".//rerunFailure") is None

    def runs(name):
        cases = root.xpath("//testcase[@name=$name]", name=name)
        return [(c.find("failure") is not None and "failure") or (c.find("error") is not None and "error") or "pass"
                for c in cases]

    assert runs("test_flaky[a-1]") == ["failure", "pass"]  # what makes Test Engine say "passed on retry"
    assert runs("test_conn") == ["error", "failure", "pass"]
    assert runs("test_broken") == ["failure", "failure", "error"]
    assert runs("test_ok") == ["pass"]
    first = root.xpath("//testcase[@name='test_flaky[a-1]']")[0]
    assert first.get("classname") == "tests.test_api" and first.get("file") == "tests/test_api.py"
    assert first.find("failure").get("message") == "assert 1 == 2"
    assert first.find("failure").text.startswith("def test_flaky():")
    assert first.findtext("system-out") == "attempt 1 output"
    third = root.xpath("//testcase[@name='test_broken']")[2]
    assert third.find("error").get("type") == "OSError" and third.findtext("system-err") == "disk full"
    pytest_suite, other = root.findall("testsuite")
    assert dict(pytest_suite.attrib) == {
        "name": "pytest", "timestamp": "2025-01-02T03:04:05",
        "tests": "6", "failures": "3", "errors": "1", "skipped": "0",
    }
    assert (other.get("tests"), other.get("failures"), other.get("errors"), other.get("skipped")) == ("4", "1", "1", "1")


def test_large_reports_are_split_under_one_key(httpserver, tmp_path):
    # 6000 flaky tests: 12000 executions, so three files although the report has 6000 testcases.
    case = "<testcase classname='c' name='t{i}'><flakyFailure message='m' type='E'><stackTrace>s</stackTrace></flakyFailure></testcase>"
    path = tmp_path / "big.xml"
    path.write_text(f"<testsuite name='s'>{''.join(case.format(i=i) for i in range(6000))}</testsuite>")
    httpserver.expect_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    outcome = send(httpserver.url_for("/v1/uploads"), reports=[path])
    assert outcome.message == "sent 12000 results in 3 files; run: https://bk/run/r1"
    roots = sent_files(httpserver)
    assert [len(root.findall(".//testcase")) for root in roots] == [5000, 5000, 2000]
    assert [root.find("testsuite").get("tests") for root in roots] == ["5000", "5000", "2000"]
    assert {request.form["run_env[key]"] for request, _ in httpserver.log} == {"0190-build"}
    names = [case.get("name") for root in roots for case in root.iter("testcase")]
    assert names[:4] == ["t0", "t0", "t1", "t1"] and len(set(names)) == 6000


def test_split_counts_attempts():
    report = load(SAMPLE)
    assert [count for _, count in split([report, report], 7)] == [7, 7, 6]
    assert list(split([], 7)) == []


def test_executions_keep_the_testcase_untouched():
    [testcase] = [case for case in load(SAMPLE).testcases() if case.test.name == "test_conn"]
    before = testcase.element.to_xml()
    assert len(executions(testcase)) == 3
    assert testcase.element.to_xml() == before


def test_a_testcase_keeps_the_prefixes_declared_around_it_and_leaves_its_namespace(tmp_path):
    path = tmp_path / "ns.xml"
    path.write_text(
        '<testsuites xmlns:xsi="urn:xsi"><w xmlns:x="urn:x"><testsuite name="s">'
        '<testcase xmlns="urn:j" classname="c" name="t" xsi:type="a"><x:extra/><failure message="m"/></testcase>'
        "</testsuite></w></testsuites>"
    )
    [(content, count)] = list(split([load(path)], 10))
    [case] = etree.fromstring(content).iter("testcase")  # namespace-aware: every prefix declared
    assert case.get("{urn:xsi}type") == "a" and case.find("{urn:x}extra") is not None
    assert case.find("failure").get("message") == "m"


def test_results_test_engine_dropped_fail_the_upload(httpserver):
    # A 202 still says what Test Engine did not take: those results are lost, as in a refused upload.
    dropped = {**ACCEPTED, "queued": 8, "skipped": 2, "errors": ["test_conn: no classname", "test_ok: bad time"]}
    httpserver.expect_request("/v1/uploads").respond_with_json(dropped, status=202)
    outcome = send(httpserver.url_for("/v1/uploads"))
    assert (outcome.ok, outcome.message) == (
        False, "Test Engine skipped 2 of 10 results: test_conn: no classname (and 1 more error); run: https://bk/run/r1"
    )


def test_an_error_without_skipped_results_fails_the_upload(httpserver):
    answer = {**ACCEPTED, "errors": [{"message": "suite name missing"}]}
    httpserver.expect_request("/v1/uploads").respond_with_json(answer, status=202)
    outcome = send(httpserver.url_for("/v1/uploads"))
    assert (outcome.ok, outcome.message) == (
        False, 'Test Engine skipped 0 of 10 results: {"message": "suite name missing"}; run: https://bk/run/r1'
    )


def test_every_file_is_sent_when_one_has_results_dropped(httpserver, tmp_path):
    path = tmp_path / "big.xml"
    path.write_text("<testsuite name='s'>" + "<testcase classname='c' name='t'/>" * 7000 + "</testsuite>")
    httpserver.expect_ordered_request("/v1/uploads").respond_with_json({**ACCEPTED, "skipped": 3, "errors": ["e"]}, status=202)
    httpserver.expect_ordered_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    outcome = send(httpserver.url_for("/v1/uploads"), reports=[path])
    assert (outcome.ok, outcome.message) == (False, "Test Engine skipped 3 of 7000 results: e; run: https://bk/run/r1")
    assert len(httpserver.log) == 2


def test_dropped_results_are_a_strict_upload_failure(httpserver, tmp_path):
    dropped = {**ACCEPTED, "queued": 9, "skipped": 1, "errors": ["bad testcase"]}
    httpserver.expect_request("/v1/uploads").respond_with_json(dropped, status=202)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **ENV, "BUILDKITE_TEST_ENGINE_URL": httpserver.url_for("/v1/uploads")}
    command = [sys.executable, "-m", "junit_flaky", "upload", str(SAMPLE), "--to", "buildkite-test-engine"]
    lenient = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    strict = subprocess.run([*command, "--strict-upload"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    line = (
        "junit-flaky: upload FAILED: buildkite-test-engine: Test Engine skipped 1 of 10 results: bad testcase;"
        " run: https://bk/run/r1\n"
    )
    assert (lenient.returncode, lenient.stderr) == (0, line)
    assert (strict.returncode, strict.stderr) == (3, line)


def test_sends_again_after_429_with_retry_after(httpserver):
    httpserver.expect_ordered_request("/v1/uploads").respond_with_data("", status=429, headers={"Retry-After": "3"})
    httpserver.expect_ordered_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    sleeps = []
    assert send(httpserver.url_for("/v1/uploads"), sleeps=sleeps).ok
    assert sleeps == [3.0]


def test_a_file_the_server_read_is_sent_once(httpserver):
    # A 500 after the file arrived: Test Engine may have queued it, and twice counts every result twice.
    httpserver.expect_request("/v1/uploads").respond_with_data("oops", status=500)
    outcome = send(httpserver.url_for("/v1/uploads"))
    assert (outcome.ok, outcome.message) == (False, "the server answered HTTP 500: oops")
    assert len(httpserver.log) == 1


def test_gives_up_and_says_how_far_it_got(httpserver, tmp_path):
    path = tmp_path / "big.xml"
    path.write_text("<testsuite name='s'>" + "<testcase name='t'/>" * 7000 + "</testsuite>")
    httpserver.expect_ordered_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    httpserver.expect_request("/v1/uploads").respond_with_data("down", status=503, headers={"Retry-After": "1"})
    sleeps = []
    outcome = send(httpserver.url_for("/v1/uploads"), reports=[path], sleeps=sleeps)
    assert not outcome.ok
    assert outcome.message == "file 2: the server answered HTTP 503: down (5000 results sent before)"
    assert sleeps == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "status, body, message",
    [
        (401, "nope", "HTTP 401: the server refused BUILDKITE_ANALYTICS_TOKEN"),
        (422, json.dumps({"errors": ["bad format"]}), 'the server answered HTTP 422: {"errors": ["bad format"]}'),
        (202, "<html>captive portal</html>", "localhost answered HTTP 202 without Test Engine's JSON"),
        (200, "[1, 2]", "localhost answered HTTP 200 without Test Engine's JSON"),
        (202, "[" * 100_000 + "]" * 100_000, "localhost answered HTTP 202 without Test Engine's JSON"),
    ],
)
def test_refusals_and_garbage(httpserver, status, body, message):
    httpserver.expect_request("/v1/uploads").respond_with_data(body, status=status)
    outcome = send(httpserver.url_for("/v1/uploads"))
    assert (outcome.ok, outcome.message) == (False, message)


def test_a_server_that_echoes_the_token(httpserver):
    httpserver.expect_request("/v1/uploads").respond_with_data(f"bad token {TOKEN}", status=400)
    outcome = send(httpserver.url_for("/v1/uploads"))
    assert outcome.message == "the server answered HTTP 400: bad token [redacted]"


def test_a_server_that_echoes_the_token_where_the_message_is_cut(httpserver):
    # The message keeps the first 200 characters of the answer: the cut falls inside the token.
    httpserver.expect_request("/v1/uploads").respond_with_data("x" * 180 + f" {TOKEN}", status=400)
    outcome = send(httpserver.url_for("/v1/uploads"))
    assert outcome.message == "the server answered HTTP 400: " + "x" * 180 + " [redacted]"


def test_a_server_that_is_down(caplog):
    caplog.set_level(logging.DEBUG)
    outcome = send(f"http://127.0.0.1:{closed_port()}/v1/uploads")
    assert not outcome.ok
    assert outcome.message == "127.0.0.1: could not connect"
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "env, message",
    [
        ({"BUILDKITE_ANALYTICS_TOKEN": ""}, "BUILDKITE_ANALYTICS_TOKEN is not set"),
        ({"BUILDKITE_BUILD_ID": ""}, "Test Engine keys a run by BUILDKITE_BUILD_ID (or BUILDKITE_ANALYTICS_KEY): not set"),
        ({**CIRCLECI, "CIRCLE_WORKFLOW_ID": ""}, "Test Engine keys a run by CIRCLE_WORKFLOW_ID and CIRCLE_BUILD_NUM (or BUILDKITE_ANALYTICS_KEY): not set"),
        ({**GITHUB, "GITHUB_ACTION": ""},
         "Test Engine keys a run by GITHUB_ACTION, GITHUB_RUN_NUMBER and GITHUB_RUN_ATTEMPT (or BUILDKITE_ANALYTICS_KEY): not set"),
    ],
)
def test_what_it_needs(httpserver, env, message):
    ci = ENV if "BUILDKITE_BUILD_ID" in env else {}
    outcome = send(httpserver.url_for("/v1/uploads"), env=env, ci=ci)
    assert (outcome.ok, outcome.message) == (False, message)
    assert httpserver.log == []


def test_an_empty_report_sends_nothing(httpserver, tmp_path):
    path = tmp_path / "empty.xml"
    path.write_text("<testsuites/>")
    outcome = send(httpserver.url_for("/v1/uploads"), reports=[path])
    assert (outcome.ok, outcome.message) == (True, "no test results to send")
    assert httpserver.log == []


def test_what_run_writes_of_a_verdict_reaches_test_engine_as_the_runs_that_made_it(run_cli, httpserver, tmp_path):
    # run writes why a test fails the build as a <failure> of its own type beside its runs: a new
    # test flaky on arrival (it failed, then passed), a test that passed fewer times than required.
    # That note is no run: sent as one, Test Engine saw the first test fail twice and never pass
    # (no "passed on retry"), and the second fail although every run of it passed.
    green = tmp_path / "green.xml"
    green.write_text("<testsuite name='s'><testcase classname='c' name='test_once' time='0.1'/></testsuite>")
    run_cli("run", green, "--no-rerun", "--no-flakybot", "--min-passes", "2", "-o", tmp_path / "few.xml")
    arrival = tmp_path / "arrival.xml"
    arrival.write_text(
        "<testsuite name='s'><testcase classname='c' name='test_new' time='0.3'>"
        "<failure message='junit-flaky: new test, flaky on arrival: failed 1 of 2 runs' type='junit_flaky.FlakyFailsBuild'/>"
        "<flakyFailure message='boom' type='E'><stackTrace>T</stackTrace></flakyFailure></testcase></testsuite>"
    )
    httpserver.expect_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    assert send(httpserver.url_for("/v1/uploads"), reports=[tmp_path / "few.xml", arrival]).ok
    [root] = sent_files(httpserver)
    runs = [(case.get("name"), [(child.tag, child.get("message")) for child in case]) for case in root.iter("testcase")]
    assert runs == [("test_once", []), ("test_new", [("failure", "boom")]), ("test_new", [])]
    assert [suite.get("failures") for suite in root.iter("testsuite")] == ["0", "1"]


def test_a_testcase_without_a_classname_is_sent_under_its_suites_name(httpserver):
    # Test Engine takes a testcase only with a classname and a name (Buildkite's "Importing JUnit
    # XML" docs); jest-junit, nextest, minitest and others write some without a classname. The
    # suite's name stands in for it, as it does in the test's identity.
    report = Path(__file__).parent / "data" / "junit-corpus" / "jest-junit" / "jest-junit-failures-windows-paths.xml"
    httpserver.expect_request("/v1/uploads").respond_with_json(ACCEPTED, status=202)
    assert send(httpserver.url_for("/v1/uploads"), reports=[report]).ok
    [root] = sent_files(httpserver)
    sent = [(case.get("classname"), case.get("name")) for case in root.iter("testcase")]
    assert len(sent) == 6 and all(classname and name for classname, name in sent)
    assert sent[-2:] == [("__tests__\\second.test.js", "Timeout test"), ("__tests__\\second.test.js", "Skipped test")]
    assert sent[0] == ("Test 1", "Passing test")


def test_a_refusal_names_the_variable_the_token_was_read_from(httpserver):
    # With both set, the token sent is junit-flaky's own (the other may be the tests' collector's):
    # a refusal that named BUILDKITE_ANALYTICS_TOKEN sent the user to check the wrong secret.
    httpserver.expect_request("/v1/uploads").respond_with_data("nope", status=401)
    env = {"BUILDKITE_ANALYTICS_TOKEN": "the_tests_own_token_0123", "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN": TOKEN}
    outcome = send(httpserver.url_for("/v1/uploads"), env=env)
    assert (outcome.ok, outcome.message) == (False, "HTTP 401: the server refused JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN")


@pytest.mark.parametrize(
    "url",
    ["analytics.example.com/v1/uploads", "ftp://analytics.example.com/v1/uploads", "http://user:pa55word_0123@[::1", "https://"],
)
def test_an_upload_url_that_is_no_http_url_is_named_without_its_value(url):
    # It was "the server: request failed (MissingSchema)": nothing said which setting to fix.
    outcome = send(url)
    assert (outcome.ok, outcome.message) == (
        False, "BUILDKITE_TEST_ENGINE_URL is not an http:// or https:// URL with a host"
    )
