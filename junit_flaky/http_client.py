"""The one HTTP client: every request junit-flaky makes (the Flakybot API, the upload targets).

- A deadline per request, retries and waits included, that holds whatever the server does. A
  socket timeout bounds each read, not an answer sent a byte a second, nor a name lookup; so the
  request runs in a worker thread that the caller stops waiting for at the deadline. The worker
  starts no attempt past it, every socket timeout of every attempt ends with it (``_Until``), and
  the caller then shuts the socket of an answer being read, so the worker does not go on reading
  (a byte a second, for hours) or hold the connection. Only a name lookup can outlive it (a
  daemon thread: it never holds up the interpreter's exit).
- Retries by urllib3's ``Retry`` through requests' ``HTTPAdapter``, chosen per method (``RETRIES``):
  a GET (the Flakybot API) is idempotent and is retried after connection and read errors and
  429/500/502/503/504. A POST (an upload) is retried only when the server cannot have processed
  it: the connection never opened, or it answered 413, 429 or 503 *with* ``Retry-After`` (urllib3's
  ``RETRY_AFTER_STATUS_CODES``: "come back later", RFC 9110 10.2.3). After a 500, a dropped
  connection or a read timeout the server may have stored the upload, and sending it again would
  count every result twice.
- ``Retry-After`` is honoured (seconds or an HTTP date), up to ``MAX_WAIT`` and only when the
  next attempt still fits the deadline; otherwise the answer in hand is the answer.
- ``User-Agent: junit-flaky/<version>`` on every request; redirects followed for GET only (requests
  turns a redirected POST into a GET, and would forward custom token headers to another host);
  headers sent as given, never replaced by credentials from ``~/.netrc`` (``_Session``).
- Errors are one line that names the host only: never the URL's user info or query, the headers,
  or the text of a requests exception (it can carry the URL).

The requests-based transport (http_transport.py: ``RETRIES``, ``_Session``, ``_Until``) is loaded
by the first request: a command that sends nothing does not pay for requests (about 50 ms).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from junit_flaky import __version__
from junit_flaky.errors import JunitFlakyError

USER_AGENT = f"junit-flaky/{__version__}"
MAX_ANSWER = 32 * 1024 * 1024  # a thresholds list or an upload receipt; anything bigger is garbage
MAX_WAIT = 30.0  # a CI step should not sleep for minutes because a server asked
CONNECT_TIMEOUT = 10.0
# requests' multipart file tuples: (field, (filename, content, content type)); bytes, not open
# files, so a retry sends the same content again.
Files = Sequence[Tuple[str, Tuple[str, bytes, str]]]
HeaderValue = Union[str, bytes]


@dataclass(frozen=True)
class Answer:
    """What the server finally said."""

    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON (nested past the recursion limit too)."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None

    def summary(self) -> str:
        """``HTTP 422: <the start of the body on one line>`` for an error message."""
        text = " ".join(self.body.decode("utf-8", "replace").split())
        return f"HTTP {self.status}: {text[:200]}" if text else f"HTTP {self.status}"


def expect_success(answer: Answer, token_var: str) -> None:
    """Turn a refused upload into a one-line error that says what to check."""
    if answer.status in (401, 403):
        raise JunitFlakyError(f"HTTP {answer.status}: the server refused {token_var}")
    if not answer.ok:
        raise JunitFlakyError(f"the server answered {answer.summary()}")


def host_of(url: str) -> str:
    """The host to name in a message (``hostname`` leaves out any ``user:password@``)."""
    try:
        return urlsplit(url).hostname or "the server"
    except ValueError:
        return "the server"


def check_url(url: str, var: str) -> str:
    """``url``, the value of the setting ``var``, when requests can send to it; else a one-line
    error that names ``var`` and not the value (it may hold a password). requests' own errors
    (MissingSchema, InvalidURL) said only "request failed"."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an unclosed [ of an IPv6 address, a port that is no number
        valid = False
    if not valid:
        raise JunitFlakyError(f"{var} is not an http:// or https:// URL with a host")
    return url


def _check_sendable(headers: Mapping[str, HeaderValue], host: str) -> None:
    """http.client sends a text header value as Latin-1 and raises UnicodeEncodeError mid-request
    otherwise: a one-line error first, naming the header and the character, never the value (a
    token pasted with a typographic quote)."""
    for name, value in headers.items():
        if isinstance(value, str):
            try:
                value.encode("latin-1")
            except UnicodeEncodeError as exc:
                raise JunitFlakyError(
                    f"{host}: the {name} header holds a character HTTP cannot send ({value[exc.start]})"
                ) from None


class _Late(Exception):
    """The request's deadline passed."""


@dataclass
class Http:
    """Requests bounded by ``deadline`` seconds each, retries and waits included. ``sleep`` is
    the wait between attempts, a parameter so tests never wait."""

    deadline: float = 300.0  # an upload of a large report over a slow link
    sleep: Callable[[float], None] = time.sleep
    max_answer: int = MAX_ANSWER

    def get(self, url: str, headers: Mapping[str, HeaderValue], params: Optional[Mapping[str, str]] = None) -> Answer:
        """The server's final answer; JunitFlakyError with a one-line reason when there is none."""
        return self._request("GET", url, headers=dict(headers), params=params)

    def post(
        self,
        url: str,
        headers: Mapping[str, HeaderValue],
        data: Optional[Mapping[str, str]] = None,
        files: Optional[Files] = None,
    ) -> Answer:
        """The server's final answer; JunitFlakyError with a one-line reason when there is none."""
        return self._request("POST", url, headers=dict(headers), data=data, files=files)

    def _request(self, method: str, url: str, **kwargs: Any) -> Answer:
        import requests

        from junit_flaky.http_transport import Reading, exchange

        host = host_of(url)
        _check_sendable(kwargs["headers"], host)
        deadline = time.monotonic() + self.deadline
        done: List[Tuple[bool, Any]] = []
        reading = Reading()

        def work() -> None:
            try:
                done.append((True, exchange(method, url, deadline, kwargs, reading, self.sleep, self.max_answer)))
            except BaseException as exc:  # handed to the caller's thread as it is
                done.append((False, exc))

        # A daemon: a worker still waiting for a name lookup never holds up the interpreter's exit.
        worker = threading.Thread(target=work, name=f"junit-flaky-http-{host}", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        try:
            if not done:
                reading.give_up()
                raise _Late()
            ok, value = done[0]
            if not ok:
                raise value
            return value  # type: ignore[no-any-return]
        except (_Late, requests.RequestException) as exc:
            raise JunitFlakyError(f"{host}: {self._why(exc, url)}") from None

    def _why(self, error: Exception, url: str) -> str:
        """What went wrong, in words that hold no URL. requests wraps urllib3's MaxRetryError,
        whose ``reason`` is the last attempt's error."""
        import requests  # loaded by the request that failed
        from urllib3.exceptions import NewConnectionError, ReadTimeoutError

        cause = getattr(error.args[0], "reason", None) if error.args else None
        if isinstance(error, requests.ConnectTimeout) or isinstance(cause, NewConnectionError):
            return "could not connect"  # refused, no such host, timed out: nothing was sent
        if isinstance(error, (_Late, requests.ReadTimeout)) or isinstance(cause, ReadTimeoutError):
            return f"no complete answer within {self.deadline:g}s"
        # ConnectionErrors too, but nothing was lost: what to check is elsewhere.
        if isinstance(error, requests.exceptions.ProxyError):
            return f"the proxy failed or refused ({'HTTPS_PROXY' if url.startswith('https:') else 'HTTP_PROXY'})"
        if isinstance(error, requests.exceptions.SSLError):
            return "TLS handshake failed (certificate, or the wrong scheme)"
        if isinstance(error, requests.ConnectionError):
            return "connection lost before the answer"
        return f"request failed ({type(error).__name__})"
