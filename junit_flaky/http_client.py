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

This module imports requests (50 ms): import it where a request is about to be made, not at start-up.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from junit_flaky import __version__
from junit_flaky.errors import JunitFlakyError

USER_AGENT = f"junit-flaky/{__version__}"
MAX_ANSWER = 32 * 1024 * 1024  # a thresholds list or an upload receipt; anything bigger is garbage
MAX_WAIT = 30.0  # a CI step should not sleep for minutes because a server asked
CONNECT_TIMEOUT = 10.0
# urllib3 Retry settings per method; see the module's docstring for why.
# - connect: the request never left, so any method may try again.
# - read: a GET may ask again; a POST never (False: the error is raised as it is, nothing re-sent).
# - status_forcelist: the answers a GET is asked again after. A POST has none: urllib3 then
#   retries it only on 413/429/503 with Retry-After (status=3 counts those tries).
# - other (a proxy or TLS refusing): not retried, another try meets the same refusal.
# - backoff_factor: urllib3 waits 0 s before the first retry, then factor * 2**(n-1): a GET 0 s,
#   1 s (within Flakybot's 10 s); a POST 0, 2, 4 s.
RETRIES: Dict[str, Dict[str, Any]] = {
    "GET": dict(
        total=2, connect=2, read=1, status=1, other=0, status_forcelist=(429, 500, 502, 503, 504), backoff_factor=0.5
    ),
    "POST": dict(total=3, connect=3, read=False, status=3, other=0, status_forcelist=(), backoff_factor=1.0),
}
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
        host = host_of(url)
        _check_sendable(kwargs["headers"], host)
        deadline = time.monotonic() + self.deadline
        done: List[Tuple[bool, Any]] = []
        reading = _Reading()

        def work() -> None:
            try:
                done.append((True, self._exchange(method, url, deadline, kwargs, reading)))
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

    def _exchange(self, method: str, url: str, deadline: float, kwargs: Dict[str, Any], reading: "_Reading") -> Answer:
        """One request, its retries and its whole answer, in the worker thread."""
        retry = _BoundedRetry(
            allowed_methods={method},  # urllib3 retries no POST by default; RETRIES says when
            respect_retry_after_header=True,
            raise_on_status=False,  # out of tries, the last answer is the answer (its status is reported)
            budget=_Budget(deadline, self.sleep), **RETRIES[method],
        )
        if deadline <= time.monotonic():
            raise _Late()
        with _Session() as session:
            session.mount("http://", HTTPAdapter(max_retries=retry))
            session.mount("https://", HTTPAdapter(max_retries=retry))
            session.headers["User-Agent"] = USER_AGENT
            response = session.request(
                method, url, timeout=_Until(deadline), stream=True, allow_redirects=method == "GET", **kwargs
            )
            with response:
                reading.started(response)
                body = bytearray()
                for chunk in response.iter_content(chunk_size=65536):
                    if time.monotonic() > deadline:  # the caller has gone: stop reading
                        raise _Late()
                    body += chunk
                    if len(body) > self.max_answer:
                        raise JunitFlakyError(
                            f"{host_of(url)}: answer larger than {self.max_answer // (1024 * 1024)} MiB"
                        )
                return Answer(response.status_code, bytes(body))


class _Session(requests.Session):
    """requests' Session that never reads ~/.netrc. requests puts the credentials it finds there
    in place of our Authorization header (a ``default`` entry matches every host), which would
    send a password meant for another service to the Flakybot API or Test Engine, and fail the
    request. Proxies and CA bundles from the environment still apply."""

    def __init__(self) -> None:
        super().__init__()
        self.auth = _as_given  # requests looks in ~/.netrc only when no auth is set

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """On a redirect: drop Authorization for another host, as requests does, and nothing more
        (requests would then look in ~/.netrc again)."""
        if "Authorization" in prepared_request.headers and self.should_strip_auth(
            response.request.url, prepared_request.url
        ):
            del prepared_request.headers["Authorization"]


def _as_given(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class _Reading:
    """The answer a worker reads, so that the caller can cut it off at the deadline. Shutting the
    socket down wakes a read blocked on it (closing it would not), which then ends the worker."""

    def __init__(self) -> None:
        self.response: Any = None
        self.abandoned = False

    def started(self, response: requests.Response) -> None:
        self.response = response
        if self.abandoned:  # the caller gave up between the answer's headers and now
            self.give_up()

    def give_up(self) -> None:
        self.abandoned = True
        # urllib3's response keeps its connection while the body is streamed (requests' stream=True).
        connection = getattr(getattr(self.response, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the worker
                sock.shutdown(socket.SHUT_RDWR)


class _Until(Timeout):
    """Socket timeouts that end with the request's deadline: urllib3 asks a fresh clone for them
    at every attempt, so an attempt that starts late waits only for the time left, not for the
    whole deadline again."""

    def __init__(self, deadline: float) -> None:
        super().__init__(connect=CONNECT_TIMEOUT, read=None)
        self.deadline = deadline

    def clone(self) -> "_Until":
        return _Until(self.deadline)

    def _left(self) -> float:
        return max(self.deadline - time.monotonic(), 0.001)  # 0 would make the socket non-blocking

    @property
    def connect_timeout(self) -> float:  # type: ignore[override]
        return min(CONNECT_TIMEOUT, self._left())

    @property
    def read_timeout(self) -> float:  # type: ignore[override]
        return self._left()


@dataclass(frozen=True)
class _Budget:
    deadline: float  # time.monotonic() after which no attempt starts
    sleep: Callable[[float], None]


class _BoundedRetry(Retry):
    """urllib3's Retry within a request's deadline, its waits through ``Http.sleep``."""

    def __init__(self, *args: Any, budget: Optional[_Budget] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget or _Budget(math.inf, time.sleep)

    def new(self, **kw: Any) -> "_BoundedRetry":
        return super().new(budget=self.budget, **kw)  # urllib3 makes a new Retry per attempt

    def get_retry_after(self, response: Any) -> Optional[float]:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:  # unreadable: the usual backoff
            return None
        return None if seconds is None else min(float(seconds), MAX_WAIT)

    def wait(self, response: Any) -> float:
        """Seconds before the next attempt: the server's Retry-After, else the backoff."""
        after = self.get_retry_after(response) if response is not None else None
        return self.get_backoff_time() if after is None else after

    def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None,
                  _pool: Any = None, _stacktrace: Any = None) -> "_BoundedRetry":
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if time.monotonic() + retry.wait(response) >= self.budget.deadline:
            # No time for another attempt: stop as urllib3 does when out of retries (it hands back
            # the last answer, or raises the last error).
            return Retry.increment(self.new(total=0), method, url, response, error, _pool, _stacktrace)  # type: ignore[return-value]
        return retry

    def sleep(self, response: Any = None) -> None:
        self.budget.sleep(self.wait(response))
