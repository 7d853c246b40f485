"""The command line's own wiring: what `--` means, a reader that hangs up, the test step's exit
code, and help screens a user can read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import junit_builders as jb
from tests.junit_checks import parse
from tests.test_cli_core import RED, green, real_cli, red  # noqa: F401 - fixtures


# -- `--` -------------------------------------------------------------------------------------------


def test_double_dash_ends_the_options_of_commands_that_take_no_rerun_command(green: Path, tmp_path: Path) -> None:
    # `upload a.xml -- b.xml` once dropped b.xml without a word: only `run` takes a command after --.
    jb.write(tmp_path / "-second.xml", RED)
    out = tmp_path / "copied"
    env_dir = {"JUNIT_FLAKY_CIRCLECI_DIR": str(out)}
    done = subprocess.run(
        [sys.executable, "-m", "junit_flaky", "upload", "--to", "circleci", str(green), "--", "-second.xml"],
        cwd=tmp_path, env={**os.environ, **env_dir}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["-second.xml", "green.xml"]


def test_double_dash_of_upload_still_checks_every_report(green: Path, tmp_path: Path) -> None:
    (tmp_path / "broken.xml").write_text("<testsuite>")
    done = real_cli("upload", "--to", "circleci", green, "--", "broken.xml", cwd=tmp_path)
    assert done.returncode == 2
    assert "broken.xml" in done.stderr


# -- a reader that hangs up ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture, code", [("green", 0), ("red", 1)])
def test_closed_stdout_still_writes_the_output_and_exits_with_the_verdict(request, tmp_path: Path, fixture: str, code: int) -> None:
    # `junit-flaky run ... | head -1`: the pipe closes before the report is printed.
    report, output = request.getfixturevalue(fixture), tmp_path / "final.xml"
    process = subprocess.Popen(
        [sys.executable, "-m", "junit_flaky", "run", str(report), "--no-rerun", "--no-flakybot", "-o", str(output)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    process.stdout.close()  # type: ignore[union-attr]
    stderr = process.stderr.read().decode()  # type: ignore[union-attr]
    assert process.wait(timeout=60) == code
    assert stderr == ""
    assert parse(output).tag == "testsuites"


# -- --test-exit-code ---------------------------------------------------------------------------------


def run_green(run_cli, green: Path, *options):
    return run_cli("run", green, "--no-rerun", "--no-flakybot", *options)


@pytest.mark.parametrize(
    "code, words",
    [
        ("2", "the test step exited with code 2 (interrupted): its report may hold only part of the tests"),
        ("3", "exited with code 3 (internal error)"),
        ("4", "exited with code 4 (usage error)"),
        ("5", "exited with code 5 (no tests collected)"),
        ("137", "exited with code 137 (killed by SIGKILL)"),
        ("-9", "died of signal SIGKILL"),
        ("-999", "the test step died of signal 999: its report"),  # no signal this system names
    ],
)
def test_a_test_step_that_stopped_short_fails_the_run_and_says_why(run_cli, green: Path, code: str, words: str) -> None:
    result = run_green(run_cli, green, "--test-exit-code", code)
    assert result.exit_code == 1
    assert words in result.stdout


@pytest.mark.parametrize("code", ["0", "1"])
def test_the_test_steps_own_failures_are_left_to_the_verdicts(run_cli, green: Path, code: str) -> None:
    # 1 is pytest's "tests failed": the flaky failure in GREEN is what junit-flaky is for.
    assert run_green(run_cli, green, "--test-exit-code", code).exit_code == 0


def test_test_exit_code_comes_from_the_environment(run_cli, green: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNIT_FLAKY_TEST_EXIT_CODE", "2")
    assert run_green(run_cli, green).exit_code == 1


def test_a_report_without_testcases_is_a_warning_and_fails_with_the_test_exit_code(run_cli, tmp_path: Path) -> None:
    empty = jb.write(tmp_path / "empty.xml", '<testsuite name="pytest" tests="0"></testsuite>')
    warned = run_green(run_cli, empty)
    assert warned.exit_code == 0
    assert "warning: the reports hold no testcase" in warned.stderr
    failed = run_green(run_cli, empty, "--test-exit-code", "0")
    assert failed.exit_code == 1
    assert "the reports hold no testcase, though the test step exited with code 0" in failed.stdout


# -- help ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["run"], ["merge"], ["upload"], ["thresholds", "show"], ["thresholds", "compute"], ["history", "record"], ["stats"]]
)
def test_help_shows_no_python_types_or_typer_braces(run_cli, command) -> None:
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    for noise in ("{REPORT", "}...", "<list", "range>", "<int", "<float", "<str", "<path", "<file", "<dir"):
        assert noise not in result.stdout, (noise, result.stdout)


def test_run_usage_shows_the_rerun_command(run_cli) -> None:
    usage = run_cli("run", "--help").stdout.splitlines()[0]
    assert usage == "Usage: junit-flaky run [OPTIONS] REPORT... [-- RERUN COMMAND...]" or usage.endswith(
        "run [OPTIONS] REPORT... [-- RERUN COMMAND...]"
    )


def test_run_help_describes_the_thresholds_file_and_quarantine(run_cli) -> None:
    text = " ".join(run_cli("run", "--help").stdout.split())
    assert '"flaky_tests"' in text and "[[flaky_tests]]" in text
    assert "quarantined test is never rerun and never fails the build" in text


def test_upload_help_names_every_place_it_uploads_to(run_cli) -> None:
    description = " ".join(run_cli("upload", "--help").stdout.split("Arguments:")[0].split())
    assert all(place in description for place in ("Buildkite", "Test Engine", "Aviator", "CircleCI", "GitHub Actions"))


def test_thresholds_show_help_says_what_its_rootdir_is_for(run_cli) -> None:
    """thresholds show reruns nothing: its --rootdir is only where pyproject.toml is found."""
    text = " ".join(run_cli("thresholds", "show", "--help").stdout.split())
    assert "pyproject.toml" in text and "rerun" not in text.split("--rootdir")[1].split("--")[0]


def test_thresholds_compute_caps_max_runs_where_run_reads_them(run_cli, tmp_path: Path) -> None:
    # A file computed with a larger cap would be refused by `run --thresholds`.
    result = run_cli("thresholds", "compute", "--db", tmp_path / "h.sqlite", "--max-runs", "101")
    assert result.exit_code == 2
    assert "--max-runs" in result.stdout + result.stderr
