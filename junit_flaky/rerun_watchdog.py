"""The watchdog between junit-flaky and the rerun's pytest (see rerun_process, its other side).

It runs in a Python of its own (``-S``, this module alone) and pytest starts only once it has
started and spawned it, so it imports what it needs before the spawn and nothing more: the C
signal module, not ``signal`` (whose enums cost ~4 ms), and no subprocess (see _spawn).
fd 0 is junit-flaky's pipe (EOF: kill), fd 1 the reports, fd 2 the log.
"""

from __future__ import annotations

import os
import select
import sys
import time

try:
    import _signal as signal  # what signal wraps: the same functions and numbers, without enum
except ImportError:  # an interpreter without it
    import signal  # type: ignore[no-redef]

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>, Linux 3.4+


def watch(cwd: str, command: list[str]) -> int:
    """Run ``command`` in ``cwd``, report its start and exit, and kill what it left on EOF."""
    subreaper = _become_subreaper()
    stop: list[int] = []
    wakeup, wake = os.pipe()
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake, warn_on_full_buffer=False)  # any signal below ends a select() at once
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # asked to stop: clean up as on EOF
        signal.signal(signum, lambda signum, frame: stop.append(signum))
    try:
        pid = _spawn(cwd, command)
    except OSError as exc:  # a failed exec comes as its message (see _spawn)
        _report(f"failed {getattr(exc, 'strerror', None) or exc}")
        return 1
    _report(f"started {pid}")
    code = None
    while not stop:
        if code is None:
            code = _ended(pid)
            if code is not None:
                _report(f"exit {code}")
        if subreaper and code is None:  # once pytest is an unreaped zombie, the final sweep reaps them
            _reap_ended_orphans(pid)
        ready = select.select([0, wakeup], [], [])[0]
        if wakeup in ready:
            os.read(wakeup, 4096)
        if 0 in ready and not os.read(0, 4096):
            break  # junit-flaky asks for the kill, or is gone
    try:
        os.killpg(pid, signal.SIGKILL)  # the group outlives its leader while members remain
    except (ProcessLookupError, PermissionError):
        pass
    if code is None or hasattr(os, "waitid"):  # reaped only now: until the group kill, its pid named nothing but our group
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if code is None:
            _report(f"exit {status}")
    if subreaper:
        _reap_descendants()
    return 0


def _spawn(cwd: str, command: list[str]) -> int:
    """Start ``command`` as ``subprocess.Popen(command, cwd=cwd, stdin=DEVNULL, stdout=2,
    stderr=STDOUT, start_new_session=True)`` does here: a new session, the same fds (every other
    one the watchdog holds is non-inheritable), SIGPIPE and SIGXFSZ back to their defaults, the
    same errors. Not Popen itself: subprocess takes ~7 ms to import and start a process, which
    pytest waits for; not os.posix_spawn either: glibc's leaves its internal signals ignored in
    the command."""
    failures, failure = os.pipe()  # the exec closes ``failure``: nothing read, the command runs
    pid = os.fork()
    if pid == 0:
        try:
            os.close(failures)
            os.setsid()
            os.chdir(cwd)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(2, 1)
            for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # ignored by Python, not by the programs it starts
                signal.signal(signum, signal.SIG_DFL)
            os.execvp(command[0], command)
        except BaseException as exc:
            os.write(failure, str(getattr(exc, "strerror", None) or exc).encode())
        finally:
            os._exit(127)
    os.close(failure)
    why = b""
    while True:
        data = os.read(failures, 4096)
        if not data:
            break
        why += data
    os.close(failures)
    if why:
        os.waitpid(pid, 0)
        raise OSError(why.decode())
    return pid


def _ended(pid: int) -> int | None:
    """The command's exit status once it has ended (negative: the signal), without reaping it.

    An unreaped process keeps its pid, so the pid cannot pass to another process, nor name
    another process group, before ``os.killpg(pid)`` kills what is left of the command's."""
    if not hasattr(os, "waitid"):  # macOS: Python has no waitid there; this reaps, the race stays
        done, status = os.waitpid(pid, os.WNOHANG)
        return os.waitstatus_to_exitcode(status) if done else None
    ended = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if ended is None:
        return None
    return ended.si_status if ended.si_code == os.CLD_EXITED else -ended.si_status


def _report(line: str) -> None:
    try:
        os.write(1, (line.replace("\n", " ") + "\n").encode())
    except OSError:  # junit-flaky may be gone; the cleanup still matters
        pass


def _become_subreaper() -> bool:
    """Orphaned descendants come to us instead of init, so none can escape the final sweep."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"):
        return False  # without /proc the sweep could not find the orphans it would wait for
    import ctypes  # only here: the watchdog starts quicker without it elsewhere

    return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _reap_ended_orphans(keep: int) -> None:
    """Reap the adopted orphans that have ended, so that no zombie piles up while pytest runs on;
    ``keep`` (pytest) is left to ``watch``, which reads its status."""
    while True:
        try:
            ended = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # look, do not reap yet
        except ChildProcessError:
            return
        if ended is None or ended.si_pid == keep:
            return  # none, or pytest: the next round of the loop reads it
        os.waitpid(ended.si_pid, 0)


def _reap_descendants() -> None:
    """SIGKILL every descendant and reap them, until none is left: a killed process's children are
    re-parented to us, and one may fork while we look. Without a child we have no descendant
    (an orphan below us is re-parented to us), so /proc is read only while a child lives: not at
    all when pytest left nothing behind, the usual end of a rerun."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:  # children left, none ended yet
            for pid in _descendants(os.getpid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)


def _descendants(root: int) -> list[int]:
    """Every live descendant of ``root``, from the parent pids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()  # the name before ")" may hold anything
        except OSError:
            continue  # it ended while we looked
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found
