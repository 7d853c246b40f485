"""The Flakybot thresholds API, bounded: a deadline, retries, warnings instead of failures.

Contract (as pytest-aviator 0.1.1 calls it): ``GET $AVIATOR_API_URL`` with
``Authorization: Bearer $AVIATOR_API_TOKEN`` and query ``repo_name``/``job_name``, answering
``{"flaky_tests": [{"test_name", "class_name", "min_passes", "max_runs"}, ...]}``.
Unlike pytest-aviator, an unreachable, slow or broken API never stops the build: it costs at most
the deadline (http_client.py's GET: retries on connection errors, 429 and 5xx) and a warning, and
the other threshold sources decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Mapping, Optional

from junit_flaky import tokens
from junit_flaky.errors import JunitFlakyError

if TYPE_CHECKING:
    from junit_flaky.http_client import Http
    from junit_flaky.model import Thresholds
    from junit_flaky.thresholds import Entry

DEFAULT_URL = "https://api.aviator.co/api/v1/flaky-tests"
TOKEN_VAR = tokens.AVIATOR
URL_VAR = "AVIATOR_API_URL"
TIMEOUT = 10.0  # seconds in all (--flakybot-timeout): the build waits for the answer


@dataclass
class FlakybotAnswer:
    entries: List[Entry] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    asked: bool = False


def fetch(env: Mapping[str, str], default: Thresholds, timeout: float = TIMEOUT, http: Optional["Http"] = None) -> FlakybotAnswer:
    """Ask Flakybot for this job's thresholds; only when ``AVIATOR_API_TOKEN`` is set. ``default``
    (the thresholds of unlisted tests) fills what an entry leaves out; ``timeout`` bounds it all."""
    token = tokens.value(env, TOKEN_VAR)
    if not token:
        return FlakybotAnswer()
    # Here, not at the top: most runs never ask, and the CLI imports this module for TIMEOUT.
    import json

    from junit_flaky.ci_env import detect
    from junit_flaky.http_client import Http, check_url
    from junit_flaky.thresholds import UNREADABLE, entries_from_answer

    ci = detect(env)
    params = {"repo_name": ci.repo, "job_name": ci.job_name}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answer = FlakybotAnswer(asked=True)
    warn = answer.warnings.append
    prefix = "Flakybot API"
    fallback = "; using the other threshold sources"
    try:
        url = check_url(env.get(URL_VAR) or DEFAULT_URL, URL_VAR)
        reply = (http or Http(deadline=timeout)).get(url, headers, params=params)
    except JunitFlakyError as exc:
        warn(f"{prefix}: {exc}{fallback}")
        return answer
    status, body = reply.status, reply.body
    if status in (401, 403):
        warn(f"{prefix}: HTTP {status}: check {tokens.source(env, TOKEN_VAR)}{fallback}")
        return answer
    if status != 200:
        warn(f"{prefix}: answered HTTP {status}{fallback}")
        return answer
    try:
        answer.entries, warnings = entries_from_answer(json.loads(body), prefix, default)
    except UNREADABLE:
        warn(f"{prefix}: the answer is not JSON{fallback}")
    except JunitFlakyError as exc:
        warn(f"{exc}{fallback}")
    else:
        answer.warnings += warnings
    return answer
