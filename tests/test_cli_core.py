"""The command line as a user meets it: exit codes, the report on the terminal, --json, --output.

Most cases run in-process through typer's CliRunner; a few start ``python -m junit_flaky`` for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import jsonschema
import pytest

from junit_flaky import junit_write
from tests import junit_builders as jb
from tests.junit_checks import parse

GREEN = jb.pytest_report(jb.testcase("test_a"), jb.testcase("test_b", "failed"), jb.testcase("test_b"), jb.testcase("test_s", "skipped"))
RED = jb.pytest_report(jb.testcase("test_a"), jb.testcase("test_b", "failed", message="assert 2 == 1"))


@pytest.fixture
def green(tmp_path: Path) -> Path:
    return jb.write(tmp_path / "green.xml", GREEN)


@pytest.fixture
def red(tmp_path: Path) -> Path:
    return jb.write(tmp_path / "red.xml", RED)


def run_report(run_cli, report: Path, *options):
    return run_cli("run", report, "--no-rerun", "--no-flakybot", *options)


# -- exit codes -------------------------------------------------------------------------------------


def test_exit_0_when_no_test_failed_even_with_a_flaky_one(run_cli, green: Path) -> None:
    assert run_report(run_cli, green).exit_code == 0


def test_exit_1_when_a_test_failed(run_cli, red: Path) -> None:
    assert run_report(run_cli, red).exit_code == 1


def test_run_help_says_what_else_than_a_failed_verdict_exits_1(run_cli, green: Path) -> None:
    # A green report from a test step that was interrupted fails the build with no failed verdict.
    assert run_report(run_cli, green, "--test-exit-code", "2").exit_code == 1
    text = " ".join(run_cli("run", "--help").stdout.split())
    exit_1 = text.split("Exit code:", 1)[1].split("2 bad input", 1)[0]
    for reason in ("failed verdict", "flaky on arrival", "--test-exit-code", "--fail-on-flaky", "--fail-on-flake-regression"):
        assert reason in exit_1, reason


@pytest.mark.parametrize(
    "args, words",
    [
        (["run", "{green}", "--no-such-option"], "No such option"),
        (["run"], "Missing argument"),
        (["run", "{green}", "--min-passes", "two"], "--min-passes"),
        (["run", "{green}", "--flakybot-timeout", "0"], "--flakybot-timeout"),
        (["run", "{green}", "--output", "{tmp}"], "is a directory"),
        (["run", "{tmp}/missing.xml"], "missing.xml: no such file"),
        (["run", "{green}", "--no-rerun", "--no-flakybot", "--min-passes", "0"], "min_passes must be at least 1"),
        (["run", "{green}", "--no-rerun", "--no-flakybot", "--thresholds", "{tmp}/none.json"], "cannot read thresholds file"),
        (["frobnicate"], "No such command"),
        ([], "Usage"),
    ],
)
def test_exit_2_on_bad_input_or_usage(run_cli, green: Path, tmp_path: Path, args: List[str], words: str) -> None:
    result = run_cli(*(a.format(green=green, tmp=tmp_path) for a in args))
    assert result.exit_code == 2
    assert words in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# -- --output ---------------------------------------------------------------------------------------


def test_a_suite_that_failed_to_run_fails_the_build(run_cli, tmp_path: Path) -> None:
    # Ant writes an <error> into the <testsuite> when a class fails before any test (static init,
    # @BeforeClass); Jenkins counts it as a failed test. A green build would hide a whole class.
    broken = '<error message="ExceptionInInitializerError" type="java.lang.ExceptionInInitializerError">trace</error>'
    report = jb.write(tmp_path / "TEST-org.Foo.xml", jb.testsuite(broken, name="org.Foo", tests="0", errors="1"))
    result = run_report(run_cli, report)
    assert result.exit_code == 1
    assert "testsuite 'org.Foo' records 1 failure or error outside any test" in result.stdout


def test_output_naming_the_input_rewrites_it_in_place(run_cli, red: Path) -> None:
    assert run_report(run_cli, red, "--output", red).exit_code == 1
    suite = parse(red).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")  # was 999/999 in the input


def test_without_output_no_file_is_written(run_cli, red: Path, tmp_path: Path) -> None:
    before = red.read_bytes()
    run_report(run_cli, red)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["red.xml"] and red.read_bytes() == before


def test_output_folders_are_created(run_cli, green: Path, tmp_path: Path) -> None:
    out = tmp_path / "results" / "final" / "junit.xml"
    assert run_report(run_cli, green, "-o", out).exit_code == 0
    assert parse(out).tag == "testsuites"


def test_output_that_cannot_be_written_is_exit_2_in_one_line(run_cli, green: Path, tmp_path: Path) -> None:
    # A file where the output's folder should be (chmod would not stop root, who runs CI here).
    (tmp_path / "blocker").write_text("")
    result = run_report(run_cli, green, "-o", tmp_path / "blocker" / "final.xml")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"junit-flaky: error: {tmp_path / 'blocker' / 'final.xml'}: cannot write")
    assert result.stderr.count("\n") == 1


def test_output_is_never_half_written(run_cli, green: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The disk fills up half-way: the previous report stays as it was and no temp file is left.
    out = tmp_path / "final.xml"
    out.write_text("previous report")

    def half_then_fail(self, handle, plan) -> None:
        handle.write(b"<testsuites><testsuite")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(junit_write._Writer, "write", half_then_fail)
    result = run_report(run_cli, green, "-o", out)
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert out.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.xml", "green.xml"]


def test_bad_input_leaves_an_existing_output_alone(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "final.xml"
    out.write_text("previous report")
    broken = tmp_path / "broken.xml"
    broken.write_bytes(jb.document(RED)[:-20])
    assert run_report(run_cli, broken, "-o", out).exit_code == 2
    assert out.read_text() == "previous report"


# -- --json -----------------------------------------------------------------------------------------

ATTEMPT = {
    "type": "object",
    "required": ["outcome", "time", "message"],
    "properties": {
        "outcome": {"enum": ["passed", "failed", "error", "skipped"]},
        "time": {"type": "number", "minimum": 0},
        "message": {"type": "string"},
    },
}
TEST = {
    "type": "object",
    "required": ["classname", "name", "file", "verdict", "reason", "min_passes", "max_runs", "attempts"],
    "properties": {
        "classname": {"type": "string"},
        "name": {"type": "string"},
        "file": {"type": "string"},
        "verdict": {"enum": ["passed", "flaky", "failed", "skipped", "quarantined"]},
        "reason": {"type": "string"},
        "min_passes": {"type": "integer", "minimum": 1},
        "max_runs": {"type": "integer", "minimum": 1},
        "attempts": {"type": "array", "items": ATTEMPT, "minItems": 1},
    },
}
COUNT = {"type": "integer", "minimum": 0}
MACHINE_REPORT = {  # issue 2, point 6
    "type": "object",
    "required": ["failed", "notes", "tests", "summary"],
    "properties": {
        "failed": {"type": "boolean"},
        "notes": {"type": "array", "items": {"type": "string"}},
        "tests": {"type": "array", "items": TEST},
        "summary": {
            "type": "object",
            "required": ["passed", "flaky", "failed", "skipped", "quarantined"],
            "additionalProperties": False,
            "properties": {key: COUNT for key in ("passed", "flaky", "failed", "skipped", "quarantined")},
        },
    },
}


def test_json_report_has_the_documented_shape(run_cli, tmp_path: Path) -> None:
    th = tmp_path / "th.json"
    th.write_text(json.dumps({"flaky_tests": [{"test_name": "test_q", "quarantined": True}, {"test_name": "test_m", "min_passes": 2, "max_runs": 2}]}))
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(
        jb.testcase("test_a"), jb.testcase("test_f", "failed"), jb.testcase("test_f"), jb.testcase("test_x", "error"),
        jb.testcase("test_s", "skipped"), jb.testcase("test_s", "skipped"), jb.testcase("test_q", "failed"), jb.testcase("test_m"),
    ))
    result = run_report(run_cli, report, "--json", tmp_path / "out.json", "--thresholds", th)
    assert result.exit_code == 1
    data = json.loads((tmp_path / "out.json").read_text())
    jsonschema.validate(data, MACHINE_REPORT)
    assert {t["name"]: t["verdict"] for t in data["tests"]} == {
        "test_f": "flaky", "test_x": "failed", "test_s": "skipped", "test_q": "quarantined", "test_m": "failed",
    }
    # Untracked tests (passed once, nothing to decide) are in the totals only.
    assert data["summary"] == {"passed": 1, "flaky": 1, "failed": 2, "skipped": 1, "quarantined": 1}
    assert data["failed"] is True and data["notes"] == []


def test_json_report_says_why_the_build_fails_beside_its_tests(run_cli, green: Path, tmp_path: Path) -> None:
    # A green report from a test step that was cut short: the CI reading --json must see why.
    result = run_report(run_cli, green, "--json", tmp_path / "out.json", "--test-exit-code", "2")
    assert result.exit_code == 1
    data = json.loads((tmp_path / "out.json").read_text())
    jsonschema.validate(data, MACHINE_REPORT)
    assert data["failed"] is True
    assert data["notes"] == ["the test step exited with code 2 (interrupted): its report may hold only part of the tests, so the build fails"]
    assert data["summary"]["failed"] == 0


# -- the report on the terminal ---------------------------------------------------------------------


def test_report_says_how_often_each_flaky_or_failed_test_passed(run_cli, tmp_path: Path) -> None:
    th = tmp_path / "th.json"
    th.write_text(json.dumps({"flaky_tests": [{"test_name": "test_random", "class_name": "TestSample", "min_passes": 2, "max_runs": 3}]}))
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(
        jb.testcase("test_random", classname="src.test_sample.TestSample"),
        jb.testcase("test_random", "failed", classname="src.test_sample.TestSample", message="AssertionError: 2 != 1",
                    text="src/test_sample.py:44: AssertionError"),
        jb.testcase("test_flaky", "failed", message="boom"), jb.testcase("test_flaky"), jb.testcase("test_ok"),
    ))
    result = run_report(run_cli, report, "--thresholds", th)
    out = result.stdout
    assert result.exit_code == 1
    assert out.startswith("===FlakyBot Test Report===") and out.rstrip().endswith("===End FlakyBot Test Report===")
    assert "test_random: FAILED - passed 1 out of the required 2 times" in out
    assert "test_flaky: FLAKY - passed 1 out of the required 1 time; failed 1 time" in out
    assert "(1 run remaining out of 3)" in out  # after attempt 2 of test_random
    assert "src/test_sample.py:44" in out
    assert "test_ok" not in out  # passed once: nothing to say
    assert "3 tests: 1 passed, 1 flaky, 1 failed, 0 skipped, 0 quarantined" in out


def test_report_for_a_no_rerun_failure_still_says_how_often_it_passed(run_cli, tmp_path: Path) -> None:
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(jb.testcase("test_x")))
    result = run_report(run_cli, report, "--min-passes", "2")
    assert "test_x: FAILED - passed 1 out of the required 2 times; needs 1 more run (reruns disabled by --no-rerun)" in result.stdout


def test_quarantined_test_is_reported_as_such(run_cli, tmp_path: Path) -> None:
    th = tmp_path / "th.json"
    th.write_text(json.dumps({"flaky_tests": [{"test_name": "test_x", "quarantined": True}]}))
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(jb.testcase("test_x", "failed")))
    result = run_report(run_cli, report, "--thresholds", th)
    assert result.exit_code == 0
    assert "QUARANTINED tests.test_mod::test_x" in result.stdout
    assert "quarantined tests never fail the build" in result.stdout


def test_names_and_messages_that_look_like_markup_are_printed_as_they_are(run_cli, tmp_path: Path) -> None:
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(jb.testcase("test[/red]", "failed", classname="[bold]c", message="[/] boom")))
    result = run_report(run_cli, report)
    assert result.exit_code == 1
    assert "[bold]c::test[/red]" in result.stdout and "[/] boom" in result.stdout


def test_option_defaults_come_from_the_environment(run_cli, green: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNIT_FLAKY_MIN_PASSES", "2")
    assert run_report(run_cli, green).exit_code == 1  # every test passed once, not twice


def test_merge_keeps_every_test_once_and_its_exit_code_is_the_verdict(run_cli, tmp_path: Path) -> None:
    a = jb.write(tmp_path / "a.xml", jb.pytest_report(jb.testcase("test_x", "failed"), jb.testcase("test_y")))
    b = jb.write(tmp_path / "b.xml", jb.pytest_report(jb.testcase("test_x"), jb.testcase("test_y")))
    result = run_cli("merge", a, b, "-o", tmp_path / "m.xml")
    assert result.exit_code == 1  # a test that failed in one report failed (README, merge)
    assert "2 tests: 1 passed, 0 flaky, 1 failed" in result.stdout
    assert "merged 2 reports into" in result.stdout
    alone = run_cli("merge", b, "-o", tmp_path / "m.xml")
    assert alone.exit_code == 0
    assert "merged 1 report into" in alone.stdout


# -- for real: python -m junit_flaky ----------------------------------------------------------------


def real_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AVIATOR_", "BUILDKITE", "CIRCLE", "GITHUB_", "JUNIT_FLAKY_"))}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "junit_flaky", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("fixture, code", [("green", 0), ("red", 1)])
def test_module_entry_point_exit_code_and_plain_text_report(request, tmp_path: Path, fixture: str, code: int) -> None:
    report = request.getfixturevalue(fixture)
    done = real_cli("run", report, "--no-rerun", "--no-flakybot", "-o", tmp_path / "out.xml", cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert "===FlakyBot Test Report===" in done.stdout
    assert "\x1b[" not in done.stdout + done.stderr  # not a TTY: no colour codes
    assert parse(tmp_path / "out.xml").tag == "testsuites"


def test_nothing_open_starts_no_rerun(green: Path, tmp_path: Path) -> None:
    # The default (reruns on) must cost nothing when the report already decides every test.
    marker = tmp_path / "rerun-started"
    done = real_cli("run", green, "--no-flakybot", "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()


def test_module_entry_point_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(jb.document(RED)[:-20])
    done = real_cli("run", broken, "--no-rerun", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"junit-flaky: error: {broken}:")
    assert done.stdout == ""
