"""Shared fixtures: a clean environment, and the CLI run in-process with a pinned console width."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import pytest
from typer.testing import CliRunner

from junit_flaky import cli

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
