"""The reports an upload sends: checked once, then streamed through the reader.

Every testcase comes from ``junit_read.testcases`` (the scan's parser and identity), and its
verdict from ``junit_attempts.recorded_verdict``, which reads what ``run`` wrote (README, "The XML
it writes"): nothing here parses JUnit or guesses a verdict of its own. A report can hold a
million testcases, so they are streamed one at a time and dropped once read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

from junit_flaky import junit_read
from junit_flaky.junit_attempts import VERDICT_NOTES
from junit_flaky.junit_element import Element
from junit_flaky.junit_read import FAILURE_TAGS, FLAKY_TAGS, RERUN_TAGS


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as plain data that outlives the streamed element."""

    tag: str
    type: str
    message: str
    trace: str


@dataclass(frozen=True)
class Report:
    """A report file that ``load`` found to be JUnit XML."""

    path: Path

    def testcases(self) -> Iterator[junit_read.Testcase]:
        return junit_read.testcases(self.path)


def load(path: Path) -> Report:
    """Check a report as ``run`` checks its input; JunitFlakyError with one line when it is
    missing, malformed, hostile or not JUnit XML."""
    junit_read.scan([path])
    return Report(path)


def failed_attempts(testcase: Element) -> List[Failure]:
    """The failed attempts as the testcase lists them: Surefire's flaky ones, the final failure
    or error, the reruns. That is the order they ran, except where junit-flaky wrote a test that
    failed every run: its failure or error is the first failed run with a message or trace (the
    one readers show), and the other runs follow in the order they ran. A note ``run`` wrote for a
    verdict is no run: ``verdict_note`` gives it."""
    elements = testcase.findall(*FLAKY_TAGS) + testcase.findall(*FAILURE_TAGS) + testcase.findall(*RERUN_TAGS)
    return [
        Failure(element.local, element.get("type"), element.get("message"), trace(element))
        for element in elements if element.get("type") not in VERDICT_NOTES
    ]


def verdict_note(testcase: Element) -> str:
    """Why ``run`` failed the test where its failed runs do not say it: the message of the note
    it wrote beside them (``VERDICT_NOTES``), else ``""``."""
    notes = [e for e in testcase.findall(*FAILURE_TAGS, *RERUN_TAGS) if e.get("type") in VERDICT_NOTES]
    return notes[0].get("message") if notes else ""


def trace(attempt: Element) -> str:
    """The stack trace of one failed attempt: ``<stackTrace>`` for flaky*/rerun*, the element's
    own text for failure/error."""
    return attempt.findtext("stackTrace") or attempt.text
