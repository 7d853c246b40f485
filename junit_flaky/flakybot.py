"""The Flakybot thresholds API, bounded: a deadline, one retry, warnings instead of failures.

Contract (as pytest-aviator 0.1.1 calls it): ``GET $AVIATOR_API_URL`` with
``Authorization: Bearer $AVIATOR_API_TOKEN`` and query ``repo_name``/``job_name``, answering
``{"flaky_tests": [{"test_name", "class_name", "min_passes", "max_runs"}, ...]}``.
Unlike pytest-aviator, an unreachable, slow or broken API never stops the build: it costs at most
the deadline and a warning, and the other threshold sources decide.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, List, Mapping, Optional, Tuple

from junit_flaky import tokens
from junit_flaky.ci_env import detect
from junit_flaky.errors import JunitFlakyError
from junit_flaky.model import Thresholds
from junit_flaky.thresholds import Entry, entries_from_answer

if TYPE_CHECKING:
    import requests

DEFAULT_URL = "https://api.aviator.co/api/v1/flaky-tests"
TOKEN_VAR = tokens.AVIATOR
URL_VAR = "AVIATOR_API_URL"
MAX_BODY = 32 * 1024 * 1024  # a thresholds list is small; anything bigger is garbage


@dataclass
class FlakybotAnswer:
    entries: List[Entry] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    asked: bool = False


class _Retryable(Exception):
    pass


def _get(session: "requests.Session", url: str, params: dict, headers: dict, deadline: float,
         clock: Callable[[], float]) -> Tuple[int, bytes]:
    """One GET whose connect, wait and body all fit before ``deadline`` (requests' own timeouts
    are per phase, so a server that dribbles bytes could hold us forever)."""
    import requests
    remaining = deadline - clock()
    if remaining <= 0:
        raise requests.Timeout("deadline reached")
    with session.get(
        url, params=params, headers=headers, timeout=(min(remaining, 5.0), remaining), stream=True
    ) as response:
        body = bytearray()
        for chunk in response.iter_content(chunk_size=65536):
            body += chunk
            if clock() > deadline:
                raise requests.Timeout("deadline reached while reading the answer")
            if len(body) > MAX_BODY:
                raise JunitFlakyError("Flakybot API: answer larger than 32 MiB")
        return response.status_code, bytes(body)


def _get_within(session: "requests.Session", url: str, params: dict, headers: dict, deadline: float,
                clock: Callable[[], float]) -> Tuple[int, bytes]:
    """``_get`` bounded by ``deadline`` on the whole: a socket timeout bounds each read, and
    urllib3 reads a body in blocks, so a server that dribbles a byte now and then holds one read
    for as long as it likes. The request runs in a daemon thread that is left behind at the
    deadline (it ends itself at its next chunk, or with the process)."""
    done: List[Tuple[bool, object]] = []

    def work() -> None:
        try:
            done.append((True, _get(session, url, params, headers, deadline, clock)))
        except BaseException as exc:  # handed to the caller's thread as it is
            done.append((False, exc))

    worker = threading.Thread(target=work, name="flakybot-api", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - clock()))
    if not done:
        import requests

        raise requests.Timeout("deadline reached")
    ok, value = done[0]
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def fetch(
    env: Mapping[str, str],
    default: Thresholds,
    timeout: float = 10.0,
    session: Optional["requests.Session"] = None,
    clock: Callable[[], float] = time.monotonic,
) -> FlakybotAnswer:
    """Ask Flakybot for this job's thresholds; only when ``AVIATOR_API_TOKEN`` is set. ``default``
    (the thresholds of unlisted tests) fills what an entry leaves out."""
    token = env.get(TOKEN_VAR, "").strip()  # "$(cat token-file)" keeps a newline headers refuse
    if not token:
        return FlakybotAnswer()
    import requests  # here, not at the top: most runs never ask, and it costs 50 ms to import
    url = env.get(URL_VAR) or DEFAULT_URL
    ci = detect(env)
    params = {"repo_name": ci.repo, "job_name": ci.job_name}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    session = session or requests.Session()
    deadline = clock() + timeout
    answer = FlakybotAnswer(asked=True)
    warn = answer.warnings.append
    prefix = "Flakybot API"
    fallback = "; using the other threshold sources"
    for attempt in (1, 2):  # one retry on connection errors and 5xx
        try:
            status, body = _get_within(session, url, params, headers, deadline, clock)
            if status >= 500:
                raise _Retryable(f"answered HTTP {status}")
        except (requests.ConnectionError, _Retryable) as exc:
            if attempt == 2 or clock() >= deadline:
                reason = exc if isinstance(exc, _Retryable) else "could not connect"
                warn(f"{prefix}: {reason}{fallback}")
                return answer
            continue
        except requests.Timeout:
            warn(f"{prefix}: no answer within {timeout:g}s{fallback}")
            return answer
        except requests.RequestException as exc:
            warn(f"{prefix}: {type(exc).__name__}{fallback}")
            return answer
        except JunitFlakyError as exc:
            warn(f"{exc}{fallback}")
            return answer
        break
    if status in (401, 403):
        warn(f"{prefix}: HTTP {status}: check {TOKEN_VAR}{fallback}")
        return answer
    if status != 200:
        warn(f"{prefix}: answered HTTP {status}{fallback}")
        return answer
    try:
        answer.entries, warnings = entries_from_answer(json.loads(body), prefix, default)
    except ValueError:
        warn(f"{prefix}: the answer is not JSON{fallback}")
    except JunitFlakyError as exc:
        warn(f"{exc}{fallback}")
    else:
        answer.warnings += warnings
    return answer
