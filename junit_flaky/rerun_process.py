"""The one seam to the OS for the rerun's pytest process: start it, wait for it, and kill it with
everything it started, however junit-flaky ends.

pytest is not junit-flaky's child but the child of a small watchdog (rerun_watchdog, run by a new
Python) in a session of its own, so that a SIGKILL to junit-flaky's process group (a CI agent
cancelling the step) does not reach it. Two pipes connect them: the watchdog reports pytest's
exit status up one; when the other closes, because junit-flaky asked for a kill or died, the
watchdog kills pytest's process group, then every descendant left, reaps them and exits.

On Linux the watchdog is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``): a process that
left pytest's group and session (``setsid``, a double fork) is re-parented to it, not to init, when
its parent dies, and /proc finds it. Without prctl and /proc (macOS) only pytest's process group
is killed: such escaped processes survive there, as they would without the watchdog.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from junit_flaky.errors import JunitFlakyError

if TYPE_CHECKING:
    from pathlib import Path
    from typing import IO, Dict, List, Optional

_REPORTS = (b"started ", b"failed ", b"exit ")  # the lines the watchdog writes to its stdout
KILL_WAIT = 10.0  # seconds kill() waits for the watchdog to reap everything before going on without it
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
# The watchdog imports its module from the folder it is in, whatever the working directory holds.
# -S: it needs the standard library alone, so the site setup (site-packages, .pth files, a
# sitecustomize) is left to the user's pytest, which runs it as usual, and not paid for twice.
# os._exit: the watchdog writes nothing buffered, and junit-flaky waits for its exit after each
# round; the interpreter's finalization would add ~2 ms to that wait.
_WATCHDOG = [sys.executable, "-S", "-c", "import os, sys; sys.path.insert(0, sys.argv[1]); from junit_flaky.rerun_watchdog import watch; os._exit(watch(sys.argv[2], sys.argv[3:]))"]


class RerunStartError(JunitFlakyError):
    """The rerun command could not be started (missing, not executable, ...)."""


def start(command: List[str], cwd: Path, env: Dict[str, str], log: IO[bytes]) -> "RerunProcess":
    """Start ``command`` in ``cwd`` under a watchdog: output to ``log``, stdin empty.

    Returns once the command runs; raises RerunStartError when it cannot be started."""
    process = launch(command, cwd, env, log)
    process.started()
    return process


def launch(command: List[str], cwd: Path, env: Dict[str, str], log: IO[bytes]) -> "RerunProcess":
    """``start`` without waiting for the command to run: ``started`` says whether it does."""
    try:
        watchdog = subprocess.Popen(
            # Absolute: the watchdog itself runs in _PACKAGE_PARENT, not where ``cwd`` was meant.
            [*_WATCHDOG, _PACKAGE_PARENT, os.path.abspath(cwd), *command],
            cwd=_PACKAGE_PARENT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            start_new_session=True,  # out of junit-flaky's process group, so that it outlives a kill of that group
        )
    except OSError as exc:  # the command's arguments are the watchdog's: too long for one, too long for both
        raise RerunStartError(_cannot_start(command, exc.strerror or str(exc))) from None
    except ValueError as exc:  # an argument with a NUL byte, which no process can take
        raise RerunStartError(_cannot_start(command, str(exc))) from None
    return RerunProcess(watchdog, command)


def _cannot_start(command: List[str], why: str) -> str:
    return f"the rerun command {command[0]} could not be started: {why}"


class RerunProcess:
    """A started rerun command: Popen's ``poll``, ``wait`` and ``returncode`` (negative: the signal
    that ended it), and a ``kill`` that takes everything the command started along."""

    def __init__(self, watchdog: "subprocess.Popen[bytes]", command: List[str]) -> None:
        self._watchdog = watchdog
        self._command = command
        self._received = b""
        self.pid = 0  # the command's own
        self.returncode: Optional[int] = None

    def started(self) -> None:
        """Wait until the command runs; RerunStartError (and nothing left running) when it cannot."""
        line = self._next_line(None)
        if not line.startswith("started "):
            self.kill()  # it failed, or died: it is ending, or ends now
            why = line[len("failed ") :] if line.startswith("failed ") else f"its watchdog exited with code {self._watchdog.returncode}"
            raise RerunStartError(_cannot_start(self._command, why))
        self.pid = int(line.split()[1])

    def poll(self) -> Optional[int]:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.wait(0)
        return None

    def wait(self, timeout: Optional[float] = None) -> int:
        """The exit status; raises subprocess.TimeoutExpired if it still runs after ``timeout`` s."""
        while self.returncode is None:
            line = self._next_line(timeout)
            if line.startswith("exit "):
                self.returncode = int(line.split()[1])
            elif not line:  # the watchdog itself was killed: its status is all there is to know
                self.returncode = self._watchdog.wait()
        return self.returncode

    def kill(self) -> None:
        """SIGKILL the command with every process it started, and wait until they are reaped."""
        self._watchdog.stdin.close()  # the watchdog's signal (idempotent)
        try:
            self._watchdog.wait(KILL_WAIT)
        except subprocess.TimeoutExpired:
            # A process that cannot die (uninterruptible sleep): the watchdog keeps at it alone,
            # and we go on as if the kill was done, without waiting for its report.
            if self.returncode is None:
                self.returncode = -signal.SIGKILL
        self.wait()  # the watchdog said it before exiting
        self._close()

    def abandon(self) -> None:
        """Have the watchdog kill the command and everything it started, without waiting: for a
        command that ran nothing of the user's yet, so nothing it did needs to be over."""
        self._close()

    def _next_line(self, timeout: Optional[float]) -> str:
        """The watchdog's next report ("" once it has closed the pipe). Other lines on its stdout
        are not reports (an interpreter that prints as it starts, whatever the cause): skipped."""
        pipe = self._watchdog.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while b"\n" not in self._received:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not select.select([pipe], [], [], left)[0]:
                    raise subprocess.TimeoutExpired(self._command, timeout or 0)
                data = os.read(pipe, 4096)
                if not data:
                    return ""
                self._received += data
            line, self._received = self._received.split(b"\n", 1)
            if line.startswith(_REPORTS):
                return line.decode()

    def _close(self) -> None:
        self._watchdog.stdin.close()
        self._watchdog.stdout.close()
