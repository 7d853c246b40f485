"""The one way uploads reach the network: a bounded POST with retries and one-line errors.

Every request has connect and read timeouts. Connection errors, 429 and 5xx are retried with
exponential backoff, honouring ``Retry-After`` (seconds or an HTTP date) up to ``max_wait``.
Messages name the host only: never the URL's user info, query or headers, and never the text of
a requests exception (it can carry the URL), so no token can leak through them.
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from junit_flaky.errors import JunitFlakyError

if TYPE_CHECKING:
    import requests

MAX_ANSWER = 1024 * 1024  # upload APIs answer with a few hundred bytes of JSON
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
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
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
        return urlsplit(url).hostname or "the upload URL"
    except ValueError:
        return "the upload URL"


def retry_after(value: Optional[str], now: float) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


class _Retryable(Exception):
    def __init__(self, reason: str, wait: Optional[float] = None) -> None:
        super().__init__(reason)
        self.wait = wait


@dataclass
class Http:
    """A POST with timeouts and retries; ``sleep`` and ``now`` (wall clock, for HTTP dates) are
    parameters so tests never wait. requests is imported on the first POST, not with this module:
    it costs 50 ms, and most runs upload nothing."""

    session: Optional["requests.Session"] = None
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time
    timeout: Tuple[float, float] = (10.0, 120.0)  # connect, read
    attempts: int = 4
    backoff: float = 1.0  # first wait; doubles after each failed attempt
    max_wait: float = 30.0  # a CI step should not sleep for minutes because a server asked

    def post(
        self,
        url: str,
        headers: Mapping[str, HeaderValue],
        data: Optional[Mapping[str, str]] = None,
        files: Optional[Files] = None,
    ) -> Answer:
        """The server's final answer (2xx or a non-retryable error); JunitFlakyError with a
        one-line reason when it cannot be reached or keeps failing after ``attempts`` tries."""
        import requests

        if self.session is None:
            self.session = requests.Session()
        host = host_of(url)
        attempt = 1
        while True:
            try:
                return self._post_once(self.session, url, headers, data, files)
            except _Retryable as exc:
                if attempt >= self.attempts:
                    raise JunitFlakyError(f"{host}: {exc} ({attempt} attempts); giving up") from None
                delay = exc.wait if exc.wait is not None else self.backoff * 2 ** (attempt - 1)
                self.sleep(min(delay, self.max_wait))
                attempt += 1
            except requests.Timeout:
                # A read timeout is not retried: the server may have the upload already, and
                # another wait of the same length is unlikely to end better.
                raise JunitFlakyError(f"{host}: no answer within {self.timeout[1]:g}s") from None
            except requests.RequestException as exc:
                raise JunitFlakyError(f"{host}: request failed ({type(exc).__name__})") from None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()

    def _post_once(
        self,
        session: "requests.Session",
        url: str,
        headers: Mapping[str, HeaderValue],
        data: Optional[Mapping[str, str]],
        files: Optional[Files],
    ) -> Answer:
        import requests

        try:
            # No redirects: requests would turn the POST into a GET, and would forward custom
            # token headers (x-Aviator-Api-Key) to whatever host the redirect names.
            response = session.post(
                url, headers=dict(headers), data=data, files=files, timeout=self.timeout,
                stream=True, allow_redirects=False,
            )
            with response:
                body = bytearray()
                for chunk in response.iter_content(chunk_size=65536):
                    body += chunk
                    if len(body) >= MAX_ANSWER:
                        break
        except requests.ConnectTimeout:
            raise _Retryable("connect timed out") from None
        except requests.ConnectionError:
            raise _Retryable("connection failed") from None
        if response.status_code == 429 or response.status_code >= 500:
            wait = retry_after(response.headers.get("Retry-After"), self.now())
            raise _Retryable(f"answered HTTP {response.status_code}", wait)
        return Answer(response.status_code, bytes(body))
