"""The environment variables that hold credentials, and the one function that hides their values.

Every message junit-flaky prints passes through ``redact`` (the consoles in console.py apply it to
all they write), so a token that a server or the Buildkite agent echoes back never reaches a log.
Nor does a piece of one: a message cut to its first 200 characters, a table that folds a line, or
two writes can split a token, so a piece that holds its first or its last ``MIN_LENGTH``
characters is masked as well.

Besides the tokens of the environment, the secrets of a PostgreSQL history's URL (its password,
and PGPASSWORD, which libpq logs in with) are ``register``ed here when the URL is read. One of
``MIN_LENGTH`` characters or more is then redacted in every message as a token is. A shorter one,
or one the URL spells in the open (``postgres`` in ``postgresql://postgres@...``), is not masked
as a free piece of text: that would garble every word holding it and hide nothing. It is masked
where it can be told apart as a secret: in the URL's login (``DatabaseUrl`` shows ``user:***@``)
and, quoted, in the driver's errors (``redact_quoted``).

Structured outputs (the --json file) are redacted on their values (``redact_values``) before they
are serialised, never on the serialised text, so that they stay valid.
"""

from __future__ import annotations

import functools
import re
from typing import Any, List, Mapping, Pattern, Set, Tuple

AVIATOR = "AVIATOR_API_TOKEN"  # the Flakybot API and Aviator's uploads
TEST_ENGINE = "BUILDKITE_ANALYTICS_TOKEN"  # Buildkite Test Engine's uploads
AGENT = "BUILDKITE_AGENT_ACCESS_TOKEN"  # buildkite-agent runs with it in the environment we pass
# junit-flaky's own names for its two tokens, JUNIT_FLAKY_<name>: what the CI templates hand it a
# token kept under another name as. Unlike the standard names, which the tests read too
# (buildkite-test-collector uploads with BUILDKITE_ANALYTICS_TOKEN), these are junit-flaky's
# alone, and its reruns never see them (reruns.py).
OWN_PREFIX = "JUNIT_FLAKY_"
OWN_VARS = tuple(OWN_PREFIX + var for var in (AVIATOR, TEST_ENGINE))
TOKEN_VARS = (AVIATOR, TEST_ENGINE, AGENT, *OWN_VARS)
MASK = "[redacted]"
# Real tokens are long (Aviator's and Buildkite's are 24 characters and more); a shorter value is
# a placeholder ("x", "test"), and masking every "x" of every line would garble the output.
MIN_LENGTH = 8


def value(env: Mapping[str, str], var: str) -> str:
    """The token ``var`` (AVIATOR or TEST_ENGINE) names: under junit-flaky's own name when set
    there, else under ``var``; stripped, since "$(cat token-file)" keeps a newline headers refuse."""
    return env.get(source(env, var), "").strip()


def source(env: Mapping[str, str], var: str) -> str:
    """The variable ``value`` reads the token ``var`` names from: what a refusal names, so that the
    user checks the secret that was sent."""
    return OWN_PREFIX + var if env.get(OWN_PREFIX + var, "").strip() else var


# Passwords of this process's history URL long enough to mask in any text, as tokens are.
_registered: Set[str] = set()
# Every spelling of those passwords, whatever its length: masked where a driver's error quotes it.
_spellings: Set[str] = set()


def register(secret: str, in_text: bool = True) -> None:
    """Mask ``secret`` in everything printed from now on, as a token is, if it is ``MIN_LENGTH``
    characters or more and ``in_text`` (it is no word the output writes in the open); and, at
    any length, wherever a driver's error quotes it."""
    if secret:
        _spellings.add(secret)
        if in_text and len(secret) >= MIN_LENGTH:
            _registered.add(secret)


def redact_quoted(text: str) -> str:
    """A driver's error ``text`` with every registered spelling it quotes ("...", '...')
    replaced by MASK: libpq quotes the part of a URL it could not read."""
    for secret in sorted(_spellings, key=len, reverse=True):
        text = re.sub(rf"([\"'])({re.escape(secret)})\1", rf"\1{MASK}\1", text)
    return text


def redact_values(data: Any, env: Mapping[str, str]) -> Any:
    """``data`` (JSON-like: dicts, lists, strings) with every string value redacted, keys kept:
    what is serialised from it stays valid, which redacting its text would not guarantee."""
    if isinstance(data, str):
        return redact(data, env)
    if isinstance(data, dict):
        return {key: redact_values(item, env) for key, item in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_values(item, env) for item in data]
    return data


def secrets(env: Mapping[str, str]) -> List[str]:
    """The token values set in ``env`` and the registered secrets, the longest first (one may
    contain another)."""
    values = {value for value in (env.get(var, "").strip() for var in TOKEN_VARS) if len(value) >= MIN_LENGTH}
    return sorted(values | _registered, key=len, reverse=True)


def redact(text: str, env: Mapping[str, str]) -> str:
    """``text`` with every secret, and every piece of one, replaced by MASK."""
    found = secrets(env)
    return _pieces(tuple(found)).sub(MASK, text) if found else text


@functools.lru_cache(maxsize=8)
def _pieces(secrets: Tuple[str, ...]) -> Pattern[str]:
    """The secrets and their prefixes and suffixes of MIN_LENGTH characters or more, longest
    first: one pass, so that no piece is looked for in a MASK put in the place of another."""
    pieces = set(secrets)
    for secret in secrets:
        cut = range(len(secret) - MIN_LENGTH + 1)
        pieces |= {secret[: len(secret) - n] for n in cut} | {secret[n:] for n in cut}
    return re.compile("|".join(map(re.escape, sorted(pieces, key=len, reverse=True))))
