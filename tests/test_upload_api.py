"""upload() and default_targets(): target choice and order, bad input, outcomes instead of exceptions."""

from pathlib import Path

import pytest

from junit_flaky.errors import JunitFlakyError
from junit_flaky.upload import TARGETS, UploadOutcome, default_targets, upload
from junit_flaky.upload.reports import load

SAMPLE = Path(__file__).parent / "data" / "upload-aggregated.xml"


@pytest.mark.parametrize(
    "env, targets",
    [
        ({"BUILDKITE": "true"}, ["buildkite-artifact", "buildkite-annotation"]),
        (
            {"BUILDKITE": "true", "BUILDKITE_ANALYTICS_TOKEN": "t", "AVIATOR_API_TOKEN": "a"},
            ["buildkite-artifact", "buildkite-annotation", "buildkite-test-engine", "aviator"],
        ),
        ({"CIRCLECI": "true", "CIRCLE_JOB": "test"}, ["circleci"]),
        ({"CIRCLECI": "true", "AVIATOR_API_TOKEN": "a", "BUILDKITE_ANALYTICS_TOKEN": "t"},
         ["buildkite-test-engine", "circleci", "aviator"]),
        ({"GITHUB_ACTIONS": "true", "AVIATOR_API_TOKEN": "a"}, ["github-actions", "aviator"]),
        ({"GITHUB_ACTIONS": "true"}, ["github-actions"]),
        ({"GITLAB_CI": "true", "CI": "true", "AVIATOR_API_TOKEN": "a"}, []),
        ({"AVIATOR_API_TOKEN": "a"}, []),  # a laptop with a Flakybot token uploads nothing
        ({"CI": "true", "AVIATOR_API_TOKEN": "a"}, []),
    ],
)
def test_default_targets(env, targets):
    assert default_targets(env) == targets
    assert set(targets) <= set(TARGETS)


def test_targets_run_once_in_a_fixed_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcomes = upload([SAMPLE], ["circleci", "nope", "buildkite-artifact", "circleci"], {}, run=lambda *a: (0, ""))
    assert [o.target for o in outcomes] == ["buildkite-artifact", "circleci", "nope"]
    assert outcomes[2] == UploadOutcome("nope", False, f"unknown target (known: {', '.join(TARGETS)})")
    assert str(outcomes[2]).startswith("nope: unknown target")


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("missing.xml", None, ": cannot read: No such file"),
        ("folder", "dir", ": cannot read: Is a directory"),
        ("text.xml", "just some text", ":1:1: malformed XML: syntax error"),
        ("cut.xml", "<testsuite><testcase name='a'>", ":1:31: malformed XML: no element found"),
        ("empty.xml", "", ":1:1: malformed XML: no element found"),
        ("other.xml", "<suites><suite/></suites>", ":1:1: not a JUnit report: root element <suites>"),
    ],
)
def test_bad_reports_are_one_line_outcomes(tmp_path, name, content, problem):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    outcomes = upload([SAMPLE, path], ["circleci", "aviator"], {"JUNIT_FLAKY_CIRCLECI_DIR": str(tmp_path / "out")})
    assert [o.ok for o in outcomes] == [False, False]
    for outcome in outcomes:
        assert outcome.message.startswith(f"nothing sent: {path}{problem}")
        assert "\n" not in outcome.message
    assert not (tmp_path / "out").exists()


def test_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<!DOCTYPE t [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<testsuite name='s'><testcase name='t'><failure message='m'>&x;</failure></testcase></testsuite>"
    )
    with pytest.raises(JunitFlakyError, match="DOCTYPE is not allowed"):
        load(path)


def test_a_junit_report_with_another_root(tmp_path):
    path = tmp_path / "eclipse.xml"
    path.write_text("<testrun><testsuite name='s'><testcase name='t'/></testsuite></testrun>")
    [outcome] = upload([path], ["circleci"], {"JUNIT_FLAKY_CIRCLECI_DIR": str(tmp_path / "out")})
    assert outcome.ok


def test_no_report():
    assert upload([], ["circleci"], {}) == [UploadOutcome("circleci", False, "nothing sent: no report given")]


def test_a_bug_in_one_target_does_not_cost_the_others(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def broken(argv, stdin, env):
        raise ValueError("unexpected\nthing")

    outcomes = upload([SAMPLE], ["buildkite-artifact", "circleci"], {}, run=broken)
    assert outcomes == [
        UploadOutcome("buildkite-artifact", False, "unexpected ValueError: unexpected thing"),
        UploadOutcome("circleci", True, outcomes[1].message),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["upload", str(SAMPLE), "--to", "circleci", "--upload-timeout", "1e10"],
        ["run", str(SAMPLE), "--no-rerun", "--no-flakybot", "-o", "out.xml", "--upload", "circleci", "--upload-timeout", "inf"],
        ["run", str(SAMPLE), "--no-rerun", "--flakybot-timeout", "1e10"],
        ["thresholds", "show", "--flakybot-timeout", "inf"],
    ],
)
def test_a_request_deadline_too_long_to_wait_for_is_a_usage_error(run_cli, monkeypatch, args):
    # With a token, so that the Flakybot API would be asked (a closed port: nothing answers).
    monkeypatch.setenv("AVIATOR_API_TOKEN", "a-token-long-enough")
    monkeypatch.setenv("AVIATOR_API_URL", "http://127.0.0.1:9/api")
    result = run_cli(*args)
    assert result.exit_code == 2
    assert "Invalid value for '--" in result.stderr and "internal error" not in result.stderr
