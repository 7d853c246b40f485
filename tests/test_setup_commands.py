"""The README's two set-up commands, pasted one after the other in one shell from the repository's
root, each do their job there; .ci/run runs the second exactly as the README writes it, and fails
when it fails.

The commands run in real bash; python3, pip, python, junit-flaky and bats are stubs that record
where and in which venv they ran (a real install takes minutes and needs the network; CI does it)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")

# Each stub appends "NAME ARGS | working directory | active venv" to $SETUP_LOG, and exits with
# $FAIL_CODE when its call is $FAIL_CALL. `python3 -m venv D` also makes D/bin/activate, which marks
# D as the active venv as the real one does, and a D/bin/python stub.
STUB = """#!/bin/sh
echo "$(basename "$0") $* | $PWD | ${VIRTUAL_ENV:-}" >> "$SETUP_LOG"
[ "$(basename "$0") $*" = "${FAIL_CALL:-}" ] && exit "$FAIL_CODE"
if [ "$(basename "$0")" = python3 ] && [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && echo "export VIRTUAL_ENV=\\"$(cd "$3" && pwd)\\"" > "$3/bin/activate"
  cp "$0" "$3/bin/python"
fi
exit 0
"""


def setup_commands() -> List[str]:
    match = re.search(r"^## Set-up: two commands\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, "README has no section 'Set-up: two commands'"
    commands = re.findall(r"^```\n(.*?)\n```", match.group(1), re.S | re.M)
    assert len(commands) == 2, commands
    return commands


Calls = List[Tuple[str, str, str]]  # (stub and its arguments, working directory, active venv), relative to the checkout


def in_checkout(tmp_path: Path, argv: List[str], fail: Tuple[str, int] = ("", 0), venv: str = "") -> Tuple[int, Calls]:
    """Run ``argv`` in bash from the root of a checkout with stubbed tools; its exit code and the calls."""
    root, stubs, log = tmp_path / "repo", tmp_path / "stubs", tmp_path / "log"
    (root / "examples" / "sample").mkdir(parents=True)
    (root / ".ci").mkdir()
    (root / ".ci" / "run").write_text((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    stubs.mkdir()
    for name in ("python3", "python", "pip", "junit-flaky", "bats"):
        (stubs / name).write_text(STUB)
        (stubs / name).chmod(0o755)
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "SETUP_LOG": str(log), "HOME": str(tmp_path),
           "FAIL_CALL": fail[0], "FAIL_CODE": str(fail[1])}
    if venv:
        env["VIRTUAL_ENV"] = venv
    code = subprocess.run(["bash", *argv], cwd=root, env=env).returncode
    lines = [line.split(" | ") for line in log.read_text().splitlines()]
    return code, [(call, os.path.relpath(cwd, root), os.path.relpath(active, root) if active else "") for call, cwd, active in lines]


def paste(tmp_path: Path, *commands: str, venv: str = "") -> Calls:
    """Paste ``commands`` one after the other into one shell at a checkout's root; the calls."""
    code, calls = in_checkout(tmp_path, ["-c", "set -e\n" + "\n".join(commands)], venv=venv)
    assert code == 0, calls
    return calls


def test_the_two_commands_pasted_one_after_the_other_each_run_where_they_should(tmp_path: Path) -> None:
    try_it, test_suite = setup_commands()
    calls = paste(tmp_path, try_it, test_suite)
    assert ("python3 -m venv .venv", ".", "") in calls
    assert ("junit-flaky run test_results/result.xml --output test_results/final.xml --test-exit-code 0", "examples/sample", ".venv") in calls
    assert calls[-2:] == [("pip install -e .[test]", ".", ".venv"), ("python -m pytest", ".", ".venv")]
    assert not (tmp_path / "repo" / "examples" / "sample" / ".venv").exists()


def test_the_test_command_reuses_the_venv_when_one_is_active(tmp_path: Path) -> None:
    try_it, test_suite = setup_commands()
    calls = paste(tmp_path, try_it, test_suite)
    assert [call for call, _, _ in calls].count("python3 -m venv .venv") == 1


def test_the_test_command_makes_its_venv_in_a_fresh_checkout(tmp_path: Path) -> None:
    _, test_suite = setup_commands()
    calls = paste(tmp_path, test_suite, venv="/elsewhere/venv")
    assert calls == [("python3 -m venv .venv", ".", os.path.relpath("/elsewhere/venv", tmp_path / "repo")),
                     ("pip install -e .[test]", ".", ".venv"), ("python -m pytest", ".", ".venv")]


def test_ci_runs_the_readmes_test_command_as_written_then_the_rerun_tests_per_pytest_major(tmp_path: Path) -> None:
    _, test_suite = setup_commands()
    assert test_suite in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    code, calls = in_checkout(tmp_path, [".ci/run"])
    assert code == 0
    assert ("python -m pytest", ".", ".venv") in calls
    assert [call for call, _, _ in calls].count("python -m pytest -q -m reruns") == 2


@pytest.mark.parametrize("fail", [("pip install -e .[test]", 1), ("python -m pytest", 1), ("python -m pytest", 5)])
def test_ci_fails_when_the_readmes_test_command_fails(tmp_path: Path, fail: Tuple[str, int]) -> None:
    # pytest's 5 is "no tests collected": CI must not pass without running the tests.
    code, calls = in_checkout(tmp_path, [".ci/run"], fail=fail)
    assert code == fail[1]
    assert calls[-1][0] == fail[0], "CI went on after the README's test command failed"
