"""Writing files the user keeps: all or nothing, never a half-written report."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Optional, TextIO, Tuple

from junit_flaky.errors import JunitFlakyError


def why_not_written(exc: OSError) -> str:
    """Why a file or the folders it goes in could not be made, in words: mkdir's own 'File exists'
    and 'Not a directory' read as if the folder were there, where a file stands in its way."""
    return "a folder on the way is a file" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``path`` and rename it over ``path`` only on success.

    A symbolic link is followed: the file it names is replaced and the link stays. A device or a
    pipe (``--json /dev/stdout | jq``, ``/dev/null``) is written into as it is: a rename would put
    a file in its place, and as root that replaces /dev/null for every process of the machine.
    Standard output's or error's file (``--json /dev/stdout > build.log``) takes it after what was
    printed there."""
    mode = _mode(path)
    if stat.S_ISDIR(mode):  # Path("") is the current folder: --json "$JSON" with the variable unset
        hint = " (an empty path, a variable that is not set?)" if str(path) == "." else ""
        raise JunitFlakyError(f"{path}: cannot write: is a folder{hint}")
    printed_to = _standard_stream_of(path)
    if printed_to is not None:  # --json /dev/stdout > build.log: after what was printed there, not over it
        printed_to.flush()
        with _writing_into(path, os.dup(printed_to.fileno())) as handle:
            yield handle
        return
    if _is_stream(mode):
        with _writing_into(path) as handle:
            yield handle
        return
    if stat.S_ISLNK(_mode(path, follow_symlinks=False)):
        path = Path(os.path.realpath(path))
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise JunitFlakyError(f"{path}: cannot write: {why_not_written(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise JunitFlakyError(f"{path}: cannot write: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _mode(path: Path, follow_symlinks: bool = True) -> int:
    """The type and mode of what ``path`` names; 0 for nothing there yet, or a lookup the file
    system refuses (a name too long, a folder the user cannot read): writing then says why."""
    try:
        return os.stat(path, follow_symlinks=follow_symlinks).st_mode
    except OSError:
        return 0


def _is_stream(mode: int) -> bool:
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _standard_stream_of(path: Path) -> Optional[TextIO]:
    """sys.stdout or sys.stderr where ``path`` names the file it writes to (``/dev/stdout``, or
    the log file it is redirected to): a file renamed over it, or opened anew, would replace
    what was printed there."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if os.path.samestat(os.stat(path), os.fstat(stream.fileno())):
                return stream
        except (OSError, ValueError, AttributeError):  # nothing there yet; a stream with no file
            continue
    return None


@contextlib.contextmanager
def _writing_into(path: Path, fd: Optional[int] = None) -> Iterator[BinaryIO]:
    try:
        with open(path, "wb") if fd is None else os.fdopen(fd, "wb") as handle:
            yield handle
    except OSError as exc:
        raise JunitFlakyError(f"{path}: cannot write: {exc.strerror}") from None


def refuse_to_replace(output: Optional[Path], option: str, kept: Iterable[Tuple[str, Optional[Path]]]) -> None:
    """An output naming a file the command reads or writes otherwise (a report, the history, the
    --output report) would replace that file with something else, and what the user had is lost:
    refused before any work. ``kept``: (what the file is, its path) pairs; None paths are skipped.
    A device or a pipe (/dev/null, /dev/stdout) replaces nothing: it may take several outputs."""
    if output is None or _is_stream(_mode(output)):
        return
    for what, path in kept:
        if path is not None and _same_file(output, path):
            raise JunitFlakyError(f"{option} {output}: that is {what}; name another file")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # hard links and symbolic links too
    except OSError:  # one of them is not there (yet), or is a link loop, where resolve() raises
        return os.path.realpath(a) == os.path.realpath(b)
