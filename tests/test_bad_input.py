"""Bad input as a hostile or careless world gives it: each is one line, the documented exit code,
no traceback, and nothing the user had is changed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import List

import pytest

from tests import junit_builders as jb
from tests.projects import Project, flaky_body

FLAKY = jb.pytest_report(jb.testcase("test_a"), jb.testcase("test_b", "failed"), jb.testcase("test_b"))


@pytest.fixture
def flaky(tmp_path: Path) -> Path:
    return jb.write(tmp_path / "flaky.xml", FLAKY)


@pytest.mark.parametrize("value", ["nan", "inf"])
@pytest.mark.parametrize(
    "args",
    [
        ["run", "{report}", "--no-rerun", "--no-flakybot", "--rerun-timeout"],
        ["run", "{report}", "--no-rerun", "--no-flakybot", "--rerun-budget"],
        ["upload", "{report}", "--to", "circleci", "--upload-timeout"],
        ["thresholds", "compute", "--db", "{db}", "--prior-weight"],
        ["thresholds", "compute", "--db", "{db}", "--alpha"],
        ["stats", "--db", "{db}", "--window-days"],
        ["history", "prune", "--db", "{db}", "--older-than"],
    ],
)
def test_a_number_option_that_is_no_finite_number_is_a_usage_error(run_cli, flaky: Path, tmp_path: Path, args: List[str], value: str) -> None:
    # nan passes every range check (each comparison with it is false): unchecked, --rerun-timeout
    # nan turned the rerun watchdog off and --prior-weight nan wrote NaN, which is no JSON.
    db = tmp_path / "history.sqlite"
    assert run_cli("history", "record", flaky, "--db", db, "--commit", "c1").exit_code == 0
    before = db.read_bytes()
    result = run_cli(*(a.format(report=flaky, db=db) for a in args), value)
    assert result.exit_code == 2
    assert f"Invalid value for '{args[-1]}'" in result.stderr and "Traceback" not in result.stderr
    assert "NaN" not in result.stdout
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    "args, option",
    [
        (["run", "{report}", "--no-rerun", "--no-flakybot", "--json", "{report}"], "--json"),
        (["run", "{report}", "--no-rerun", "--no-flakybot", "-o", "{out}", "--json", "{out}"], "--json"),
        (["run", "{report}", "--no-rerun", "--no-flakybot", "--rerun-log", "{report}"], "--rerun-log"),
        (["run", "{report}", "--no-rerun", "--no-flakybot", "--thresholds", "{thresholds}", "--json", "{thresholds}"], "--json"),
        (["run", "{report}", "--no-rerun", "--no-flakybot", "--record-history", "--history-db", "{db}", "-o", "{db}"], "--output"),
        (["run", "{report}", "--no-rerun", "--no-flakybot", "--record-history", "--history-db", "{db}", "--json", "{db}"], "--json"),
        (["run", "{report}", "--no-rerun", "--no-flakybot", "--quarantine-file", "{quarantine}", "--json", "{quarantine}"], "--json"),
        (["run", "{report}", "--no-rerun", "--no-flakybot", "--codeowners", "{codeowners}", "--json", "{codeowners}"], "--json"),
        (["run", "{report}", "--no-rerun", "--no-flakybot", "--rootdir", "{dir}", "-o", "{pyproject}"], "--output"),
        (["stats", "--db", "{db}", "--html", "{db}"], "--html"),
        (["thresholds", "compute", "--db", "{db}", "-o", "{db}"], "--output"),
    ],
)
def test_an_output_that_names_a_file_the_command_reads_is_refused_and_every_file_kept(
    run_cli, flaky: Path, tmp_path: Path, args: List[str], option: str
) -> None:
    db = tmp_path / "history.sqlite"
    assert run_cli("history", "record", flaky, "--db", db, "--commit", "c1").exit_code == 0
    (tmp_path / "thresholds.json").write_text('{"flaky_tests": []}\n')
    (tmp_path / "out.xml").write_bytes(FLAKY.encode())
    (tmp_path / "quarantine.toml").write_text("")
    (tmp_path / "CODEOWNERS").write_text("* @org/team\n")
    (tmp_path / "pyproject.toml").write_text("[tool.junit-flaky]\nmin-passes = 1\n")
    files = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    names = {
        "report": flaky, "out": tmp_path / "out.xml", "db": db, "thresholds": tmp_path / "thresholds.json", "dir": tmp_path,
        "quarantine": tmp_path / "quarantine.toml", "codeowners": tmp_path / "CODEOWNERS", "pyproject": tmp_path / "pyproject.toml",
    }
    result = run_cli(*(a.format(**names) for a in args))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"junit-flaky: error: {option} ") and result.stderr.count("\n") == 1
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == files


def flaky_project(root: Path) -> Project:
    project = Project(root)
    project.write("test_flaky.py", f"def test_flaky():\n{flaky_body('flaky', [1])}")
    return project


@pytest.mark.parametrize("log", ["result.xml/rerun.log", "/dev/full"])
def test_a_rerun_log_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path, log: str) -> None:
    project = flaky_project(tmp_path)
    result = project.junit_flaky("run", str(project.pytest()), "--max-runs", "2", "--rerun-log", log, "-o", "out.xml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"junit-flaky: error: {log}: cannot write the rerun log: " in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.xml").exists()


def test_a_rerun_log_in_a_missing_folder_is_written_there_as_outputs_are(tmp_path: Path) -> None:
    project = flaky_project(tmp_path)
    result = project.junit_flaky("run", str(project.pytest()), "--max-runs", "2", "--rerun-log", "logs/rerun.log")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in (tmp_path / "logs" / "rerun.log").read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["history", "record", "{report}", "--db", "{file}/history.sqlite"],
        ["history", "record", "{report}", "--db", "{file}/deeper/history.sqlite"],
        ["upload", "{report}", "--to", "circleci", "--strict-upload"],
        ["run", "{report}", "--no-rerun", "--no-flakybot", "--json", "{file}/report.json"],
    ],
)
def test_a_file_where_a_folder_must_be_made_is_said_so(run_cli, flaky: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: List[str]) -> None:
    # mkdir's own words, 'File exists', read as if the folder were there already.
    file = tmp_path / "taken"
    file.write_text("a file where a folder must go")
    monkeypatch.setenv("CIRCLECI", "true")
    monkeypatch.setenv("JUNIT_FLAKY_CIRCLECI_DIR", str(file))
    result = run_cli(*(a.format(report=flaky, file=file) for a in args))
    assert result.exit_code in (2, 3)
    assert "a folder on the way is a file" in result.stdout + result.stderr
    assert file.read_text() == "a file where a folder must go"


@pytest.mark.parametrize("new_name", ["a", "test_bbbbbbbb", "test_a_longer_name"])  # shorter, as long, longer
def test_a_report_rewritten_while_the_reruns_ran_is_one_line_and_nothing_is_written(tmp_path: Path, new_name: str) -> None:
    # Something else (here the rerun itself, as a conftest that sets its own --junitxml would)
    # rewrites the report: what junit-flaky read of it no longer says where its testcases are.
    project = Project(tmp_path)
    rewrite = f"""    if run == 2:
        text = open("result.xml").read()
        open("result.xml", "w").write(text.replace('name="test_aaaaaaaa"', 'name="{new_name}"'))
"""
    project.write("test_rewrites.py", f"def test_aaaaaaaa():\n    pass\n\n\ndef test_flaky():\n{flaky_body('flaky', [1])}{rewrite}")
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--max-runs", "2", "-o", "out.xml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"junit-flaky: error: {report}: changed while junit-flaky ran" in result.stderr
    assert "internal error" not in result.stderr and not (tmp_path / "out.xml").exists()


def _write_json_to(run_cli, report: Path, target: Path):
    return run_cli("run", report, "--no-rerun", "--no-flakybot", "--json", target)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="making a device takes root")
def test_an_output_that_is_a_device_is_written_into_never_replaced(run_cli, flaky: Path, tmp_path: Path) -> None:
    # --json /dev/null run as root (a CI container) renamed a file over /dev/null itself.
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    assert _write_json_to(run_cli, flaky, null).exit_code == 0
    assert stat.S_ISCHR(null.stat().st_mode)


def test_an_output_that_is_a_pipe_is_written_into_never_replaced(run_cli, flaky: Path, tmp_path: Path) -> None:
    # As --json /dev/stdout | jq reads it.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    read: List[bytes] = []
    reader = threading.Thread(target=lambda: read.append(pipe.read_bytes()), daemon=True)
    reader.start()
    result = _write_json_to(run_cli, flaky, pipe)
    if reader.is_alive():  # nothing opened the pipe to write: let the reader go
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(30)
    assert result.exit_code == 0
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert json.loads(read[0])["failed"] is False


def test_an_output_that_is_a_symbolic_link_replaces_the_file_it_names_and_keeps_the_link(run_cli, flaky: Path, tmp_path: Path) -> None:
    (tmp_path / "builds").mkdir()
    target = tmp_path / "builds" / "42.json"
    target.write_text("{}")
    link = tmp_path / "latest.json"
    link.symlink_to(Path("builds") / "42.json")
    assert _write_json_to(run_cli, flaky, link).exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text())["failed"] is False


@pytest.mark.parametrize("command", [["history", "record", "{report}"], ["stats"], ["thresholds", "compute"]])
def test_a_history_database_that_is_a_pipe_is_refused_and_nothing_is_made_beside_it(run_cli, flaky: Path, tmp_path: Path, command: List[str]) -> None:
    # SQLite read it as a damaged database ('disk I/O error') and left a journal file beside it:
    # /dev/null-journal, for --db /dev/null run as root.
    (tmp_path / "dev").mkdir()
    pipe = tmp_path / "dev" / "history"
    os.mkfifo(pipe)
    result = run_cli(*(a.format(report=flaky) for a in command), "--db", pipe)
    assert result.exit_code == 2
    assert result.stderr == f"junit-flaky: error: {pipe}: is a device or a pipe, not a history database\n"
    assert [p.name for p in (tmp_path / "dev").iterdir()] == ["history"]


@pytest.mark.parametrize(
    "args",
    [
        ["run", "{report}", "--no-rerun", "--no-flakybot", "--json", ""],
        ["thresholds", "compute", "--db", "{db}", "--output", ""],
        ["stats", "--db", "{db}", "--html", ""],
    ],
)
def test_an_empty_output_path_says_so(run_cli, flaky: Path, tmp_path: Path, args: List[str]) -> None:
    # --json "$JSON" with the variable unset: the path is the current folder, and renaming a file
    # over it failed with 'Device or resource busy'.
    db = tmp_path / "history.sqlite"
    assert run_cli("history", "record", flaky, "--db", db, "--commit", "c1").exit_code == 0
    result = run_cli(*(a.format(report=flaky, db=db) for a in args))
    assert result.exit_code == 2
    assert result.stderr.endswith(": cannot write: is a folder (an empty path, a variable that is not set?)\n")


@pytest.mark.parametrize(
    "args",
    [
        ["run", "{report}", "--no-rerun", "--no-flakybot", "--json", "{long}"],
        ["run", "{report}", "--no-rerun", "--no-flakybot", "-o", "{long}"],
        ["run", "{report}", "--no-rerun", "--no-flakybot", "-o", "out/{long}"],
        ["run", "{long}", "--no-rerun", "--no-flakybot"],
    ],
)
def test_a_path_the_file_system_refuses_to_look_up_is_one_line(run_cli, flaky: Path, args: List[str]) -> None:
    # A name longer than the file system takes; as a user without read access to the folder, the
    # same lookup fails with 'Permission denied'. Either is the user's to fix, not a bug.
    long = "a" * 300 + ".xml"
    result = run_cli(*(a.format(report=flaky, long=long) for a in args))
    assert result.exit_code == 2
    assert result.stderr.startswith("junit-flaky: error: ") and result.stderr.endswith("File name too long\n")


def test_json_to_standard_output_redirected_to_a_file_keeps_the_report_printed_there(clean_env: Path, flaky: Path) -> None:
    # run ... --json /dev/stdout > build.log: the link leads to the log file, which a file renamed
    # over it replaced, losing the report printed there before the JSON.
    log = clean_env / "build.log"
    with open(log, "wb") as out:
        command = [sys.executable, "-m", "junit_flaky", "run", str(flaky), "--no-rerun", "--no-flakybot", "--json", "/dev/stdout"]
        result = subprocess.run(command, stdout=out, stderr=subprocess.PIPE)
    assert result.returncode == 0, result.stderr
    printed = log.read_text()
    assert "2 tests: 1 passed, 1 flaky" in printed, printed
    assert json.loads(printed[printed.index("\n{") :])["failed"] is False


def test_an_output_that_is_a_symbolic_link_loop_is_no_internal_error(run_cli, flaky: Path, tmp_path: Path) -> None:
    # Checked against the reports, the loop made pathlib raise RuntimeError ('Symlink loop').
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop.name)
    result = _write_json_to(run_cli, flaky, loop)
    assert result.exit_code == 0, result.stderr
    assert json.loads(loop.read_text())["failed"] is False
