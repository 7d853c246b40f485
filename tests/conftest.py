"""Shared fixtures: a clean environment, and the CLI run in-process with a pinned console width."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import pytest
from typer.testing import CliRunner

from junit_flaky import cli

if TYPE_CHECKING:
    from junit_flaky.history.location import Location

# Variables that change what junit-flaky does: CI detection, the Flakybot API, option defaults,
# and rich's idea of the terminal.
_ENV_PREFIXES = ("AVIATOR_", "BUILDKITE", "CIRCLE", "GITHUB_", "JUNIT_FLAKY_")
_ENV_NAMES = ("CI", "COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
CONSOLE_WIDTH = 200


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CI, no token, no option defaults from the environment; the working directory is
    ``tmp_path`` (so no pyproject.toml of this repository is found). Returns ``tmp_path``."""
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES) or key in _ENV_NAMES:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(clean_env: Path, monkeypatch: pytest.MonkeyPatch):
    """``run_cli("run", "a.xml", "--no-rerun")``: the CLI through typer's CliRunner."""
    for console in (cli.stdout, cli.stderr):
        monkeypatch.setattr(console, "width", CONSOLE_WIDTH)
    runner = CliRunner()

    def invoke(*args: Union[str, Path]) -> CliResult:
        result = runner.invoke(cli.app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a crash in the CLI itself: show it, not an exit code
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for this session (one per xdist worker), stopped at its end. Where
    none can be started the tests that need it are skipped, saying why; in CI that is a failure,
    since .ci/run installs the server."""
    from tests import postgres_server

    try:
        import psycopg  # noqa: F401
    except ImportError:
        reason = "psycopg is not installed (pip install -e '.[test]')"
    else:
        try:
            server = postgres_server.start()
        except postgres_server.Unavailable as exc:
            reason = str(exc)
        else:
            yield server
            server.stop()
            return
    if os.environ.get("CI"):
        pytest.fail(f"no PostgreSQL server for the history tests: {reason}")
    pytest.skip(f"no PostgreSQL server: {reason}")


@pytest.fixture(params=["sqlite", "postgresql"])
def history_at(request: pytest.FixtureRequest, tmp_path: Path) -> "Location":
    """Where a history is, once as a SQLite file and once as a fresh PostgreSQL database: the
    store's tests pass on both."""
    from junit_flaky.history.location import DatabaseUrl

    if request.param == "sqlite":
        return tmp_path / "h.sqlite"
    return DatabaseUrl(request.getfixturevalue("postgres_server").new_database())
