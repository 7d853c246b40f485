"""The Flakybot thresholds API against a real HTTP server on loopback (pytest-httpserver).

Whatever the API does (answers, refuses, breaks, hangs, is down), the run goes on with the other
threshold sources, says why in one warning, and never prints the token.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator

import pytest
from werkzeug import Request, Response

from junit_flaky import flakybot
from junit_flaky.thresholds import BUILTIN
from tests import junit_builders as jb
from tests.loopback import closed_port

TOKEN = "fb_secret_token_do_not_print_0123"
PATH = "/api/v1/flaky-tests"
CLASS = "src.test_sample.TestSample"
BUILDKITE_SSH = {"BUILDKITE_PIPELINE_SLUG": "web-tests", "BUILDKITE_REPO": "git@github.com:acme/web.git"}
BUILDKITE_HTTPS = {"BUILDKITE_PIPELINE_SLUG": "web-tests", "BUILDKITE_REPO": "https://github.com/acme/web.git"}
CIRCLECI = {"CIRCLE_JOB": "unit", "CIRCLE_PROJECT_USERNAME": "acme", "CIRCLE_PROJECT_REPONAME": "web"}
# test_x must pass twice: with --no-rerun its one pass fails the build, so exit 1 = answer used.
ANSWER = {"flaky_tests": [{"test_name": "test_x", "class_name": "TestSample", "min_passes": 2, "max_runs": 3}]}


@pytest.mark.parametrize(
    "ci, repo_name, job_name",
    [
        (BUILDKITE_SSH, "acme/web", "buildkite/web-tests"),
        (BUILDKITE_HTTPS, "acme/web", "buildkite/web-tests"),
        (CIRCLECI, "acme/web", "ci/circleci:unit"),
        ({**CIRCLECI, **BUILDKITE_SSH}, "acme/web", "buildkite/web-tests"),  # Buildkite wins
    ],
)
def test_request_is_the_one_pytest_aviator_makes(httpserver, ci: Dict[str, str], repo_name: str, job_name: str) -> None:
    httpserver.expect_request(
        PATH,
        method="GET",
        query_string={"repo_name": repo_name, "job_name": job_name},
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    ).respond_with_json(ANSWER)
    env = {**ci, "AVIATOR_API_TOKEN": TOKEN, "AVIATOR_API_URL": httpserver.url_for(PATH)}
    answer = flakybot.fetch(env, BUILTIN)
    assert answer.warnings == []
    assert [(e.test_name, e.class_name, e.thresholds.min_passes, e.thresholds.max_runs) for e in answer.entries] == [
        ("test_x", "TestSample", 2, 3)
    ]
    assert len(httpserver.log) == 1


def test_a_token_under_junit_flakys_own_name_is_asked_with(httpserver) -> None:
    httpserver.expect_request(PATH, headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_json(ANSWER)
    env = {**BUILDKITE_SSH, "JUNIT_FLAKY_AVIATOR_API_TOKEN": TOKEN, "AVIATOR_API_URL": httpserver.url_for(PATH)}
    answer = flakybot.fetch(env, BUILTIN)
    assert (answer.asked, answer.warnings, len(answer.entries)) == (True, [], 1)


def test_default_url_is_aviators_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without AVIATOR_API_URL the request goes to api.aviator.co:443: a proxy on loopback sees
    where it is asked to tunnel to, and refuses."""
    seen = []
    proxy = socket.socket()
    proxy.bind(("127.0.0.1", 0))
    proxy.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = proxy.accept()
            except OSError:
                return
            with conn:
                seen.append(conn.recv(65536).split(b"\r\n")[0])
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.getsockname()[1]}")
    try:
        answer = flakybot.fetch({"AVIATOR_API_TOKEN": TOKEN, **CIRCLECI}, BUILTIN, timeout=5)
    finally:
        proxy.close()
    assert [line.split()[:2] for line in seen] == [[b"CONNECT", b"api.aviator.co:443"]]
    assert answer.asked and len(answer.warnings) == 1 and TOKEN not in answer.warnings[0]


# -- through the CLI --------------------------------------------------------------------------------


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """test_x passed once: fine by default, failed (needs 1 more run) by the API's thresholds."""
    return jb.write(tmp_path / "report.xml", jb.pytest_report(jb.testcase("test_x", classname=CLASS)))


@pytest.fixture
def api_env(clean_env, monkeypatch: pytest.MonkeyPatch, httpserver) -> None:
    for key, value in {**BUILDKITE_SSH, "AVIATOR_API_TOKEN": TOKEN, "AVIATOR_API_URL": httpserver.url_for(PATH)}.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def run(run_cli, api_env, report: Path, tmp_path: Path) -> Callable:
    """Run with the API on; check that the token shows nowhere and at most one warning line."""

    def invoke(*options: str):
        out, js = tmp_path / "out.xml", tmp_path / "out.json"
        result = run_cli("run", report, "--no-rerun", "-o", out, "--json", js, *options)
        written = "".join(p.read_text() for p in (out, js) if p.exists())
        assert TOKEN not in result.stdout + result.stderr + written
        assert result.stderr.count("warning") <= 1, result.stderr
        return result

    return invoke


def test_answer_decides_the_listed_tests(run, httpserver, tmp_path: Path) -> None:
    httpserver.expect_request(PATH).respond_with_json(ANSWER)
    result = run()
    assert result.exit_code == 1
    assert result.stderr == ""
    [test] = json.loads((tmp_path / "out.json").read_text())["tests"]
    assert (test["name"], test["min_passes"], test["max_runs"], test["thresholds_source"]) == ("test_x", 2, 3, "Flakybot API")
    assert "passed 1 out of the required 2 times" in result.stdout


def test_answer_overrides_the_thresholds_file(run, httpserver, tmp_path: Path) -> None:
    httpserver.expect_request(PATH).respond_with_json(ANSWER)
    file = tmp_path / "th.json"
    file.write_text(json.dumps({"flaky_tests": [{"test_name": "test_x", "min_passes": 1, "max_runs": 1}]}))
    assert run("--thresholds", file).exit_code == 1


@pytest.mark.parametrize(
    "status, body, words",
    [
        (401, "unauthorized", ["HTTP 401", "AVIATOR_API_TOKEN"]),
        (403, "forbidden", ["HTTP 403", "AVIATOR_API_TOKEN"]),
        (404, "not found", ["HTTP 404"]),
        (200, "<html>Bad gateway</html>", ["not JSON"]),
        (200, "\xff\xfe garbage", ["not JSON"]),
        (200, "[" * 100_000 + "]" * 100_000, ["not JSON"]),  # nested beyond Python's recursion limit
        (200, json.dumps({"tests": []}), ['expected {"flaky_tests": [...]}']),
        (200, json.dumps({"flaky_tests": [{"min_passes": 2}]}), ["entry 1 has no test_name; entry ignored"]),
        (200, json.dumps({"flaky_tests": [{"test_name": "test_x", "min_passes": 0}]}), ["test_x", "min_passes must be at least 1", "entry ignored"]),
        (200, json.dumps([1, 2, 3]), ["entry 1 has no test_name; that entry and 2 more ignored"]),
    ],
)
def test_bad_answer_is_a_warning_and_the_other_sources_decide(run, httpserver, status: int, body: str, words) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, status=status, content_type="application/json")
    result = run()
    assert result.exit_code == 0  # the default thresholds decided
    assert result.stderr.startswith("junit-flaky: warning: ") and result.stderr.count("\n") == 1
    for word in words if "ignored" in words[-1] else words + ["using the other threshold sources"]:
        assert word in result.stderr


def test_server_error_is_retried_once(run, httpserver) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("busy", status=500)
    httpserver.expect_request(PATH).respond_with_json(ANSWER)
    result = run()
    assert result.exit_code == 1 and result.stderr == ""
    assert len(httpserver.log) == 2


def test_server_error_twice_is_a_warning(run, httpserver) -> None:
    httpserver.expect_request(PATH).respond_with_data("busy", status=503)
    result = run()
    assert result.exit_code == 0
    assert "HTTP 503" in result.stderr and len(httpserver.log) == 2


def test_a_refusal_names_the_variable_the_token_was_read_from(run, httpserver, monkeypatch: pytest.MonkeyPatch) -> None:
    """junit-flaky's own name wins when both are set: that is the secret to check."""
    monkeypatch.setenv("JUNIT_FLAKY_AVIATOR_API_TOKEN", TOKEN + "x")
    httpserver.expect_request(PATH).respond_with_data("unauthorized", status=401)
    result = run()
    assert result.exit_code == 0
    assert "HTTP 401: check JUNIT_FLAKY_AVIATOR_API_TOKEN;" in result.stderr


@pytest.mark.parametrize("url", ["api.example.test/flaky-tests", "ftp://127.0.0.1/flaky-tests", "http://[::1/flaky-tests"])
def test_a_url_that_is_no_http_url_is_a_warning_naming_the_variable(run, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AVIATOR_API_URL", url)
    result = run()
    assert result.exit_code == 0
    assert result.stderr == (
        "junit-flaky: warning: Flakybot API: AVIATOR_API_URL is not an http:// or https:// URL with a host;"
        " using the other threshold sources\n"
    )


def test_server_down_is_a_warning(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVIATOR_API_URL", f"http://127.0.0.1:{closed_port()}{PATH}")
    result = run()
    assert result.exit_code == 0
    assert "Flakybot API: 127.0.0.1: could not connect" in result.stderr


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown, so a handler that stalls lets the (single-threaded) test server go."""
    event = threading.Event()
    yield event
    event.set()


DEADLINE = 0.5
MARGIN = 2.5  # loose: this is a bound on hanging, not a performance test


def stall_before_answering(release: threading.Event) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        release.wait(30)
        return Response(json.dumps(ANSWER), content_type="application/json")

    return handler


def dribble_the_answer(release: threading.Event) -> Callable[[Request], Response]:
    """Headers at once, then one byte of the body every 0.1 s: every single read is quick, so
    only a deadline on the whole answer stops it."""

    def handler(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            for _ in range(300):
                if release.wait(0.1):
                    return
                yield b" "

        return Response(body(), headers={"Content-Length": "300"}, content_type="application/json")

    return handler


@pytest.mark.parametrize("behaviour", [stall_before_answering, dribble_the_answer])
def test_slow_server_costs_at_most_the_deadline_and_a_warning(run, httpserver, release, behaviour) -> None:
    httpserver.expect_request(PATH).respond_with_handler(behaviour(release))
    started = time.monotonic()
    result = run("--flakybot-timeout", str(DEADLINE))
    elapsed = time.monotonic() - started
    assert result.exit_code == 0
    assert f"Flakybot API: localhost: no complete answer within {DEADLINE:g}s" in result.stderr
    assert elapsed < DEADLINE + MARGIN


def test_a_token_http_cannot_carry_is_a_warning(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVIATOR_API_TOKEN", "fb_token_pasted_with_a_quote\u2019")
    result = run()
    assert result.exit_code == 0  # the other sources decided
    assert result.stderr == (
        "junit-flaky: warning: Flakybot API: localhost: the Authorization header holds a character"
        " HTTP cannot send (\u2019); using the other threshold sources\n"
    )


@pytest.mark.parametrize("case", ["--no-flakybot", "no token"])
def test_no_request_at_all_without_a_token_or_with_no_flakybot(run, httpserver, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    httpserver.expect_request(PATH).respond_with_json(ANSWER)
    options = []
    if case == "no token":
        monkeypatch.delenv("AVIATOR_API_TOKEN")
    else:
        options = ["--no-flakybot"]
    result = run(*options)
    assert result.exit_code == 0 and result.stderr == ""
    assert httpserver.log == []


# -- what the answer may hold -------------------------------------------------------------------------


def test_unknown_keys_in_the_answer_are_a_warning_and_the_entry_is_used(run, httpserver) -> None:
    entry = {**ANSWER["flaky_tests"][0], "flake_score": 0.2, "min_pass": 5}
    httpserver.expect_request(PATH).respond_with_json({"flaky_tests": [entry, {**entry, "test_name": "test_y"}], "next_page": None})
    result = run()
    assert result.exit_code == 1  # test_x's entry (2 of 3) decided
    assert result.stderr == (
        "junit-flaky: warning: Flakybot API: unknown key(s) ignored: flake_score, min_pass, next_page\n"
    )


@pytest.mark.parametrize(
    "values, words",
    [
        ({"min_passes": 2, "max_runs": 10**30}, f"max_runs must be at most 100, got {10**30}"),
        ({"min_passes": 101, "max_runs": 101}, "min_passes must be at most 100, got 101"),
        ({"min_passes": True, "max_runs": 3}, "min_passes must be an integer, got True"),
        ({"min_passes": 3, "max_runs": 2}, "max_runs (2) is less than min_passes (3)"),
    ],
)
def test_an_impossible_entry_is_a_warning_and_only_that_entry_is_ignored(run, httpserver, tmp_path: Path, values, words: str) -> None:
    bad = {"test_name": "test_x", "class_name": "TestSample", **values}
    other = {"test_name": "test_other", "min_passes": 2, "max_runs": 3}
    httpserver.expect_request(PATH).respond_with_json({"flaky_tests": [bad, other]})
    result = run("--max-runs", "2")
    assert result.exit_code == 0  # test_x took the defaults: 1 of 2
    assert result.stderr.startswith("junit-flaky: warning: Flakybot API: entry 1 (test_name='test_x', class_name='TestSample'): ")
    assert words in result.stderr and "entry ignored" in result.stderr


def test_an_entry_without_values_takes_the_defaults_of_unlisted_tests(run_cli, api_env, httpserver, report: Path) -> None:
    httpserver.expect_request(PATH).respond_with_json({"flaky_tests": [{"test_name": "test_x", "quarantined": True}]})
    result = run_cli("thresholds", "show", report, "--min-passes", "2", "--max-runs", "5")
    assert result.exit_code == 0, result.stderr
    assert f"{CLASS}::test_x: pass 2 of max 5, quarantined (from Flakybot API)" in result.stdout


def test_a_token_the_server_echoes_is_never_printed(run_cli, api_env, httpserver, report: Path, tmp_path: Path) -> None:
    echoed = [{"test_name": TOKEN, "min_passes": 0}, {"test_name": f"test_{TOKEN}", "max_runs": 2}]
    httpserver.expect_request(PATH).respond_with_json({"flaky_tests": echoed})
    ran = run_cli("run", report, "--no-rerun", "--json", tmp_path / "out.json")  # a warning names entry 1
    shown = run_cli("thresholds", "show")  # the listing names entry 2
    assert ran.exit_code == 0 and shown.exit_code == 0
    assert "warning: Flakybot API: entry 1 (test_name='[redacted]')" in ran.stderr
    assert "Flakybot API: test_[redacted]: pass 1 of max 2" in shown.stdout
    for text in (ran.stdout, ran.stderr, shown.stdout, shown.stderr, (tmp_path / "out.json").read_text()):
        assert TOKEN not in text
