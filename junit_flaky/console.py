"""What every command prints through: the two consoles, warnings, and the one error boundary."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from typing import Any, Callable, Iterator, Optional, TypeVar

import typer
from rich.console import Console

from junit_flaky import tokens
from junit_flaky.errors import EXIT_USAGE, JunitFlakyError


class _Stream:
    """``sys.stdout`` or ``sys.stderr`` (looked up at each write, so a test's capture is seen),
    with every token value redacted: whatever the text's source (a server's answer, the agent's
    stderr, a test name), no code path can print a token.

    It also outlives its reader: after ``junit-flaky run ... | head -1`` the pipe closes, yet the
    report must still be written and the exit code must still be the verdict's. What is printed
    after that is dropped (Python's own recipe for EPIPE: point the descriptor at /dev/null, so
    the interpreter's last flush cannot fail either). A stream that refuses writes for another
    reason (a full disk: ENOSPC) is dropped the same way, so the command still finishes its
    work, and ``refused`` keeps why: what the user reads is incomplete, which ``exit_code`` says.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.dropped = False
        self.refused: Optional[OSError] = None

    @property
    def _stream(self) -> Any:
        return getattr(sys, self.name)

    def write(self, text: str) -> int:
        if not self.dropped:
            try:
                self._write(tokens.redact(text, os.environ))
            except OSError as exc:
                self._drop(exc)
        return len(text)

    def _write(self, text: str) -> None:
        """A stream that cannot encode a character (stdout is ASCII under LANG=C without Python's
        UTF-8 mode) gets it escaped as Python writes it (``\\xfc``): a test's name or message in
        another script must not turn the verdict's exit code into a crash's. Text IO encodes the
        whole text before writing any of it, so nothing is printed twice."""
        try:
            self._stream.write(text)
        except UnicodeEncodeError as exc:
            self._stream.write(text.encode(exc.encoding, "backslashreplace").decode(exc.encoding))

    def flush(self) -> None:
        if not self.dropped:
            try:
                self._stream.flush()
            except OSError as exc:
                self._drop(exc)

    def _drop(self, exc: OSError) -> None:
        self.dropped = True
        if not isinstance(exc, BrokenPipeError):  # a reader that left is no news
            self.refused = exc
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return self._stream.encoding


def _reopen_closed(name: str, fd: int) -> None:
    """A descriptor the caller closed (``junit-flaky run ... >&-``) leaves ``sys.<name>`` None:
    it is pointed at /dev/null, so what would be printed there is dropped, as after a reader
    closes a pipe, while the files are still written and the exit code is still the verdict's.
    The descriptor itself is reopened too: the next file opened would take its number, and the
    reruns, which inherit it, would write into that file."""
    if getattr(sys, name) is None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
        setattr(sys, name, open(fd, "w", encoding="utf-8", closefd=False))


_reopen_closed("stdout", 1)
_reopen_closed("stderr", 2)
# No emoji codes: what is printed holds names of files and tests, and rich would turn a file named
# shard:x:.xml into "shard❌.xml".
_stdout = _Stream("stdout")
stdout = Console(file=_stdout, highlight=False, soft_wrap=True, emoji=False)  # type: ignore[arg-type]
stderr = Console(file=_Stream("stderr"), highlight=False, soft_wrap=True, emoji=False)  # type: ignore[arg-type]
Command = TypeVar("Command", bound=Callable[..., Any])


def exit_code(code: Any) -> Any:
    """The command's exit code (``SystemExit.code``), once it is done: a stdout that refused
    writes (not a reader that left) is an error, since what the user reads is incomplete (exit 2
    where the command had nothing worse to say; its files are written all the same)."""
    refused = _stdout.refused
    if refused is None:
        return code
    stderr.print(f"junit-flaky: error: cannot write to standard output: {refused.strerror}", markup=False)
    return EXIT_USAGE if not code else code


def refused_by_click(exc: OSError) -> int:
    """click prints help and usage errors itself, not through the consoles: a write of its that
    failed is taken as a stdout that refused writes (a full disk for ``--help > file``)."""
    _stdout._drop(exc)
    return EXIT_USAGE


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
        # Printed here, not left to Python, so that the traceback is redacted like any other text.
        debug = bool(os.environ.get("JUNIT_FLAKY_DEBUG"))
        if debug:
            stderr.print(traceback.format_exc(), end="", markup=False)
        hint = "" if debug else " (set JUNIT_FLAKY_DEBUG=1 for the traceback)"
        stderr.print(f"junit-flaky: internal error: {type(exc).__name__}: {exc}{hint}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None


def bounded(command: Command) -> Command:
    """A typer command whose whole body runs inside the error boundary."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        with error_boundary():
            return command(*args, **kwargs)

    return run  # type: ignore[return-value]
