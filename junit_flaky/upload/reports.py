"""The reports an upload sends: loaded once, safely, and read the way the aggregated report is written.

The aggregated report follows Surefire: a flaky test keeps no ``<failure>`` and carries one
``<flakyFailure>``/``<flakyError>`` per failed attempt; a failed test has ``<failure>``/``<error>``
for its first failed attempt and one ``<rerunFailure>``/``<rerunError>`` per later one. So the
verdict of each test can be read back from the XML alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

from lxml import etree

from junit_flaky.errors import JunitFlakyError
from junit_flaky.model import TestId, Verdict

FINAL = ("failure", "error")
FLAKY = ("flakyFailure", "flakyError")
RERUN = ("rerunFailure", "rerunError")

# No entities, no network, no DTD: a report is data from a test run, not a trusted document.
# huge_tree: a long stack trace or captured output can exceed libxml2's 10 MB text-node limit.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


@dataclass(frozen=True)
class Report:
    """One report file: its bytes as on disk (sent unchanged where a target takes files) and
    its parsed tree."""

    path: Path
    data: bytes
    root: etree._Element

    def testcases(self) -> Iterator[etree._Element]:
        return self.root.iter("testcase")


def load(path: Path) -> Report:
    """Read and parse a report; JunitFlakyError with one line when it is missing or not JUnit XML."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise JunitFlakyError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise JunitFlakyError(f"{path}: is a folder, not a report") from None
    except OSError as exc:
        raise JunitFlakyError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise JunitFlakyError(f"{path}: not well-formed XML (line {exc.lineno})") from None
    # Liberal about the root (Eclipse writes <testrun>), strict about there being JUnit inside.
    if root.tag not in ("testsuites", "testsuite") and next(root.iter("testcase"), None) is None:
        raise JunitFlakyError(f"{path}: not a JUnit report (root element <{root.tag}>)")
    return Report(path, data, root)


def identity(testcase: etree._Element) -> TestId:
    return TestId(testcase.get("classname", ""), testcase.get("name", ""), testcase.get("file", ""))


def children(testcase: etree._Element, tags: tuple) -> List[etree._Element]:
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


def failed_attempts(testcase: etree._Element) -> List[etree._Element]:
    """The elements of the failed attempts, in the order they ran."""
    final = children(testcase, FINAL)
    if final:
        return final + children(testcase, RERUN)
    return children(testcase, FLAKY)


def trace(attempt: etree._Element) -> str:
    """The stack trace of one failed attempt: ``<stackTrace>`` for flaky*/rerun*, the element's
    own text for failure/error."""
    return attempt.findtext("stackTrace") or attempt.text or ""
