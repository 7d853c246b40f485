"""A PostgreSQL history's password never printed, whatever characters it holds: every command
that takes a URL, run's warnings, and the driver's own error messages, which may quote the URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from junit_flaky import tokens
from junit_flaky.history.location import DatabaseUrl
from tests.history_samples import FLAKY_RUN
from tests.postgres_server import PASSWORD

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")

CLI = [sys.executable, "-m", "junit_flaky"]
# Passwords as a user would paste them into a URL, unescaped: each breaks a different rule of
# URL syntax, so a pattern that looks for the end of the password in the wrong place shows it.
RAW_PASSWORDS = ["Zm9v/YmFy", "p@ssw0rd", "p ss", "a:b@c/d e"]


@pytest.fixture(autouse=True)
def registered_secrets():
    """What a test registered in this process (a DatabaseUrl made here) is forgotten after it:
    other tests' output is theirs to check."""
    saved = set(tokens._registered)
    yield
    tokens._registered.clear()
    tokens._registered.update(saved)


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIT_FLAKY_", "PG")) and k != "CI"}
    return {**env, **extra}


def _cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, env=_env(**env), timeout=120)


def _hidden(password: str, *outputs: str) -> None:
    """Neither the password nor any of its words (what a pattern that stops at /, @ or a space
    would leave shown) appears."""
    words = {password, quote(password, safe=""), *password.replace("/", " ").replace("@", " ").replace(":", " ").split()}
    for output in outputs:
        for word in words:
            if len(word) > 2:
                assert word not in output, (word, output)


@pytest.mark.parametrize("password", RAW_PASSWORDS)
def test_a_raw_password_in_a_url_is_never_printed_by_any_command(clean_env: Path, password: str) -> None:
    """libpq would misread such a URL (part of the password as the host, which its errors
    quote): it is bad input, said without the password, in every command and in run."""
    (clean_env / "flaky.xml").write_text(FLAKY_RUN)
    assert _cli(clean_env, "history", "record", "flaky.xml").returncode == 0
    url = f"postgresql://alice:{password}@127.0.0.1:1/db"
    for command in (["stats", "--db", url], ["history", "copy", "--from", ".junit-flaky/history.sqlite", "--to", url],
                    ["run", "flaky.xml", "--no-flakybot", "--no-rerun", "--record-history", "--history-db", url]):
        result = _cli(clean_env, *command)
        assert result.returncode == 2, (command, result.stderr)
        [line] = result.stderr.splitlines()
        assert line.startswith("junit-flaky: error: postgresql://alice:***@127.0.0.1:1/db: the URL's user name or password holds"), line
        assert "write it percent-encoded (%" in line
        _hidden(password, result.stdout, result.stderr)
    listed = _cli(clean_env, "quarantine", "list", "--db", url)
    assert "postgresql://alice:***@127.0.0.1:1/db: the URL's user name or password holds" in listed.stderr, listed.stderr
    _hidden(password, listed.stdout, listed.stderr)
    unused = _cli(clean_env, "run", "flaky.xml", "--no-flakybot", "--no-rerun", "--no-record-history", "--history-db", url)
    assert "--history-db postgresql://alice:***@127.0.0.1:1/db is unused" in unused.stderr, unused.stderr
    _hidden(password, unused.stdout, unused.stderr)


@pytest.mark.parametrize("password", ["Zm9v/YmFy", "p@ssw0rd", "p ss"])
def test_an_escaped_password_is_never_printed_by_any_command(clean_env: Path, password: str) -> None:
    (clean_env / "flaky.xml").write_text(FLAKY_RUN)
    assert _cli(clean_env, "history", "record", "flaky.xml").returncode == 0
    url = f"postgresql://alice:{quote(password, safe='')}@127.0.0.1:1/db"
    for command in (["stats", "--db", url], ["history", "copy", "--from", ".junit-flaky/history.sqlite", "--to", url]):
        result = _cli(clean_env, *command, JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT="2")
        assert result.returncode == 2 and "cannot connect to the history database" in result.stderr, (command, result.stderr)
        _hidden(password, result.stdout, result.stderr)
    ran = _cli(clean_env, "run", "flaky.xml", "--no-flakybot", "--no-rerun", "--record-history", "--history-db", url,
               JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT="2")
    assert ran.returncode == 0 and "junit-flaky: warning: history not recorded: postgresql://alice:***@127.0.0.1:1/db: cannot connect" in ran.stderr, ran.stderr
    _hidden(password, ran.stdout, ran.stderr)


def test_the_drivers_error_that_quotes_the_password_is_redacted(clean_env: Path) -> None:
    # libpq refuses a bad escape and says so, quoting the part that holds it: the password.
    result = _cli(clean_env, "stats", "--db", "postgresql://alice:my%zzpass@127.0.0.1:1/db")
    assert result.returncode == 2
    assert result.stderr == (
        'junit-flaky: error: postgresql://alice:***@127.0.0.1:1/db: not a valid PostgreSQL URL: invalid percent-encoded token: "[redacted]"\n'
    )


@pytest.mark.parametrize("query", ["password=Zm9v/Y@mFy", "sslmode=disable&password=p%40ss+w0rd&application_name=x"])
def test_a_password_in_the_query_is_hidden(clean_env: Path, query: str) -> None:
    password = query.split("password=")[1].split("&")[0]
    result = _cli(clean_env, "stats", "--db", f"postgresql://127.0.0.1:1/db?{query}", JUNIT_FLAKY_HISTORY_CONNECT_TIMEOUT="2")
    assert result.returncode == 2 and "password=***" in result.stderr, result.stderr
    _hidden(password, result.stdout, result.stderr)


def test_pgpassword_is_hidden_once_the_history_is_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "pg-Pa55 w")  # libpq logs in with it: as secret as the URL's
    DatabaseUrl("postgresql://alice@h/db")
    assert tokens.redact("echoed pg-Pa55 w", {}) == "echoed [redacted]"


@pytest.mark.parametrize("url, shown", [
    ("postgresql://alice:Zm9v/YmFy@h:5432/db", "postgresql://alice:***@h:5432/db"),
    ("postgresql://alice:p@ss@w0rd@h/db", "postgresql://alice:***@h/db"),
    ("postgres://alice:p ss@h/db?password=x y&sslmode=require", "postgres://alice:***@h/db?password=***&sslmode=require"),
    ("postgresql://alice@h/db", "postgresql://alice@h/db"),
    ("postgresql://h/db", "postgresql://h/db"),
])
def test_the_url_as_shown(url: str, shown: str) -> None:
    assert str(DatabaseUrl(url)) == shown and shown in repr(DatabaseUrl(url))


def test_a_password_with_every_special_character_works_and_is_never_printed(postgres_server, clean_env: Path) -> None:
    """A real login with a password that needs escaping in a URL: the history works, and
    neither the password nor its escaped form appears, in success or in a refused login."""
    import psycopg

    password = "Zm9v/Y@m F%r:x"
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS odd_login")
        admin.execute(f"CREATE ROLE odd_login LOGIN SUPERUSER PASSWORD '{password}'")
    (clean_env / "flaky.xml").write_text(FLAKY_RUN)
    url = postgres_server.new_database().replace(f"postgres:{PASSWORD}@", f"odd_login:{quote(password, safe='')}@")
    recorded = _cli(clean_env, "history", "record", "flaky.xml", "--db", url)
    assert recorded.returncode == 0 and "in postgresql://odd_login:***@127.0.0.1:" in recorded.stdout, recorded.stderr
    shown = _cli(clean_env, "stats", "--db", url)
    assert shown.returncode == 0, shown.stderr
    refused = _cli(clean_env, "stats", "--db", url.replace("%40", "%41"))
    assert refused.returncode == 2 and "password authentication failed" in refused.stderr
    for result in (recorded, shown, refused):
        _hidden(password, result.stdout, result.stderr)

