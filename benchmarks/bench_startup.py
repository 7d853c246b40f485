"""`junit-flaky --version` (the installed command) against starting Python and doing nothing.

    python benchmarks/bench_startup.py [--repeat R]

What every invocation pays before it reads a report: the interpreter's start, the console
script's and the CLI's imports. The baseline, `python -c pass`, is the part no Python tool can
avoid. Goals: <= 0.08 s, and the ratio reported next to it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from common import alternate, table


def installed_command() -> str:
    """The console script next to this interpreter (a virtualenv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "junit-flaky"
    found = str(beside) if beside.exists() else shutil.which("junit-flaky")
    if not found:
        raise SystemExit("benchmark: the junit-flaky command is not installed")
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "junit-flaky --version": [installed_command(), "--version"],
    }
    print(table(alternate(commands, args.repeat), "python -c pass (baseline)"))


if __name__ == "__main__":
    main()
