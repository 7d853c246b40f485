"""A PostgreSQL URL libpq cannot read is bad set-up, said before anything runs (exit 2), in run as
in the history commands: not a warning that leaves a build green without its history."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.history_samples import FLAKY_RUN

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")

CLI = [sys.executable, "-m", "junit_flaky"]


@pytest.mark.parametrize("query, why", [
    ("bogusparam=1", "invalid URI query parameter"),
    ("sslmode=requir e", "unexpected spaces found in"),
])
@pytest.mark.parametrize("command", [
    ["run", "r.xml", "--no-flakybot", "--no-rerun", "--record-history", "--fail-on-flake-regression", "--history-db"],
    ["stats", "--db"],
])
def test_a_url_libpq_rejects_is_bad_input_before_anything_runs(clean_env: Path, query: str, why: str, command: list) -> None:
    (clean_env / "r.xml").write_text(FLAKY_RUN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIT_FLAKY_", "PG")) and k != "CI"}
    url = f"postgresql://alice:Secret-Pa55word@127.0.0.1:5432/db?{query}"
    result = subprocess.run([*CLI, *command, url, "--json", "o.json"] if command[0] == "run" else [*CLI, *command, url],
                            cwd=clean_env, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, (result.returncode, result.stderr)
    [line] = result.stderr.splitlines()
    assert line.startswith("junit-flaky: error: postgresql://alice:***@127.0.0.1:5432/db?") and "not a valid PostgreSQL URL" in line, line
    assert why in line and "Pa55word" not in result.stdout + result.stderr, line
    assert result.stdout == "" and not (clean_env / "o.json").exists()  # nothing ran
