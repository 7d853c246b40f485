"""The rerun's interpreter started ahead (rerun_prestart): the reruns it runs are the ones
``python -m pytest`` would run, and it leaves nothing behind when no rerun needs it.

Real junit-flaky processes on generated projects, as in test_reruns.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.projects import Project, flaky_body

pytestmark = pytest.mark.reruns

# What a test sees of how pytest was started, written once per run to <run number>.json.
SEEN = """
import json, os, sys

def test_flaky():
{body}    # sys.path without the reruns' plugin folder, which only the reruns have
    path = [entry for entry in sys.path if "junit-flaky-" not in entry]
    seen = {{"argv0": sys.argv[0], "path": path, "main": sys.modules["__main__"].__spec__.name,
            "cwd": os.getcwd(), "main_names": sorted(n for n in vars(sys.modules["__main__"]) if not n.startswith("__"))}}
    with open(os.path.join(os.environ["COUNTERS"], str(run) + ".json"), "w") as handle:
        json.dump(seen, handle)
    assert run != 1
"""


def seen_by_run(project: Project, run: int) -> dict:
    return json.loads((project.counters / f"{run}.json").read_text())


def test_a_rerun_started_ahead_sees_what_python_m_pytest_saw(tmp_path: Path) -> None:
    project = Project(tmp_path)
    body = "    from counters import run_number\n    run = run_number('flaky')\n"
    project.write("test_mod.py", SEEN.format(body=body))
    report = project.pytest()  # run 1, by `python -m pytest`: fails
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "flaky after 1 rerun" in result.stdout
    assert seen_by_run(project, 2) == seen_by_run(project, 1)


def _processes_mentioning(text: str) -> list:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if text.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds processes in /proc")
def test_when_nothing_needs_a_rerun_the_interpreter_started_ahead_is_gone(tmp_path: Path) -> None:
    project = Project(tmp_path / "project")
    project.write("test_mod.py", f"def test_ok():\n{flaky_body('ok', [])}")
    report = project.pytest()
    temp = tmp_path / "temp"
    temp.mkdir()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", env={"TMPDIR": str(temp)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(temp.iterdir()) == []  # its folder, with the plugin and the log, is removed
    deadline = time.monotonic() + 30  # its watchdog kills it as junit-flaky ends, without holding it up
    while _processes_mentioning(str(temp)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_mentioning(str(temp)) == []


@pytest.mark.parametrize("differs", ["--rerun-log", "--rootdir"])
def test_a_round_unlike_the_guess_starts_pytest_as_usual(tmp_path: Path, differs: str) -> None:
    project = Project(tmp_path / "project")
    project.write("test_mod.py", f"def test_flaky():\n{flaky_body('flaky', [1])}")
    report = project.pytest()
    log = tmp_path / "rerun.log"
    # --rerun-log: its own log; --rootdir: the reruns run in the project, not where junit-flaky started
    option, cwd = ([differs, str(log)], project.root) if differs == "--rerun-log" else ([differs, str(project.root)], tmp_path)
    command = [sys.executable, "-m", "junit_flaky", "run", str(report), "--output", str(tmp_path / "final.xml"), "--max-runs", "2", "--no-flakybot", *option]
    result = subprocess.run(command, cwd=cwd, env=project.env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "flaky after 1 rerun" in result.stdout
    assert project.runs("flaky") == 2
    if differs == "--rerun-log":
        assert "1 passed" in log.read_text()
