"""The rerun's interpreter started ahead: pytest is imported while junit-flaky still parses its
options and reads the reports, then runs as ``python -m pytest ARGS`` would once ARGS are known.

``run`` starts it before its options are parsed, from the command after ``--`` alone, since the
interpreter's start and pytest's import (no user code: no plugin, no conftest) are most of what a
rerun pays before its tests. The first round uses it only if it would have started that very
command, in the same folder, with the same environment and log (``take``); any other round, or
any difference, starts a process as usual, and the one started ahead is killed. What pytest sees
is what ``python -m pytest`` shows it (sys.argv, sys.path, __main__); only ``sys.orig_argv``
(Python 3.10+) tells the bootstrap's ``-c`` from ``-m``. When no test needs a rerun, the
interpreter, which ran no code of the user's, is killed by its watchdog as ``run`` ends.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from junit_flaky import rerun_process, rerun_setup

# Run by the user's interpreter (Python 3.7+, the standard library only) as ``-c BOOTSTRAP FILE``:
# it imports pytest, waits for FILE to hold the rest of the command line, and runs pytest with it
# as -m does: through runpy._run_module_as_main, with the working directory first on sys.path
# where -c puts "". An import that fails is left to -m, which reports it in its own words.
BOOTSTRAP = """
import json, os, sys, time
try:
    __import__("pytest")
except Exception:
    pass
while not os.path.exists(sys.argv[1]):
    time.sleep(0.002)
with open(sys.argv[1]) as f:
    sys.argv[:] = ["-m"] + json.load(f)
if sys.path and sys.path[0] == "":
    sys.path[0] = os.getcwd()
del json, os, sys, time, f  # __main__ holds what -m would put there, nothing more
__import__("runpy")._run_module_as_main("pytest")
"""
_MODULE = ["-m", "pytest"]


class Prestart:
    """An interpreter with pytest imported, waiting for its arguments; ``close`` kills it unless a
    round took it, and removes the reruns' temporary folder."""

    def __init__(self, prefix: List[str], cwd: Path) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="junit-flaky-")
        self.workdir = Path(self._folder.name)
        self._prefix = prefix  # [interpreter, "-m", "pytest"]
        self._cwd = cwd
        self._env = rerun_setup.environment(self.workdir)
        self._log = self.workdir / "rerun.log"  # the reruns' log unless --rerun-log names one
        self._arguments = self.workdir / "pytest-arguments.json"
        try:
            with open(self._log, "ab") as log:
                self._process: Optional[rerun_process.RerunProcess] = rerun_process.launch(
                    [prefix[0], "-c", BOOTSTRAP, str(self._arguments)], cwd, self._env, log
                )
        except BaseException:
            self._folder.cleanup()
            raise

    def take(self, command: Sequence[str], cwd: Path, env: Dict[str, str], log: Path) -> Optional[rerun_process.RerunProcess]:
        """The process, now running ``command``, if it was started for it; None otherwise (the
        first time only: it is killed, and the caller starts ``command`` as usual)."""
        process, self._process = self._process, None
        if process is None:
            return None
        if list(command[: len(self._prefix)]) != self._prefix or cwd != self._cwd or env != self._env or log != self._log:
            process.abandon()
            return None
        try:
            process.started()
        except rerun_process.RerunStartError:
            return None  # starting the command as usual says why
        partial = self._arguments.with_name(self._arguments.name + ".partial")
        partial.write_text(json.dumps(list(command[len(self._prefix) :])), encoding="utf-8")
        os.replace(partial, self._arguments)  # the interpreter reads it whole or not at all
        return process

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.abandon()  # the watchdog kills it as junit-flaky goes on: it ran no user code
        self._folder.cleanup()


def start(command: Sequence[str]) -> Optional[Prestart]:
    """A Prestart for the reruns' ``command`` (the part after ``--``) when it runs pytest as a
    module (``python -m pytest ...``, the default); None for any other command, or when its
    interpreter cannot be started (the rerun then says why)."""
    prefix = rerun_setup.base_command(command)[:3]
    if prefix[1:] != _MODULE:
        return None
    try:
        return Prestart(prefix, Path.cwd())  # where the reruns run, unless --rootdir says otherwise
    except (rerun_process.RerunStartError, OSError):
        return None
