"""What every upload target is given: the environment, the CI facts and the two side-effect seams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Optional, Sequence, Tuple

from junit_flaky import tokens
from junit_flaky.ci_env import CIInfo
from junit_flaky.errors import JunitFlakyError
from junit_flaky.http_client import Http

if TYPE_CHECKING:
    from junit_flaky.codeowners import OwnerLookup

# Runs a command with bytes on stdin in an environment; returns its exit code and its stderr.
Run = Callable[[Sequence[str], bytes, Mapping[str, str]], Tuple[int, str]]


@dataclass(frozen=True)
class Context:
    env: Mapping[str, str]
    ci: CIInfo
    http: Http
    run: Run
    build_passed: Optional[bool] = None
    artifact_base: Optional[str] = None  # URL prefix the report artifacts are found under
    owners: Optional[OwnerLookup] = None  # each test's owners from CODEOWNERS, where there is one

    def token(self, var: str) -> str:
        """The token ``var`` names (tokens.value: junit-flaky's own name first); the error names
        the variable, never a value."""
        value = tokens.value(self.env, var)
        if not value:
            raise JunitFlakyError(f"{var} is not set")
        return value
