"""The data that flows between stages: test identities, attempts, thresholds, verdicts."""

from __future__ import annotations

import enum
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple


class Outcome(str, enum.Enum):
    """The result of one attempt of one test."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"

    @property
    def is_failure(self) -> bool:
        return self in _FAILURES


class Verdict(str, enum.Enum):
    """What we decide about a test for this build."""

    PASSED = "passed"
    FLAKY = "flaky"
    FAILED = "failed"
    SKIPPED = "skipped"
    OPEN = "open"  # more runs could change it; closed (failed) before it leaves the tool
    QUARANTINED = "quarantined"  # reported verdict of a quarantined test


# The members asked about for every test, looked up once: a member looked up on its enum class
# (``Verdict.FAILED``) takes 75 ns on Python 3.11, whose enums' metaclass has a __getattr__.
_FAILURES = (Outcome.FAILED, Outcome.ERROR)
_FLAKY, _FAILED, _QUARANTINED, _OPEN = Verdict.FLAKY, Verdict.FAILED, Verdict.QUARANTINED, Verdict.OPEN


class TestId(NamedTuple):
    """A test's identity in a JUnit report: (classname, name), plus ``file`` where present.

    ``suite`` is the name of the enclosing <testsuite>: jest and others reuse one
    (classname, name) in many files, each its own suite, and those are different tests.

    A named tuple, not a frozen dataclass: a merge of overlapping shards makes 100,000s and finds
    each in several dicts, and a tuple is made in a third of the time and hashed in C, to the value
    the dataclass's hash (a Python function) gave. It equals the plain tuple of its fields, the
    scan's ``junit_read.Identity``.
    """

    classname: str
    name: str
    file: str = ""
    suite: str = ""

    __test__ = False  # not a pytest test class, despite the name

    @property
    def base_name(self) -> str:
        """The name without its parameter suffix: ``test_x[1-a]`` -> ``test_x``."""
        bracket = self.name.find("[")
        return self.name[:bracket] if bracket > 0 and self.name.endswith("]") else self.name

    def __str__(self) -> str:
        return test_label(self.classname, self.name)


def test_label(classname: str, name: str) -> str:
    """How every message names a test: CLASSNAME::NAME, or NAME alone when its report gives no
    classname."""
    return f"{classname}::{name}" if classname else name


def shared_names(tests: Iterable[TestId], among: Optional[Iterable[str]] = None) -> Set[str]:
    """The names (``str(test)``) that more than one of ``tests`` has: the same test in two suites.
    ``among``: only these names are asked about, so only the tests whose name can make one of them
    are named at all (the report prints a few of 100,000s)."""
    if among is not None:
        names = _names_making(among)
        tests = (test for test in tests if test.name in names)
    counts = Counter(map(str, tests))  # counted in C: a loop here took 0.4 us a test
    return {name for name, count in counts.items() if count > 1}


def _names_making(labels: Iterable[str]) -> Set[str]:
    """The test names that can make one of ``labels`` (``test_label``): a label is a test's name,
    or CLASSNAME::NAME, so NAME is the whole label or what follows one of its "::"."""
    names: Set[str] = set()
    for label in labels:
        names.add(label)
        start = label.find("::")
        while start >= 0:
            names.add(label[start + 2:])
            start = label.find("::", start + 1)
    return names


def labelled(name: str, test: TestId, shared: Set[str]) -> str:
    """``name`` (the test's, or its node id) told apart by its suite where its name is shared."""
    return f"{name} (suite {test.suite})" if str(test) in shared else name


# Slots where dataclasses have them (Python 3.10): a merge of overlapping shards holds 100,000s
# of attempts and results, each 48 bytes smaller with slots and made as fast.
_SLOTS = {"slots": True} if sys.version_info >= (3, 10) else {}


@dataclass(**_SLOTS)
class Attempt:
    """One run of a test, from the input report or from a rerun."""

    outcome: Outcome
    time: float = 0.0
    message: str = ""
    type: str = ""
    text: str = ""  # the stack trace or failure body
    stdout: str = ""
    stderr: str = ""
    location: str = ""  # "path:line" of the failing line, where known
    rerun: bool = False  # True when junit-flaky ran this attempt


@dataclass(frozen=True)
class Quarantine:
    """Why a test is quarantined and since when: listed by hand in the quarantine file
    (``manual``) or quarantined by the history's policy (``auto``)."""

    origin: str  # "manual" | "auto"
    reason: str
    since: str  # ISO date
    owner: str = ""
    until: str = ""  # ISO date, the last day it holds; "" for none

    def describe(self) -> str:
        """One line for every output: ``manual since 2026-11-20, owner alice, until 2026-12-31: why``."""
        parts = [f"{self.origin} since {self.since}"]
        if self.owner:
            parts.append(f"owner {self.owner}")
        if self.until:
            parts.append(f"until {self.until}")
        return ", ".join(parts) + f": {self.reason}"

    def as_json(self) -> Dict[str, Optional[str]]:
        """As ``--json``, ``stats --format json`` and ``quarantine list --format json`` give it."""
        return {"source": self.origin, "reason": self.reason, "since": self.since, "owner": self.owner or None, "until": self.until or None}


@dataclass(frozen=True)
class Thresholds:
    """Flakybot's rule for one test: pass ``min_passes`` times within ``max_runs`` runs.

    ``quarantined``: its failure fails no build; ``quarantine`` says why when the quarantine
    came from the quarantine file or the history (a thresholds source's ``quarantined = true``
    says no more than that)."""

    min_passes: int = 1
    max_runs: int = 1
    quarantined: bool = False
    source: str = "default"
    quarantine: Optional[Quarantine] = None
    # A new test's rule (--new-test-runs): a failure among its runs makes it "flaky on arrival"
    # (verdicts.judge), and ``flaky_fails_build`` makes that flaky verdict fail the build.
    new_test: bool = False
    flaky_fails_build: bool = False
    # Listed by a person (a thresholds file, [tool.junit-flaky], Flakybot), not learned or a
    # default: that rule stands, so --new-test-runs leaves the test to it.
    listed: bool = False


@dataclass(frozen=True)
class Decision:
    """A verdict with the numbers behind it."""

    verdict: Verdict
    passes: int
    runs: int
    reason: str

    @property
    def is_open(self) -> bool:
        return self.verdict is _OPEN


@dataclass(**_SLOTS)
class TestResult:
    """Everything known about one tracked test once its verdict is final."""

    test: TestId
    thresholds: Thresholds
    attempts: List[Attempt]
    decision: Decision
    owners: Tuple[str, ...] = ()  # from CODEOWNERS (codeowners.py), where the repository has one

    __test__ = False

    @property
    def reported_verdict(self) -> Verdict:
        """The verdict every output gives (report, --json, XML): a quarantined test's failure is
        QUARANTINED; any other verdict of it fails no build either way and is shown as it is."""
        if self.thresholds.quarantined and self.decision.verdict is _FAILED:
            return _QUARANTINED
        return self.decision.verdict

    @property
    def was_rerun(self) -> bool:
        """Whether junit-flaky reran it. Reruns append their attempts after the report's
        (``reruns.py``), and a report's attempt is never a rerun: the last attempt tells."""
        return bool(self.attempts) and self.attempts[-1].rerun

    @property
    def fails_build(self) -> bool:
        verdict = self.reported_verdict
        if verdict is _FLAKY:
            return self.thresholds.flaky_fails_build and not self.thresholds.quarantined
        return verdict is _FAILED
