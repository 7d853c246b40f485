"""The reports an upload sends: checked once, then streamed, read the way the aggregated report is written.

The aggregated report follows Surefire: a flaky test keeps no ``<failure>`` and carries one
``<flakyFailure>``/``<flakyError>`` per failed attempt; a failed test has ``<failure>``/``<error>``
for its first failed attempt and one ``<rerunFailure>``/``<rerunError>`` per later one. So the
verdict of each test can be read back from the XML alone.

A report can hold a million testcases, so nothing here holds the tree: testcases are streamed
one at a time and dropped once read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional, Tuple

from lxml import etree

from junit_flaky.errors import JunitFlakyError
from junit_flaky.model import TestId, Verdict

FINAL = ("failure", "error")
FLAKY = ("flakyFailure", "flakyError")
RERUN = ("rerunFailure", "rerunError")


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

    def testcases(self) -> Iterator[etree._Element]:
        """Each ``<testcase>``, complete and with its parent suite's attributes; gone once the
        caller moves on, so copy what must outlive it."""
        with self.path.open("rb") as stream:
            yield from _stream(stream, "testcase")


def load(path: Path) -> Report:
    """Read the whole report once; JunitFlakyError with one line when it is missing or not JUnit XML."""
    try:
        with path.open("rb") as stream:
            root_tag, has_testcase = "", False
            for element in _stream(stream, None):
                has_testcase = has_testcase or element.tag == "testcase"
                root_tag = element.tag  # the root ends last
    except FileNotFoundError:
        raise JunitFlakyError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise JunitFlakyError(f"{path}: is a folder, not a report") from None
    except OSError as exc:
        raise JunitFlakyError(f"{path}: cannot read: {exc.strerror}") from None
    except etree.XMLSyntaxError as exc:
        raise JunitFlakyError(f"{path}: not well-formed XML: {exc.msg}") from None
    # Liberal about the root (Eclipse writes <testrun>), strict about there being JUnit inside.
    if root_tag not in ("testsuites", "testsuite") and not has_testcase:
        raise JunitFlakyError(f"{path}: not a JUnit report (root element <{root_tag}>)")
    return Report(path)


def _stream(stream: BinaryIO, tag: Optional[str]) -> Iterator[etree._Element]:
    # No entities, no network, no DTD: a report is data from a test run, not a trusted document.
    # huge_tree: a long stack trace or captured output can exceed libxml2's 10 MB text-node limit.
    events = etree.iterparse(
        stream, events=("end",), tag=tag, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    for _, element in events:
        yield element
        # Drop what was read, and the siblings read before it, so memory holds one testcase.
        element.clear(keep_tail=False)
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]


def identity(testcase: etree._Element) -> TestId:
    return TestId(testcase.get("classname", ""), testcase.get("name", ""), testcase.get("file", ""))


def children(testcase: etree._Element, tags: Tuple[str, ...]) -> List[etree._Element]:
    return [child for child in testcase if child.tag in tags]


def verdict(testcase: etree._Element) -> Verdict:
    """The verdict the aggregated report records for one test."""
    if children(testcase, FINAL):
        return Verdict.FAILED
    if children(testcase, FLAKY):
        return Verdict.FLAKY
    if children(testcase, ("skipped",)):
        return Verdict.SKIPPED
    return Verdict.PASSED


def failed_attempts(testcase: etree._Element) -> List[Failure]:
    """The failed attempts, in the order they ran."""
    final = children(testcase, FINAL)
    elements = final + children(testcase, RERUN) if final else children(testcase, FLAKY)
    return [
        Failure(element.tag, element.get("type", ""), element.get("message", ""), trace(element))
        for element in elements
    ]


def trace(attempt: etree._Element) -> str:
    """The stack trace of one failed attempt: ``<stackTrace>`` for flaky*/rerun*, the element's
    own text for failure/error."""
    return attempt.findtext("stackTrace") or attempt.text or ""
