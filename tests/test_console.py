"""What the consoles print is the text given: names of files and tests are the user's, and a
name such as ``shard:x:.xml`` must not come out as ``shard❌.xml``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_cli_core import real_cli


def test_an_error_names_the_file_as_given_without_emoji_codes_replaced(tmp_path: Path) -> None:
    done = real_cli("run", "shard:x:.xml", "--no-rerun", cwd=tmp_path)
    assert done.returncode == 2
    assert "shard:x:.xml" in done.stderr, done.stderr


def test_an_error_names_the_test_as_given_without_emoji_codes_replaced(tmp_path: Path) -> None:
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text('{"flaky_tests": [{"test_name": "test_ok:tada:", "class_name": "c", "min_passes": 2, "max_runs": 1}]}')
    done = real_cli("thresholds", "show", "--no-flakybot", "--thresholds", thresholds, cwd=tmp_path)
    assert done.returncode == 2
    assert "test_name='test_ok:tada:'" in done.stderr, done.stderr


RED = '<testsuite name="s" tests="1"><testcase classname="pkg.T" name="test_bad"><failure message="boom">boom</failure></testcase></testsuite>'


def _closed(script: str, cwd: Path) -> subprocess.CompletedProcess:
    """``script`` run by bash, where ``>&-`` closes a descriptor (subprocess's DEVNULL would not)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AVIATOR_", "BUILDKITE", "GITHUB_", "JUNIT_FLAKY_")) and k != "CI"}
    return subprocess.run(["bash", "-c", script], cwd=cwd, env={**env, "PY": sys.executable}, capture_output=True, text=True, timeout=60)


def test_a_closed_stdout_or_stderr_is_no_crash(tmp_path: Path) -> None:
    for closed in (">&-", "2>&-", ">&- 2>&-"):
        version = _closed(f'exec 3>&1; "$PY" -m junit_flaky --version {closed}; echo "rc=$?" >&3', tmp_path)
        assert version.stdout.strip().endswith("rc=0") and "Traceback" not in version.stderr, (closed, version.stdout, version.stderr)


def test_run_with_stdout_closed_still_writes_its_files_and_exits_with_the_verdict(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text(RED)
    ran = _closed('exec 3>&1; "$PY" -m junit_flaky run r.xml --no-flakybot --no-rerun --json o.json >&-; echo "rc=$?" >&3', tmp_path)
    assert ran.stdout.strip() == "rc=1" and "Traceback" not in ran.stderr, (ran.stdout, ran.stderr)
    assert json.loads((tmp_path / "o.json").read_text())["summary"]["failed"] == 1


def test_a_full_stdout_is_one_error_line_and_exit_2_but_the_run_still_writes_its_files(tmp_path: Path) -> None:
    """/dev/full refuses every write with ENOSPC, as a full disk does to ``> log``: what the user
    reads is incomplete, which the exit code says, but the work is done all the same."""
    error = "junit-flaky: error: cannot write to standard output: No space left on device"
    for asked in ("--version", "--help", "stats --help"):  # ours, and click's own printing
        shown = _closed(f'exec 3>&1; "$PY" -m junit_flaky {asked} >/dev/full; echo "rc=$?" >&3', tmp_path)
        assert (shown.stdout.strip(), shown.stderr.splitlines()) == ("rc=2", [error]), (asked, shown.stdout, shown.stderr)
    (tmp_path / "green.xml").write_text(RED.replace('<failure message="boom">boom</failure>', ""))
    green = _closed('exec 3>&1; "$PY" -m junit_flaky run green.xml --no-flakybot --no-rerun --json o.json >/dev/full; echo "rc=$?" >&3', tmp_path)
    assert (green.stdout.strip(), green.stderr.splitlines()) == ("rc=2", [error]), (green.stdout, green.stderr)
    assert json.loads((tmp_path / "o.json").read_text())["summary"]["passed"] == 1
    (tmp_path / "r.xml").write_text(RED)  # a failed build keeps its own exit code
    red = _closed('exec 3>&1; "$PY" -m junit_flaky run r.xml --no-flakybot --no-rerun --json o.json >/dev/full; echo "rc=$?" >&3', tmp_path)
    assert (red.stdout.strip(), red.stderr.splitlines()) == ("rc=1", [error]), (red.stdout, red.stderr)
    assert json.loads((tmp_path / "o.json").read_text())["summary"]["failed"] == 1


def test_a_reader_that_left_is_no_error(tmp_path: Path) -> None:
    """``| head -1`` is the user's choice: what is printed after the reader left is dropped silently."""
    (tmp_path / "r.xml").write_text(RED)
    left = _closed('exec 3>&1; (sleep 1; "$PY" -m junit_flaky run r.xml --no-flakybot --no-rerun 2>&3; echo "rc=$?" >&3) | true', tmp_path)
    assert left.stdout.strip() == "rc=1", left.stdout


def test_a_stdout_that_cannot_encode_a_test_name_shows_it_escaped_and_keeps_the_verdict(tmp_path: Path) -> None:
    """Under LANG=C (an old CI image, Python's UTF-8 mode off) stdout is ASCII: a test named in
    another script is printed escaped, not a crash that turns a green build's exit code into 2."""
    flaky = '<testcase classname="pkg.T" name="test_ünï[日本]"><failure message="échec ✗">x</failure></testcase><testcase classname="pkg.T" name="test_ünï[日本]"/>'
    (tmp_path / "r.xml").write_text(f'<testsuite name="s">{flaky}</testsuite>', encoding="utf-8")
    ran = _closed('LC_ALL=C LANG=C PYTHONUTF8=0 PYTHONIOENCODING= "$PY" -m junit_flaky run r.xml --no-flakybot --no-rerun', tmp_path)
    assert ran.returncode == 0, (ran.stdout, ran.stderr)
    assert "FLAKY       pkg.T::test_\\xfcn\\xef[\\u65e5\\u672c]" in ran.stdout and "\\xe9chec \\u2717" in ran.stdout, ran.stdout
    assert "1 flaky" in ran.stdout and ran.stderr == "", ran.stderr
