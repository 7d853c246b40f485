"""What every command prints through: the two consoles, warnings, and the one error boundary."""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Any, Callable, Iterator, TypeVar

import typer
from rich.console import Console

from junit_flaky.errors import EXIT_USAGE, JunitFlakyError

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
Command = TypeVar("Command", bound=Callable[..., Any])


def warn(message: str) -> None:
    stderr.print(f"junit-flaky: warning: {message}", markup=False)


@contextlib.contextmanager
def error_boundary() -> Iterator[None]:
    """Our errors become one line and an exit code; nothing else leaks a traceback either."""
    try:
        yield
    except JunitFlakyError as exc:
        stderr.print(f"junit-flaky: error: {exc}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        stderr.print("junit-flaky: interrupted", markup=False)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as exc:  # a bug: say so in one line, keep the traceback for those who ask
        if os.environ.get("JUNIT_FLAKY_DEBUG"):
            raise
        stderr.print(
            f"junit-flaky: internal error: {type(exc).__name__}: {exc}"
            " (set JUNIT_FLAKY_DEBUG=1 for the traceback)",
            markup=False,
        )
        raise typer.Exit(EXIT_USAGE) from None


def bounded(command: Command) -> Command:
    """A typer command whose whole body runs inside the error boundary."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        with error_boundary():
            return command(*args, **kwargs)

    return run  # type: ignore[return-value]
