"""The transport under http_client.Http: requests and urllib3, their retries and timeouts bound
by the request's deadline. Imported by Http on its first request, so that a command that sends
nothing does not load requests (about 50 ms); the why of each setting is in http_client's docstring.
"""

from __future__ import annotations

import contextlib
import math
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from junit_flaky.errors import JunitFlakyError
from junit_flaky.http_client import CONNECT_TIMEOUT, MAX_WAIT, USER_AGENT, Answer, _Late, host_of

# urllib3 Retry settings per method; see http_client's docstring for why.
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


def exchange(
    method: str, url: str, deadline: float, kwargs: Dict[str, Any], reading: "Reading",
    sleep: Callable[[float], None], max_answer: int,
) -> Answer:
    """One request, its retries and its whole answer, in the worker thread (``Http._request``)."""
    retry = _BoundedRetry(
        allowed_methods={method},  # urllib3 retries no POST by default; RETRIES says when
        respect_retry_after_header=True,
        raise_on_status=False,  # out of tries, the last answer is the answer (its status is reported)
        budget=_Budget(deadline, sleep), **RETRIES[method],
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
                if len(body) > max_answer:
                    raise JunitFlakyError(
                        f"{host_of(url)}: answer larger than {max_answer // (1024 * 1024)} MiB"
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


class Reading:
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
