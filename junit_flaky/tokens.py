"""The environment variables that hold credentials, and the one function that hides their values.

Every message junit-flaky prints passes through ``redact`` (the consoles in console.py apply it to
all they write), so a token that a server or the Buildkite agent echoes back never reaches a log.
Nor does a piece of one: a message cut to its first 200 characters, a table that folds a line, or
two writes can split a token, so a piece that holds its first or its last ``MIN_LENGTH``
characters is masked as well.

Besides the tokens of the environment, the secrets of a PostgreSQL history's URL (its password,
and PGPASSWORD, which libpq logs in with) are ``register``ed here when the URL is read: then
every message, the driver's errors that quote the URL included, is redacted the same way.
"""

from __future__ import annotations

import functools
import re
from typing import List, Mapping, Pattern, Set, Tuple

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
    return env.get(OWN_PREFIX + var, "").strip() or env.get(var, "").strip()


# Passwords of this process's history URL: secret at any length (a password is no placeholder).
_registered: Set[str] = set()


def register(secret: str) -> None:
    """Mask ``secret`` in everything printed from now on, as a token is."""
    if secret:
        _registered.add(secret)


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
