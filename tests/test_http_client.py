"""The shared POST against a real server on loopback: timeouts, retries, Retry-After, one-line errors."""

import socket
import threading
from email.utils import formatdate

import pytest

from junit_flaky.errors import JunitFlakyError
from junit_flaky.upload.http import MAX_ANSWER, Answer, Http, expect_success, host_of, retry_after

NOW = 1_700_000_000.0


def make_http(sleeps, **kwargs):
    return Http(sleep=sleeps.append, now=lambda: NOW, **kwargs)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def raw_server():
    """A TCP server on loopback that answers every connection with ``reply`` bytes (or nothing)."""
    servers = []

    def start(reply, hold=0.0):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        stop = threading.Event()

        def serve():
            while not stop.is_set():
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)
                    if reply:
                        conn.sendall(reply)
                    stop.wait(hold)

        threading.Thread(target=serve, daemon=True).start()
        servers.append((sock, stop))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/upload"

    yield start
    for sock, stop in servers:
        stop.set()
        sock.close()


def test_posts_headers_fields_and_files(httpserver):
    httpserver.expect_request("/upload", method="POST", headers={"X-Key": "k"}).respond_with_data("{}", status=202)
    sleeps = []
    answer = make_http(sleeps).post(
        httpserver.url_for("/upload"), {"X-Key": "k"}, data={"a": "1"}, files=[("f", ("r.xml", b"<x/>", "application/xml"))]
    )
    assert answer == Answer(202, b"{}")
    request, _ = httpserver.log[0]
    assert request.form["a"] == "1"
    assert request.files["f"].read() == b"<x/>"
    assert sleeps == []


def test_retries_5xx_with_exponential_backoff(httpserver):
    for _ in range(2):
        httpserver.expect_ordered_request("/upload").respond_with_data("down", status=500)
    httpserver.expect_ordered_request("/upload").respond_with_data("ok", status=200)
    sleeps = []
    answer = make_http(sleeps).post(httpserver.url_for("/upload"), {})
    assert answer.status == 200
    assert sleeps == [1.0, 2.0]
    assert len(httpserver.log) == 3


@pytest.mark.parametrize(
    "header, wait",
    [
        ("7", 7.0),
        (formatdate(NOW + 12, usegmt=True), 12.0),
        ("3600", 30.0),  # capped: a CI step does not sleep for an hour
        ("soon", 1.0),  # unreadable: the usual backoff
    ],
)
def test_429_honours_retry_after(httpserver, header, wait):
    httpserver.expect_ordered_request("/upload").respond_with_data("slow down", status=429, headers={"Retry-After": header})
    httpserver.expect_ordered_request("/upload").respond_with_data("ok", status=201)
    sleeps = []
    assert make_http(sleeps).post(httpserver.url_for("/upload"), {}).status == 201
    assert sleeps == [wait]


def test_gives_up_after_the_retry_budget(httpserver):
    httpserver.expect_request("/upload").respond_with_data("no", status=503)
    sleeps = []
    with pytest.raises(JunitFlakyError) as error:
        make_http(sleeps).post(httpserver.url_for("/upload"), {})
    assert str(error.value) == "localhost: answered HTTP 503 (4 attempts); giving up"
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(httpserver.log) == 4


def test_client_errors_are_not_retried(httpserver):
    httpserver.expect_request("/upload").respond_with_data("bad field", status=422)
    sleeps = []
    answer = make_http(sleeps).post(httpserver.url_for("/upload"), {})
    assert answer == Answer(422, b"bad field")
    assert sleeps == []


def test_redirects_are_not_followed(httpserver):
    # Following one would send the token header to whatever host the server names.
    httpserver.expect_request("/upload").respond_with_data("", status=302, headers={"Location": "http://elsewhere.invalid/"})
    assert make_http([]).post(httpserver.url_for("/upload"), {"x-Aviator-Api-Key": "t"}).status == 302


def test_a_server_that_is_down():
    sleeps = []
    url = f"http://user:secret-in-url@127.0.0.1:{closed_port()}/upload?token=secret-in-query"
    with pytest.raises(JunitFlakyError) as error:
        make_http(sleeps).post(url, {"Authorization": "Token token=secret-in-header"})
    assert str(error.value) == "127.0.0.1: connection failed (4 attempts); giving up"
    assert "secret" not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert sleeps == [1.0, 2.0, 4.0]


def test_a_garbage_answer(raw_server):
    url = raw_server(b"\x00\x01 this is not HTTP\r\n\r\n")
    with pytest.raises(JunitFlakyError, match=r"^127\.0\.0\.1: connection failed \(2 attempts\); giving up$"):
        make_http([], attempts=2).post(url, {})


def test_no_answer_within_the_read_timeout(raw_server):
    url = raw_server(b"", hold=5.0)
    with pytest.raises(JunitFlakyError, match=r"^127\.0\.0\.1: no answer within 0\.2s$"):
        make_http([], timeout=(2.0, 0.2)).post(url, {})


def test_an_invalid_url_is_one_line():
    with pytest.raises(JunitFlakyError, match=r"^the upload URL: request failed \(InvalidURL\)$"):
        make_http([]).post("not a url", {})


def test_a_huge_answer_is_read_only_so_far(httpserver):
    httpserver.expect_request("/upload").respond_with_data(b"x" * (3 * MAX_ANSWER), status=200)
    assert len(make_http([]).post(httpserver.url_for("/upload"), {}).body) < 2 * MAX_ANSWER


@pytest.mark.parametrize(
    "value, seconds",
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        (" 5 ", 5.0),
        (formatdate(NOW + 90, usegmt=True), 90.0),
        (formatdate(NOW - 90, usegmt=True), 0.0),  # a date in the past: go now
        ("-3", None),
        ("Tuesday", None),
    ],
)
def test_retry_after(value, seconds):
    assert retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    "status, message",
    [
        (401, "HTTP 401: the server refused SOME_TOKEN"),
        (403, "HTTP 403: the server refused SOME_TOKEN"),
        (422, "the server answered HTTP 422: bad field\nsecond line"),
    ],
)
def test_expect_success(status, message):
    with pytest.raises(JunitFlakyError) as error:
        expect_success(Answer(status, b"bad field\nsecond line"), "SOME_TOKEN")
    assert str(error.value) == message.replace("\n", " ")


def test_answer_summary_is_one_short_line():
    assert Answer(500, b"").summary() == "HTTP 500"
    assert Answer(400, b"a\n\nb " + b"c" * 500).summary() == "HTTP 400: a b " + "c" * 196


def test_host_of_never_names_user_info():
    assert host_of("https://user:pw@upload.example.com:8443/x?token=t") == "upload.example.com"
    assert host_of("http://[::1") == "the upload URL"
