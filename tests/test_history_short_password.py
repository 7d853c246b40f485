"""A PostgreSQL history's password that is short or a common word: the output stays readable and
the --json file valid, while the password still never shows where it can be told apart (the URL's
login, the driver's errors that quote it). And structured outputs (the --json file, the job
summary, GitHub's workflow commands) hide secrets in their values, before escaping could split one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.history_samples import FLAKY_RUN

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")

CLI = [sys.executable, "-m", "junit_flaky"]


def _run(cwd: Path, url: str, **extra: str) -> subprocess.CompletedProcess:
    (cwd / "r.xml").write_text(FLAKY_RUN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIT_FLAKY_", "PG")) and k != "CI"}
    env.update(extra, JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT="2")
    return subprocess.run(
        [*CLI, "run", "r.xml", "--no-flakybot", "--no-rerun", "--record-history", "--history-db", url, "--json", "o.json"],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=120,
    )


@pytest.mark.parametrize("password", ["t", "n"])
def test_a_one_character_password_leaves_the_output_readable_and_the_json_valid(clean_env: Path, password: str) -> None:
    ran = _run(clean_env, f"postgresql://user:{password}@127.0.0.1:1/db")
    assert ran.returncode == 0, ran.stderr
    assert "===FlakyBot Test Report===" in ran.stdout and "[redacted]" not in ran.stdout, ran.stdout
    assert "junit-flaky: warning: history not recorded: postgresql://user:***@127.0.0.1:1/db: cannot connect to the history database" in ran.stderr, ran.stderr
    assert "[redacted]" not in ran.stderr, ran.stderr
    report = json.loads((clean_env / "o.json").read_text())  # valid JSON
    assert report["tests"][0]["name"] == "test_flaky[1]" and report["summary"]["flaky"] == 1


def test_pgpassword_postgres_leaves_the_url_and_the_json_readable(clean_env: Path) -> None:
    ran = _run(clean_env, "postgresql://postgres@127.0.0.1:1/db", PGPASSWORD="postgres")
    assert ran.returncode == 0, ran.stderr
    assert "history not recorded: postgresql://postgres@127.0.0.1:1/db: cannot connect" in ran.stderr, ran.stderr
    assert "[redacted]" not in ran.stdout + ran.stderr
    assert json.loads((clean_env / "o.json").read_text())["tests"][0]["classname"] == "pkg.TestA"


def test_a_common_word_as_the_urls_password_is_hidden_in_the_url_only(clean_env: Path) -> None:
    ran = _run(clean_env, "postgresql://postgres:postgres@127.0.0.1:1/db")
    assert "history not recorded: postgresql://postgres:***@127.0.0.1:1/db: cannot connect" in ran.stderr, ran.stderr
    json.loads((clean_env / "o.json").read_text())


def test_a_long_password_in_a_json_value_is_masked_and_the_json_stays_valid(clean_env: Path) -> None:
    # A test's failure message that quotes a token holding a backslash, which JSON spells doubled.
    secret = "Tok\\en-Value-0123456789"
    (clean_env / "r.xml").write_text(FLAKY_RUN.replace("boom", "boom " + secret))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIT_FLAKY_", "PG")) and k != "CI"}
    env["BUILDKITE_ANALYTICS_TOKEN"] = secret
    ran = subprocess.run([*CLI, "run", "r.xml", "--no-flakybot", "--no-rerun", "--json", "o.json"],
                         cwd=clean_env, capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    text = (clean_env / "o.json").read_text()
    report = json.loads(text)
    assert "boom [redacted]" in json.dumps(report) and "0123456789" not in text


def test_a_short_password_the_driver_quotes_is_masked_there(clean_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIT_FLAKY_", "PG")) and k != "CI"}
    result = subprocess.run([*CLI, "stats", "--db", "postgresql://alice:a%zz@127.0.0.1:1/db"],
                            cwd=clean_env, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr == (
        'junit-flaky: error: postgresql://alice:***@127.0.0.1:1/db: not a valid PostgreSQL URL: invalid percent-encoded token: "[redacted]"\n'
    )


def test_the_history_password_a_test_printed_is_hidden_in_the_job_summary_as_markdown_escapes_it(clean_env: Path) -> None:
    """The summary escapes ``_`` as ``\\_``, which splits the password for a search of the text:
    it is hidden in the value before it becomes Markdown."""
    password = "my_secret_pw0"
    (clean_env / "r.xml").write_text(
        '<testsuite name="s"><testcase classname="t" name="a"><failure message="login my_secret_pw0">my_secret_pw0</failure></testcase></testsuite>'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIT_FLAKY_", "PG", "GITHUB_", "BUILDKITE", "CIRCLE", "GITLAB")) and k != "CI"}
    env.update(GITHUB_ACTIONS="true", GITHUB_JOB="tests", GITHUB_WORKSPACE=str(clean_env), GITHUB_OUTPUT=str(clean_env / "out"),
               GITHUB_STEP_SUMMARY=str(clean_env / "summary"), JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT="2")
    ran = subprocess.run(
        [*CLI, "run", "r.xml", "--no-flakybot", "--no-rerun", "--record-history", "--history-db",
         f"postgresql://alice:{password}@127.0.0.1:1/db", "--upload", "github-actions", "--output", "final.xml"],
        cwd=clean_env, capture_output=True, text=True, env=env, timeout=120,
    )
    assert ran.returncode == 1, ran.stderr
    summary = (clean_env / "summary").read_text()
    assert "login \\[redacted\\]" in summary, summary  # the mask, escaped as any text is
    plain = summary.replace("\\", "")
    assert not [password[i : i + 4] for i in range(len(password) - 3) if password[i : i + 4] in plain], summary


def test_a_token_workflow_command_escaping_would_split_is_hidden_in_githubs_annotations(clean_env: Path) -> None:
    """``::error`` lines escape ``%`` as ``%25``: a token is hidden before, not searched for after."""
    token = "a%b%c%d%e%f%g%h%i%j"
    (clean_env / "r.xml").write_text(
        f'<testsuite name="s"><testcase classname="t" name="a"><failure message="sent {token}">x</failure></testcase></testsuite>'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIT_FLAKY_", "AVIATOR", "GITHUB_", "BUILDKITE", "CIRCLE", "GITLAB")) and k != "CI"}
    env.update(GITHUB_ACTIONS="true", GITHUB_WORKSPACE=str(clean_env), GITHUB_OUTPUT=str(clean_env / "out"), AVIATOR_API_TOKEN=token)
    done = subprocess.run([*CLI, "upload", "r.xml", "--to", "github-actions"], cwd=clean_env, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "sent [redacted]" in done.stdout and token.replace("%", "%25") not in done.stdout, done.stdout
