"""The rerun's pytest process: its exit status, its output, and that nothing it started outlives
junit-flaky, however junit-flaky ends (done, a hang, SIGTERM/SIGINT, SIGKILL to its group).

Real processes throughout: a test that spawns a grandchild in a session of its own (``os.setsid``)
is the case a process-group kill misses. Every process a test starts is killed in a finalizer, so
a failing test never leaves a 600 s sleeper behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

import pytest
from lxml import etree

from junit_flaky import rerun_process
from tests.projects import Project, flaky_body

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="descendants are found through /proc")

# How long a cancelled step may take to end: GitHub Actions gives 7.5 s after SIGINT before it
# sends SIGTERM; Buildkite's default grace period is 10 s.
CANCEL_GRACE = 7.5

# Starts a grandchild that leaves the process group and session (as daemons do), writes its pid
# to sys.argv[1] once it is out, then sleeps; the caller waits for that file.
SETSID_SLEEPER = (
    "import os, sys, time\n"
    "os.setsid()\n"
    "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid()))\n"
    "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "time.sleep(600)\n"
)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie has ended; only its entry is left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def children_of(parent: int) -> List[int]:
    """Every process (a zombie too) whose parent is ``parent``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if parent_of(int(entry)) == parent:
                    found.append(int(entry))
            except OSError:
                continue  # it ended while we looked
    return found


def eventually(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def read_pid(path: Path, seconds: float = 60) -> int:
    assert eventually(lambda: path.exists() and path.read_text().strip(), seconds), f"{path.name} was never written"
    return int(path.read_text())


@pytest.fixture
def pidfiles(tmp_path: Path):
    """Files that hold the pids of started processes (written by them, or given); whatever is still
    alive is killed at the end."""
    files: List[Path] = []

    def register(name: str, pid: Optional[int] = None) -> Path:
        files.append(tmp_path / name)
        if pid is not None:
            files[-1].write_text(str(pid))
        return files[-1]

    yield register
    for path in files:
        pid = path.read_text().strip() if path.exists() else ""
        if pid and alive(int(pid)):
            os.kill(int(pid), signal.SIGKILL)


# -- the process as reruns.py uses it --------------------------------------------------------------


@pytest.fixture
def start(tmp_path: Path, pidfiles):
    """``start(code, *args)``: ``python -c code args`` as reruns start pytest, output to rerun.log."""

    def run(code: str, *args: str) -> rerun_process.RerunProcess:
        with open(tmp_path / "rerun.log", "ab") as log:  # the processes have their own copy
            process = rerun_process.start([sys.executable, "-c", code, *args], tmp_path, dict(os.environ), log)
        pidfiles("process.pid", process.pid)
        return process

    return run


def test_exit_code_is_reported(start):
    process = start("import sys; sys.exit(3)")
    assert process.wait(60) == 3
    assert process.poll() == 3 and process.returncode == 3
    process.kill()


def test_death_by_signal_is_a_negative_code(start):
    process = start("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert process.wait(60) == -signal.SIGSEGV
    process.kill()


def test_a_running_process_has_no_code_until_killed(start, pidfiles):
    pidfile = pidfiles("pytest.pid")
    process = start("import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(600)", str(pidfile))
    pid = read_pid(pidfile)
    assert process.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(0.1)
    process.kill()
    assert process.wait() == -signal.SIGKILL
    assert not alive(pid)


def test_output_goes_to_the_log_and_stdin_is_empty(start, tmp_path):
    code = "import sys; print('to stdout'); print('to stderr', file=sys.stderr); print('stdin', repr(sys.stdin.read()))"
    process = start(code)
    assert process.wait(60) == 0
    process.kill()
    log = (tmp_path / "rerun.log").read_text()
    assert "to stdout" in log and "to stderr" in log and "stdin ''" in log


@linux_only
@pytest.mark.parametrize("how", ["setsid", "double-fork"])
def test_kill_takes_grandchildren_in_their_own_session(start, pidfiles, how):
    grandchild = pidfiles("grandchild.pid")
    spawn = f"subprocess.Popen([sys.executable, '-c', {SETSID_SLEEPER!r}, sys.argv[1]])"
    if how == "double-fork":  # a middle process starts the sleeper and exits: the sleeper is an orphan
        spawn = f"subprocess.run([sys.executable, '-c', 'import subprocess, sys; ' + {spawn!r}, sys.argv[1]])"
    code = f"import subprocess, sys, time\n{spawn}\ntime.sleep(600)\n"
    process = start(code, str(grandchild))
    pid = read_pid(grandchild)
    process.kill()
    assert process.wait() == -signal.SIGKILL
    assert not alive(pid)


@linux_only
def test_kill_takes_what_the_process_left_behind_after_it_exited(start, pidfiles):
    grandchild = pidfiles("grandchild.pid")
    code = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {SETSID_SLEEPER!r}, sys.argv[1]])\n"
    process = start(code, str(grandchild))
    pid = read_pid(grandchild)
    assert process.wait(60) == 0
    assert alive(pid)  # an orphan now, still running
    process.kill()
    assert process.wait() == 0  # the exit status is still the process's own
    assert not alive(pid)


@linux_only
def test_an_exited_process_keeps_its_pid_until_the_kill_so_the_group_kill_hits_nothing_else(start):
    # The kill is a SIGKILL to the process group named by the command's pid. Reaped at once, that
    # pid would be free while the watchdog waits for the kill, and a new process group of another
    # program could take it (pid_max is 32768 on many CI machines). Left unreaped, it cannot.
    process = start("import sys; sys.exit(3)")
    assert process.wait(60) == 3
    stat = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()
    assert stat[0] == "Z" and int(stat[3]) == process.pid  # still ours: a zombie, leading its group
    process.kill()
    assert process.wait() == 3
    assert not Path(f"/proc/{process.pid}").exists()


@linux_only
def test_orphans_that_end_while_the_process_runs_leave_no_zombies(start, tmp_path):
    # Each middle process starts a short-lived grandchild and exits: the grandchild is an orphan.
    orphan = "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(0.2)'])"
    marker = tmp_path / "orphans-started"
    code = (
        "import pathlib, subprocess, sys, time\n"
        f"for _ in range(5):\n    subprocess.run([sys.executable, '-c', {orphan!r}])\n"
        "pathlib.Path(sys.argv[1]).touch()\n"
        "time.sleep(600)\n"
    )
    process = start(code, str(marker))
    assert eventually(marker.exists, 60)
    watchdog = parent_of(process.pid)
    assert eventually(lambda: children_of(watchdog) == [process.pid], 10), "ended orphans left as zombies"
    process.kill()


@linux_only
def test_a_watchdog_told_to_terminate_kills_before_it_goes(start, pidfiles):
    # Tools that end a job by walking its process tree (Jenkins' ProcessTreeKiller) reach the
    # watchdog too; it must not go alone and leave the grandchild to init.
    grandchild = pidfiles("grandchild.pid")
    code = f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {SETSID_SLEEPER!r}, sys.argv[1]])\ntime.sleep(600)\n"
    process = start(code, str(grandchild))
    pid = read_pid(grandchild)
    watchdog = parent_of(process.pid)
    os.kill(watchdog, signal.SIGTERM)
    assert process.wait(60) == -signal.SIGKILL
    process.kill()
    assert not alive(pid)


@linux_only
def test_a_kill_that_cannot_finish_lets_junit_flaky_go_on(start, pidfiles, monkeypatch):
    # A process in uninterruptible sleep (a hung NFS read) outlives SIGKILL, and the watchdog waits
    # for it; junit-flaky must not wait with it. A stopped watchdog cannot finish either.
    monkeypatch.setattr(rerun_process, "KILL_WAIT", 0.5)
    process = start("import time; time.sleep(600)")
    watchdog = parent_of(process.pid)
    pidfiles("watchdog.pid", watchdog)
    os.kill(watchdog, signal.SIGSTOP)
    try:
        process.kill()
        assert process.wait(5) == -signal.SIGKILL  # what was asked; the watchdog finishes alone
    finally:
        os.kill(watchdog, signal.SIGCONT)
    assert eventually(lambda: not alive(process.pid) and not alive(watchdog), 30)


def test_a_sitecustomize_that_prints_does_not_confuse_the_watchdog(tmp_path):
    # The watchdog is a Python too: whatever the environment makes every Python print on start
    # (a sitecustomize, a .pth file) must neither stop the rerun nor hang junit-flaky.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text("print('hello from sitecustomize')\n")
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from junit_flaky import rerun_process\n"
        "env = dict(os.environ, PYTHONPATH=sys.argv[1])\n"
        "with open(os.devnull, 'ab') as log:\n"
        "    process = rerun_process.start([sys.executable, '-c', 'raise SystemExit(7)'], Path.cwd(), env, log)\n"
        "print(process.wait(60))\n"
        "process.kill()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "site")], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.splitlines()[-1:] == ["7"], done.stdout + done.stderr


def test_the_site_setup_runs_in_the_rerun_command_only_not_in_its_watchdog(tmp_path):
    # What the environment runs in every Python's start (a sitecustomize, a .pth file: coverage's
    # subprocess measurement, a slow import hook) is for the user's pytest; the watchdog between
    # them, which needs only the standard library, neither pays for it nor triggers its effects.
    (tmp_path / "site").mkdir()
    starts = tmp_path / "starts"
    (tmp_path / "site" / "sitecustomize.py").write_text(f"open({str(starts)!r}, 'a').write('started\\n')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    with open(os.devnull, "ab") as log:
        process = rerun_process.start([sys.executable, "-c", "raise SystemExit(7)"], tmp_path, env, log)
    try:
        assert process.wait(60) == 7
    finally:
        process.kill()
    assert starts.read_text().splitlines() == ["started"]


def test_a_missing_command_cannot_be_started(tmp_path):
    with pytest.raises(rerun_process.RerunStartError) as raised, open(os.devnull, "ab") as log:
        rerun_process.start(["./no-such-pytest", "-q"], tmp_path, dict(os.environ), log)
    assert str(raised.value) == "the rerun command ./no-such-pytest could not be started: No such file or directory"


def test_a_file_without_the_x_bit_cannot_be_started(tmp_path):
    (tmp_path / "pytest-script").write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(rerun_process.RerunStartError) as raised, open(os.devnull, "ab") as log:
        rerun_process.start(["./pytest-script"], tmp_path, dict(os.environ), log)
    assert str(raised.value) == "the rerun command ./pytest-script could not be started: Permission denied"


def test_a_command_with_a_nul_byte_cannot_be_started(tmp_path):
    # No shell passes one, but a program calling junit-flaky's main with its own arguments can.
    with pytest.raises(rerun_process.RerunStartError) as raised, open(os.devnull, "ab") as log:
        rerun_process.start([sys.executable, "-c", "pass\0"], tmp_path, dict(os.environ), log)
    assert str(raised.value) == f"the rerun command {sys.executable} could not be started: embedded null byte"


@linux_only
def test_a_command_line_too_long_for_the_os_cannot_be_started(tmp_path):
    # Linux takes at most 128 KiB in one argument: the watchdog, which gets the command as its
    # arguments, cannot start either, and that is the same one-line reason.
    with pytest.raises(rerun_process.RerunStartError) as raised, open(os.devnull, "ab") as log:
        rerun_process.start([sys.executable, "-c", "pass", "x" * 200_000], tmp_path, dict(os.environ), log)
    assert str(raised.value) == f"the rerun command {sys.executable} could not be started: Argument list too long"


# -- end to end: junit-flaky run, and what it leaves behind ---------------------------------------


def spawning_project(tmp_path: Path, pytest_pid: Path, grandchild_pid: Path) -> Path:
    """A test that fails its first run; its rerun starts a setsid grandchild, writes both pids
    (pytest's own and the grandchild's), then sleeps. Returns the first run's report."""
    project = Project(tmp_path)
    project.write(
        "test_mod.py",
        "import os, subprocess, sys, time\n\n"
        f"SLEEPER = {SETSID_SLEEPER!r}\n\n"
        "def test_spawns():\n"
        f"{flaky_body('spawns', [1])}"
        f"    subprocess.Popen([sys.executable, '-c', SLEEPER, {str(grandchild_pid)!r}])\n"
        f"    while not os.path.exists({str(grandchild_pid)!r}):\n"
        "        time.sleep(0.05)\n"
        f"    open({str(pytest_pid)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(600)\n",
    )
    return project.pytest()


def start_tool(project: Project, *args: str, **popen: object) -> "subprocess.Popen[str]":
    command = [sys.executable, "-m", "junit_flaky", "run", *args, "--no-flakybot"]
    return subprocess.Popen(
        command, cwd=project.root, env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


@pytest.mark.reruns
@linux_only
def test_sigkill_to_the_tools_process_group_leaves_no_rerun_process(tmp_path, pidfiles):
    pytest_pid, grandchild_pid = pidfiles("pytest.pid"), pidfiles("grandchild.pid")
    report = spawning_project(tmp_path, pytest_pid, grandchild_pid)
    # A CI agent cancelling the step: the tool leads its own group, and the whole group is killed.
    tool = start_tool(Project(tmp_path), str(report), "--max-runs", "2", start_new_session=True)
    try:
        pids = [read_pid(pytest_pid), read_pid(grandchild_pid)]
    finally:
        os.killpg(tool.pid, signal.SIGKILL)
        tool.communicate()
    assert eventually(lambda: not any(alive(pid) for pid in pids), 10), "a rerun process outlived junit-flaky"


@pytest.mark.reruns
@linux_only
def test_hung_rerun_is_killed_with_its_setsid_grandchild(tmp_path, pidfiles):
    pytest_pid, grandchild_pid = pidfiles("pytest.pid"), pidfiles("grandchild.pid")
    report = spawning_project(tmp_path, pytest_pid, grandchild_pid)
    result = Project(tmp_path).junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2", "--rerun-timeout", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "timed out after 2s" in result.stdout
    assert not alive(read_pid(pytest_pid, 0))
    assert not alive(read_pid(grandchild_pid, 0))


@pytest.mark.reruns
@pytest.mark.parametrize("command", ["missing", "not-executable"])
def test_rerun_command_that_cannot_start_is_a_note_and_a_failed_verdict(tmp_path, command):
    project = Project(tmp_path)
    project.write("test_mod.py", f"def test_flaky():\n{flaky_body('flaky', [1])}")
    project.write("not-executable", "#!/bin/sh\nexec python -m pytest \"$@\"\n")
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--output", "final.xml", "--json", "final.json", "--max-runs", "3",
        rerun_command=[f"./{command}"],
    )
    assert result.returncode == 1, result.stdout + result.stderr
    why = "No such file or directory" if command == "missing" else "Permission denied"
    note = f"the rerun command ./{command} could not be started: {why}"
    assert note in result.stdout.splitlines()
    assert "error" not in result.stderr
    [test] = json.loads((tmp_path / "final.json").read_text())["tests"]
    assert test["verdict"] == "failed" and note in test["reason"]
    case = etree.parse(str(tmp_path / "final.xml")).getroot().find(".//testcase[@name='test_flaky']")
    assert case.find("failure") is not None
    assert project.runs("flaky") == 1


@pytest.mark.reruns
@linux_only
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("phase", ["in-a-test", "before-collection"])
def test_signal_stops_the_reruns_within_the_grace_period(tmp_path, pidfiles, signum, phase):
    project = Project(tmp_path)
    pytest_pid = pidfiles("pytest.pid")
    write_pid = f"open({str(pytest_pid)!r}, 'w').write(str(os.getpid()))"
    hang = flaky_body("hang", [1]) + f"    {write_pid}\n    time.sleep(600)\n"
    project.write("test_mod.py", f"import os, time\n\ndef test_hang():\n{hang}")
    report = project.pytest()
    rerun_command = []
    if phase == "before-collection":  # a rerun command still starting: it never reports a collection
        rerun_command = ["--", sys.executable, "-c", f"import os, time\n{write_pid}\ntime.sleep(600)"]
    tool = start_tool(project, str(report), "--output", "final.xml", "--json", "final.json", "--max-runs", "2", *rerun_command)
    try:
        pid = read_pid(pytest_pid)
        tool.send_signal(signum)
        sent = time.monotonic()
        out, err = tool.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        tool.kill()
    assert took < CANCEL_GRACE, f"junit-flaky took {took:.1f}s to stop"
    assert tool.returncode == 1, out + err
    case = etree.parse(str(tmp_path / "final.xml")).getroot().find(".//testcase[@name='test_hang']")
    assert case.find("failure") is not None
    [test] = json.loads((tmp_path / "final.json").read_text())["tests"]
    assert test["verdict"] == "failed" and f"reruns interrupted by {signal.Signals(signum).name}" in test["reason"]
    assert not alive(pid)
