"""Artifacts and annotations through a stub ``buildkite-agent`` on PATH that records its calls."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from junit_flaky.upload import upload
from junit_flaky.upload.buildkite_agent import annotation_context, artifact_name, artifact_url, literal_options

SAMPLE = Path(__file__).parent / "data" / "upload-aggregated.xml"
TOKEN = "bkaa_agent_token_do_not_leak"

STUB = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["STUB_RECORD"], "a") as record:
    record.write(json.dumps({{"argv": sys.argv[1:], "stdin": sys.stdin.read()}}) + "\\n")
sys.stderr.write(os.environ.get("STUB_STDERR", ""))
sys.exit(int(os.environ.get("STUB_EXIT", "0")))
"""


@pytest.fixture
def agent(tmp_path, monkeypatch):
    """A work folder holding reports/junit.xml, a stub agent on PATH, and the calls it records."""
    work = tmp_path / "work"
    (work / "reports").mkdir(parents=True)
    shutil.copy(SAMPLE, work / "reports" / "junit.xml")
    monkeypatch.chdir(work)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "buildkite-agent"
    stub.write_text(STUB)
    stub.chmod(0o755)
    record = tmp_path / "calls.jsonl"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "STUB_RECORD": str(record),
        "BUILDKITE": "true",
        "BUILDKITE_BUILD_ID": "b-1",
        "BUILDKITE_LABEL": "Unit tests",
        "BUILDKITE_AGENT_ACCESS_TOKEN": TOKEN,
    }

    def calls():
        return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []

    return env, calls


def test_artifact_upload_per_report(agent, tmp_path):
    env, calls = agent
    outside = tmp_path / "elsewhere.xml"
    shutil.copy(SAMPLE, outside)
    [outcome] = upload([Path("reports/junit.xml"), outside], ["buildkite-artifact"], env)
    assert outcome.ok, outcome
    assert [call["argv"] for call in calls()] == [
        ["artifact", "upload", "reports/junit.xml"],
        ["artifact", "upload", str(outside)],
    ]
    assert outcome.message == f"uploaded 2 artifacts: reports/junit.xml, {str(outside).lstrip('/')}"



@pytest.mark.parametrize(
    "name, options",
    [
        ("junit.xml", []),
        ("junit-py3.11,+c@d (1).xml", []),
        ("junit[py3.11].xml", ["--literal"]),
        ("junit-{a,b}.xml", ["--literal"]),
        ("shard-*.xml", ["--literal"]),
        ("run?.xml", ["--literal"]),
        ("x@(y).xml", ["--literal"]),
        ("a;b.xml", ["--literal", "--delimiter", ""]),
    ],
)
def test_a_report_path_the_agent_would_read_as_a_glob_is_uploaded_as_it_is(agent, name, options):
    # The agent reads its argument as globs split at ';' (internal/artifact/uploader.go), and a
    # glob that matches nothing uploads nothing with exit 0: junit[py3.11].xml would be a
    # character class, and the annotation would link to an artifact that is not there.
    env, calls = agent
    shutil.copy(SAMPLE, Path("reports") / name)
    [outcome] = upload([Path("reports") / name], ["buildkite-artifact"], env)
    assert outcome.ok, outcome
    assert [call["argv"] for call in calls()] == [["artifact", "upload", *options, f"reports/{name}"]]


@pytest.mark.parametrize(
    "path, sep, options",
    [
        ("reports\\junit.xml", "\\", []),  # Windows: \ separates and nothing escapes
        ("reports/junit.xml", "\\", []),
        ("reports\\junit.xml", "/", ["--literal"]),  # elsewhere \ escapes
        ("reports/junit.xml", "/", []),
    ],
)
def test_the_agents_escape_character_is_the_one_of_its_platform(path, sep, options):
    assert literal_options(path, sep) == options


def test_annotation(agent):
    env, calls = agent
    [outcome] = upload([Path("reports/junit.xml")], ["buildkite-annotation"], env)
    assert outcome.ok, outcome
    [call] = calls()
    assert call["argv"] == ["annotate", "--context", "junit-flaky-unit-tests", "--style", "error"]
    assert call["stdin"].startswith("**junit\\-flaky · Unit tests**: 1 failed, 2 flaky, 1 passed, 1 skipped")
    assert "<a href" not in call["stdin"]  # no artifact known: no links
    assert outcome.message.startswith("annotated the build (context junit-flaky-unit-tests, style error, ")


def test_the_annotation_links_to_the_artifact_uploaded_before_it(agent):
    env, calls = agent
    outcomes = upload([Path("reports/junit.xml")], ["buildkite-annotation", "buildkite-artifact"], env)
    assert [(o.target, o.ok) for o in outcomes] == [("buildkite-artifact", True), ("buildkite-annotation", True)]
    artifact, annotate = calls()
    assert artifact["argv"][:2] == ["artifact", "upload"]
    assert annotate["stdin"].count('<a href="artifact://reports/junit.xml">report</a>') == 3


def test_an_artifact_base_given(agent):
    env, calls = agent
    upload([Path("reports/junit.xml")], ["buildkite-annotation"], env, artifact_base="https://ci.example/a")
    assert '<a href="https://ci.example/a/reports/junit.xml">report</a>' in calls()[0]["stdin"]


@pytest.mark.parametrize(
    "extra, context",
    [
        # An annotation replaces the one of the same context: each step, and each job of a
        # parallel step, needs its own, or the last to finish hides the others'.
        ({"BUILDKITE_PARALLEL_JOB": "2", "BUILDKITE_PARALLEL_JOB_COUNT": "4"}, "junit-flaky-unit-tests-2"),
        ({"BUILDKITE_STEP_KEY": "py311", "BUILDKITE_STEP_ID": "0190-step"}, "junit-flaky-py311"),
        ({"BUILDKITE_LABEL": ":pytest: Unit tests (Py 3.11)"}, "junit-flaky-pytest-unit-tests-py-3-11"),
        ({"BUILDKITE_LABEL": "🧪 ✅", "BUILDKITE_STEP_ID": "0190-step"}, "junit-flaky-0190-step"),
        ({"BUILDKITE_LABEL": "", "BUILDKITE_STEP_ID": "0190-step", "BUILDKITE_PARALLEL_JOB": "0"}, "junit-flaky-0190-step-0"),
        ({"BUILDKITE_LABEL": ""}, "junit-flaky"),
        ({"JUNIT_FLAKY_ANNOTATION_CONTEXT": "unit", "BUILDKITE_PARALLEL_JOB": "2"}, "unit"),
    ],
)
def test_annotation_context(agent, extra, context):
    env, calls = agent
    upload([Path("reports/junit.xml")], ["buildkite-annotation"], {**env, **extra})
    assert calls()[0]["argv"][1:3] == ["--context", context]


def test_a_long_label_gives_a_context_the_agent_takes():
    """The agent refuses a context over 100 characters (clicommand/annotate.go); the job's
    number stays at the end, so parallel jobs still differ."""
    label = "Integration tests against every supported database " * 4
    contexts = {
        annotation_context({"BUILDKITE": "true", "BUILDKITE_LABEL": label, "BUILDKITE_PARALLEL_JOB": str(job)})
        for job in (1, 11)
    }
    assert len(contexts) == 2
    for context in contexts:
        assert len(context) <= 100 and context.startswith("junit-flaky-integration-tests-against")


def test_a_failing_agent(agent):
    env, calls = agent
    env = {**env, "STUB_EXIT": "1", "STUB_STDERR": f"starting\nfatal: bad token {TOKEN}\n"}
    outcomes = upload([Path("reports/junit.xml")], ["buildkite-artifact", "buildkite-annotation"], env)
    assert [o.ok for o in outcomes] == [False, False]
    assert outcomes[0].message == "buildkite-agent artifact exited with 1: fatal: bad token [redacted]"
    assert outcomes[1].message == "buildkite-agent annotate exited with 1: fatal: bad token [redacted]"
    assert "artifact://" not in calls()[1]["stdin"]  # the artifact did not make it: no link


def test_no_agent_on_path(agent, tmp_path):
    env, _ = agent
    env = {**env, "PATH": str(tmp_path / "empty")}
    [outcome] = upload([Path("reports/junit.xml")], ["buildkite-annotation"], env)
    assert not outcome.ok
    assert outcome.message == "buildkite-agent is not on PATH: this target runs inside a Buildkite job"


def test_the_subprocess_seam(agent):
    env, _ = agent

    def hangs(argv, stdin, env):
        raise subprocess.TimeoutExpired(argv, 300)

    [outcome] = upload([Path("reports/junit.xml")], ["buildkite-artifact"], env, run=hangs)
    assert outcome.message == "buildkite-agent artifact did not finish within 300s"


def test_nothing_secret_reaches_the_agent(agent):
    env, calls = agent
    upload([Path("reports/junit.xml")], ["buildkite-artifact", "buildkite-annotation"], env)
    assert TOKEN not in json.dumps(calls())


@pytest.mark.parametrize(
    "path, name",
    [
        ("reports/junit.xml", "reports/junit.xml"),
        ("./reports/../junit.xml", "junit.xml"),
        ("../up.xml", "../up.xml"),
        ("/abs/dir/r.xml", "abs/dir/r.xml"),
    ],
)
def test_artifact_name_follows_the_agent(tmp_path, monkeypatch, path, name):
    monkeypatch.chdir(tmp_path)
    assert artifact_name(Path(path)) == name


def test_artifact_url_quotes_the_path():
    assert artifact_url(Path("/r/a b#1.xml"), "artifact://") == "artifact://r/a%20b%231.xml"
    assert artifact_url(Path("/r/x.xml"), "https://s3/bucket") == "https://s3/bucket/r/x.xml"


def test_a_token_a_test_printed_is_hidden_in_the_annotation(agent, tmp_path):
    # The annotation shows failure messages; a test that printed a token must not publish it on
    # the build page, whether plain or as Markdown escaping spells it (a_b-c.d -> a\_b\-c\.d).
    env, calls = agent
    secret = "tok_en-with.every-escape_0123456789"
    report = Path("reports/leak.xml")
    report.write_text(
        '<testsuite name="s"><testcase classname="c" name="t">'
        f'<failure message="auth failed for {secret}">Bearer {secret}</failure></testcase></testsuite>'
    )
    [outcome] = upload([report], ["buildkite-annotation"], {**env, "BUILDKITE_ANALYTICS_TOKEN": secret})
    assert outcome.ok, outcome
    body = calls()[0]["stdin"]
    assert "auth failed for" in body and "[redacted]" in body
    for piece in ("0123456789", "with", "every"):
        assert piece not in body, body
