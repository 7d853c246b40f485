"""The one HTTP client against real servers on loopback: the deadline, which requests are retried,
Retry-After, the User-Agent, one-line errors."""

import gzip
import socket
import threading
import time
from email.utils import formatdate

import pytest

from junit_flaky import __version__
from junit_flaky.errors import JunitFlakyError
from junit_flaky.http_client import MAX_WAIT, Answer, Http, expect_success, host_of
from tests.loopback import closed_port, drip, raw_server  # noqa: F401 - raw_server is a fixture

FILES = [("f", ("r.xml", b"<x/>", "application/xml"))]


def make_http(sleeps, **kwargs):
    return Http(sleep=sleeps.append, **kwargs)


def stall(conn, stop):
    """No answer at all until let go."""
    stop.wait(30)


@pytest.mark.parametrize("server", [drip, stall])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_slow_answer_ends_at_the_deadline_with_one_line(raw_server, method, server):
    url = raw_server(server)
    started = time.monotonic()
    with pytest.raises(JunitFlakyError) as error:
        getattr(make_http([], deadline=1.0), method)(url, {"Authorization": "Bearer secret-token"})
    assert str(error.value) == "127.0.0.1: no complete answer within 1s"
    assert time.monotonic() - started < 1.0 + 2.5  # loose: a bound on hanging, not a performance test


def test_a_request_given_up_at_its_deadline_lets_go_of_the_connection(raw_server):
    """The worker thread stops reading too: it does not hold the socket, reading a byte at a time."""
    closed = threading.Event()

    def drip_until_hung_up(conn, stop):
        try:
            drip(conn, stop)
        except OSError:
            closed.set()

    url = raw_server(drip_until_hung_up)
    with pytest.raises(JunitFlakyError, match="no complete answer within 1s"):
        make_http([], deadline=1.0).get(url, {})
    assert closed.wait(10), "the connection is still read after the deadline"


def test_an_attempt_started_late_waits_no_longer_than_the_deadline(raw_server):
    """A retry that starts 3 s into a 4 s deadline may wait 1 s for its answer, not 4 s."""
    answers = []
    closed = threading.Event()

    def later_then_silent(conn, stop):
        answers.append(1)
        if len(answers) == 1:
            conn.sendall(b"HTTP/1.1 503 Busy\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n")
            return
        if conn.recv(1) == b"":  # silent until the client hangs up
            closed.set()

    url = raw_server(later_then_silent)
    with pytest.raises(JunitFlakyError, match="no complete answer within 4s"):
        Http(deadline=4.0).get(url, {})  # waits the 3 s for real
    assert len(answers) == 2
    # The socket timeout of the second attempt ends it with the deadline; one reckoned from the
    # request's start would keep the connection for 3 s more.
    assert closed.wait(2.0), "the late attempt still holds its connection"


def test_a_post_the_server_read_is_not_sent_again_after_a_500(httpserver):
    httpserver.expect_request("/upload", method="POST").respond_with_data("oops", status=500)
    sleeps = []
    answer = make_http(sleeps).post(httpserver.url_for("/upload"), {}, files=FILES)
    assert answer.status == 500
    [(request, _)] = httpserver.log  # exactly one POST
    assert request.files["f"].read() == b"<x/>"
    assert sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_post_is_not_sent_again_without_retry_after(httpserver, status):
    httpserver.expect_request("/upload").respond_with_data("busy", status=status)
    assert make_http([]).post(httpserver.url_for("/upload"), {}).status == status
    assert len(httpserver.log) == 1


def test_a_post_lost_after_it_was_sent_is_not_sent_again(raw_server):
    calls = []

    def hang_up(conn, stop):
        calls.append(1)  # the request was read: the server may have stored it

    url = raw_server(hang_up)
    with pytest.raises(JunitFlakyError, match=r"^127\.0\.0\.1: connection lost before the answer$"):
        make_http([]).post(url, {})
    assert calls == [1]


def test_a_server_that_refuses_connections_at_first_is_retried():
    """The port refuses (bound, not listening) until the client's first wait, which opens it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    requests_seen = []

    def serve():
        conn, _ = sock.accept()
        with conn:
            requests_seen.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def open_up(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 1:
            sock.listen()
            threading.Thread(target=serve, daemon=True).start()

    sleeps = []
    try:
        answer = Http(sleep=open_up).post(f"http://127.0.0.1:{sock.getsockname()[1]}/upload", {}, files=FILES)
    finally:
        sock.close()
    assert answer == Answer(201, b"ok")
    assert len(sleeps) == 1 and len(requests_seen) == 1


def test_a_server_that_is_down_is_one_line_without_secrets():
    sleeps = []
    url = f"http://user:secret-in-url@127.0.0.1:{closed_port()}/upload?token=secret-in-query"
    with pytest.raises(JunitFlakyError) as error:
        make_http(sleeps).post(url, {"Authorization": "Token token=secret-in-header"})
    assert str(error.value) == "127.0.0.1: could not connect"
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert len(sleeps) == 3  # tried four times: the request never reached a server


@pytest.mark.parametrize(
    "status, header, wait",
    [
        (429, "7", 7.0),
        (503, "7", 7.0),
        (413, "7", 7.0),
        (429, 12.0, 12.0),  # an HTTP date 12 s from now
        (429, "3600", MAX_WAIT),  # capped: a CI step does not sleep for an hour
    ],
)
def test_a_post_the_server_asks_to_resend_later_is_retried(httpserver, status, header, wait):
    if isinstance(header, float):
        header = formatdate(time.time() + header, usegmt=True)
    httpserver.expect_ordered_request("/upload").respond_with_data("later", status=status, headers={"Retry-After": header})
    httpserver.expect_ordered_request("/upload").respond_with_data("ok", status=201)
    sleeps = []
    assert make_http(sleeps).post(httpserver.url_for("/upload"), {}, files=FILES).status == 201
    assert [request.files["f"].read() for request, _ in httpserver.log] == [b"<x/>", b"<x/>"]  # sent whole again
    assert sleeps == [pytest.approx(wait, abs=1.5)]


def test_retry_after_beyond_the_deadline_is_not_waited_for(httpserver):
    httpserver.expect_request("/upload").respond_with_data("later", status=429, headers={"Retry-After": "20"})
    sleeps = []
    assert make_http(sleeps, deadline=10).post(httpserver.url_for("/upload"), {}).status == 429
    assert sleeps == [] and len(httpserver.log) == 1


def test_a_post_gives_up_after_three_resends(httpserver):
    httpserver.expect_request("/upload").respond_with_data("later", status=503, headers={"Retry-After": "1"})
    sleeps = []
    assert make_http(sleeps).post(httpserver.url_for("/upload"), {}).status == 503
    assert len(httpserver.log) == 4 and sleeps == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_get_is_retried_once_after_a_server_error(httpserver, status):
    httpserver.expect_ordered_request("/api").respond_with_data("busy", status=status)
    httpserver.expect_ordered_request("/api").respond_with_data("{}", status=200)
    assert make_http([]).get(httpserver.url_for("/api"), {}).status == 200
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_request_says_who_sends_it(httpserver, method):
    httpserver.expect_request("/x", method=method, headers={"User-Agent": f"junit-flaky/{__version__}"}).respond_with_data("{}")
    http = make_http([])
    answer = http.get(httpserver.url_for("/x"), {}) if method == "GET" else http.post(httpserver.url_for("/x"), {})
    assert answer.status == 200


def test_posts_headers_fields_and_files(httpserver):
    httpserver.expect_request("/upload", method="POST", headers={"X-Key": "k"}).respond_with_data("{}", status=202)
    answer = make_http([]).post(httpserver.url_for("/upload"), {"X-Key": "k"}, data={"a": "1"}, files=FILES)
    assert answer == Answer(202, b"{}")
    request, _ = httpserver.log[0]
    assert request.form["a"] == "1"
    assert request.files["f"].read() == b"<x/>"


def test_client_errors_are_not_retried(httpserver):
    httpserver.expect_request("/upload").respond_with_data("bad field", status=422)
    assert make_http([]).post(httpserver.url_for("/upload"), {}) == Answer(422, b"bad field")
    assert len(httpserver.log) == 1


@pytest.fixture
def netrc_everywhere(tmp_path, monkeypatch):
    """A ~/.netrc whose ``default`` entry matches every host, as some CI images have."""
    (tmp_path / ".netrc").write_text("default login someone password netrc-password\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_authorization_header_is_sent_as_given_whatever_netrc_holds(httpserver, netrc_everywhere, method):
    httpserver.expect_request("/x", method=method).respond_with_data("{}")
    http = make_http([])
    send = http.get if method == "GET" else http.post
    assert send(httpserver.url_for("/x"), {"Authorization": "Bearer the-token"}).status == 200
    assert [request.headers.get("Authorization") for request, _ in httpserver.log] == ["Bearer the-token"]


def test_a_get_redirected_to_another_host_carries_no_credentials(httpserver, netrc_everywhere):
    # localhost and 127.0.0.1 are different hosts to requests: it drops the header on the way.
    elsewhere = httpserver.url_for("/elsewhere").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/api").respond_with_data("", status=302, headers={"Location": elsewhere})
    httpserver.expect_request("/elsewhere").respond_with_data("{}")
    assert make_http([]).get(httpserver.url_for("/api"), {"Authorization": "Bearer the-token"}).status == 200
    assert [request.headers.get("Authorization") for request, _ in httpserver.log] == ["Bearer the-token", None]


def test_a_post_is_not_redirected(httpserver):
    # Following one would send the token header to whatever host the server names.
    httpserver.expect_request("/upload").respond_with_data("", status=302, headers={"Location": "http://elsewhere.invalid/"})
    assert make_http([]).post(httpserver.url_for("/upload"), {"x-Aviator-Api-Key": "t"}).status == 302


def test_a_garbage_answer(raw_server):
    url = raw_server(lambda conn, stop: conn.sendall(b"\x00\x01 this is not HTTP\r\n\r\n"))
    with pytest.raises(JunitFlakyError, match=r"^127\.0\.0\.1: connection lost before the answer$"):
        make_http([]).post(url, {})


def test_a_header_http_cannot_carry_is_one_line_naming_the_header_and_nothing_is_sent(httpserver):
    # A token pasted with a typographic quote: HTTP header values are Latin-1.
    with pytest.raises(JunitFlakyError) as error:
        make_http([]).get(httpserver.url_for("/api"), {"Authorization": "Bearer secret\u2019token"})
    assert str(error.value) == "localhost: the Authorization header holds a character HTTP cannot send (\u2019)"
    assert httpserver.log == []


def test_a_tls_failure_says_so(raw_server):
    # https:// to a server that speaks plain HTTP: the handshake fails, as with an untrusted certificate.
    url = raw_server(lambda conn, stop: conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    with pytest.raises(JunitFlakyError, match=r"^127\.0\.0\.1: TLS handshake failed \(certificate, or the wrong scheme\)$"):
        make_http([]).post(url.replace("http://", "https://"), {})


def test_a_proxy_that_refuses_says_so(raw_server, monkeypatch):
    proxy = raw_server(lambda conn, stop: conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.rsplit("/", 1)[0])
    with pytest.raises(JunitFlakyError, match=r"^upload\.example\.com: the proxy failed or refused \(HTTPS_PROXY\)$"):
        make_http([]).post("https://upload.example.com/x", {})


def test_an_invalid_url_is_one_line():
    with pytest.raises(JunitFlakyError, match=r"^the server: request failed \(InvalidURL\)$"):
        make_http([]).post("http://", {})


def test_a_huge_answer_is_an_error(httpserver):
    httpserver.expect_request("/upload").respond_with_data(b"x" * (3 * 1024 * 1024), status=200)
    with pytest.raises(JunitFlakyError, match=r"^localhost: answer larger than 1 MiB$"):
        make_http([], max_answer=1024 * 1024).post(httpserver.url_for("/upload"), {})


def test_a_compressed_answer_is_measured_as_it_unpacks(httpserver):
    # 3 MiB of zeros in a few KiB of gzip: the limit holds for what the answer becomes.
    packed = gzip.compress(b"\0" * (3 * 1024 * 1024))
    httpserver.expect_request("/api").respond_with_data(packed, headers={"Content-Encoding": "gzip"})
    with pytest.raises(JunitFlakyError, match=r"^localhost: answer larger than 1 MiB$"):
        make_http([], max_answer=1024 * 1024).get(httpserver.url_for("/api"), {})


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
    assert host_of("http://[::1") == "the server"
