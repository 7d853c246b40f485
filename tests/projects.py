"""Small pytest projects for end-to-end tests: real files, real pytest, deterministic flakiness.

A flaky test counts its runs in a file and fails on the runs it is told to, so "fails once, then
passes" is a fact of the test, not luck.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence
from urllib.parse import quote

COUNTER_HELPER = '''
import os
from urllib.parse import quote

def run_number(name):
    """This test's run number (1 for the first run), counted in a file."""
    folder = os.environ["COUNTERS"]
    path = os.path.join(folder, quote(name, safe=""))
    number = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as handle:
        handle.write(str(number))
    return number
'''


def flaky_body(name: str, fail_on: Iterable[int], indent: str = "    ", key: str = "") -> str:
    """The body of a test that fails on the given run numbers and passes on the others.

    Runs are counted under ``name``, or under the value of the expression ``key`` (e.g. a
    parameter, so each parametrization counts its own runs).
    """
    failing = sorted(set(fail_on))
    return textwrap.indent(
        f"from counters import run_number\n"
        f"run = run_number({key or repr(name)})\n"
        f"assert run not in {failing!r}, f'run {{run}} fails'\n",
        indent,
    )


class Project:
    """A pytest project in a folder, with helpers to run pytest and junit-flaky in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.counters = root / ".counters"
        self.counters.mkdir(parents=True, exist_ok=True)
        self.write("counters.py", COUNTER_HELPER)

    def write(self, relative: str, source: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        return path

    def env(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        env = dict(os.environ)
        env["COUNTERS"] = str(self.counters)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.root), env.get("PYTHONPATH", "")]))
        env.pop("AVIATOR_API_TOKEN", None)
        env.update(extra or {})
        return env

    def runs(self, name: str) -> int:
        """How many times a counted test ran."""
        path = self.counters / quote(name, safe="")
        return int(path.read_text()) if path.exists() else 0

    def pytest(self, *args: str, report: str = "result.xml") -> Path:
        """The user's test step: pytest writing a JUnit report (it may fail)."""
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *args],
            cwd=self.root, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
        )
        return self.root / report

    def junit_flaky(
        self, *args: str, rerun_command: Sequence[str] = (), timeout: float = 120, env: Optional[Dict[str, str]] = None
    ) -> subprocess.CompletedProcess:
        command: List[str] = [sys.executable, "-m", "junit_flaky", *args, "--no-flakybot"]
        if rerun_command:
            command += ["--", *rerun_command]
        return subprocess.run(
            command, cwd=self.root, env=self.env(env), capture_output=True, text=True, timeout=timeout
        )
