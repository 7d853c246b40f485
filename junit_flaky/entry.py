"""The junit-flaky command's entry point (the console script and ``python -m junit_flaky``).

``run`` starts the reruns' interpreter here (rerun_prestart), before the CLI is imported: typer
and rich take longer to load and parse the options than that interpreter takes to start and
import pytest, so the two overlap instead of following each other. Nothing else is imported
before the CLI, so every other command starts as it would from cli.py.
"""

from __future__ import annotations

import sys
from typing import List, Optional, Sequence, Tuple


def split_rerun_command(argv: Sequence[str]) -> Tuple[List[str], List[str]]:
    """``run a.xml -- python -m pytest -x`` -> (``run a.xml``, ``python -m pytest -x``).

    Only ``run`` takes a rerun command; click would mix it into REPORT..., so it is cut off before
    click parses the rest. Every other command leaves ``--`` to click, where it ends the options
    as usual (``upload -- -odd-name.xml``).
    """
    args = list(argv)
    if args[:1] == ["run"] and "--" in args:
        cut = args.index("--")
        return args[:cut], args[cut + 1 :]
    return args, []


def main(argv: Optional[Sequence[str]] = None) -> None:
    args, rerun_command = split_rerun_command(sys.argv[1:] if argv is None else argv)
    ahead = None
    if args[:1] == ["run"] and not {"--no-rerun", "--help"} & set(args):
        # A guess from the command line alone, which the reruns check.
        from junit_flaky import rerun_prestart

        ahead = rerun_prestart.start(rerun_command)
    code: object = 0
    try:
        from junit_flaky import cli

        cli.app(args=args, prog_name="junit-flaky", obj=cli.Invocation(rerun_command, ahead))
    except SystemExit as done:  # click ends every command this way
        code = done.code
    except OSError as exc:  # from click's own output (help, usage), which our consoles do not carry
        from junit_flaky import console

        code = console.refused_by_click(exc)
    finally:
        if ahead is not None:
            ahead.close()
    from junit_flaky import console

    sys.exit(console.exit_code(code))
