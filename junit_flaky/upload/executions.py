"""A report's executions: every recorded attempt a ``<testcase>`` of its own.

Services that count a test flaky when one commit has both a failing and a passing execution
(Buildkite Test Engine's "passed on retry", CircleCI Test Insights) read ``<testcase>`` elements
and know nothing of Surefire's ``<flakyFailure>``/``<rerunFailure>``: sent as written, a flaky
test would reach them as one passing execution. So each attempt becomes a testcase with the same
classname and name, in the order they ran, in JUnit documents of a bounded size. The note ``run``
writes beside a test's runs to say why it fails the build (a new test flaky on arrival, too few
passes) is a verdict, not a run: it is left out, so that such a test reaches these services as the
runs it had (a failure then a pass: flaky; passes only: passed). Beside a failed test's runs, the
note that stands for its passes (``junit_attempts.attempts_of``) becomes one passing execution.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Sequence, Tuple

from junit_flaky.junit_attempts import VERDICT_NOTES, recorded_verdict
from junit_flaky.junit_element import Element
from junit_flaky.junit_write import Counts, counts_of
from junit_flaky.junit_read import FAILURE_TAGS, FLAKY_TAGS, RERUN_TAGS, Testcase
from junit_flaky.model import Verdict
from junit_flaky.upload.reports import Report, trace

# Counts describe the whole suite on disk; each document gets its own.
_SUITE_COUNTS = {"tests", "failures", "errors", "skipped", "flakes", "disabled", "time"}


def executions(case: Testcase) -> List[Element]:
    """One ``<testcase>`` per attempt, in the order the report lists them: a flaky test's failures
    then its pass; a failed test's failure then its reruns (``reports.failed_attempts``: the
    failure is the first run with details), after one pass for the note that stands for its
    passes, if it has one, so that the last execution is a failure. A quarantined failure goes
    as the one skipped result it is written as, so no service counts a failure for it. Each copy declares
    the prefixes it uses and sits in no namespace, as these services read JUnit."""
    testcase = case.element
    final = _standalone(testcase.copy(), case.prefixes)
    if not final.get("classname") and case.suite.get("name"):
        # Test Engine takes no testcase without a classname ("Importing JUnit XML": classname and
        # name are mandatory), which jest-junit, nextest and minitest leave out or empty: the
        # suite's name, which stands beside it in the test's identity (identity_of), stands in.
        final.attrib["classname"] = case.suite["name"]
    final.children = [
        child for child in final.children
        if child.local not in FLAKY_TAGS + RERUN_TAGS and child.get("type") not in VERDICT_NOTES
    ]
    if recorded_verdict(testcase) is Verdict.QUARANTINED:
        return [final]
    runs = testcase.findall(*FLAKY_TAGS, *RERUN_TAGS)
    attempts = [_attempt(final, element) for element in runs if element.get("type") not in VERDICT_NOTES]
    if not final.findall(*FAILURE_TAGS):
        return [*attempts, final]
    # The note beside a failed test's runs stands for its passes: one pass, first, so that a
    # service taking a test's last execution for its result never sees a pass last for it.
    passes = [Element(final.tag, {k: v for k, v in final.attrib.items() if k != "time"})] if len(attempts) < len(runs) else []
    return [*passes, final, *attempts]


def _standalone(element: Element, prefixes: Dict[str, str]) -> Element:
    attrib = {key: value for key, value in element.attrib.items() if key != "xmlns"}
    element.attrib = {**prefixes, **attrib}
    return element


def _attempt(testcase: Element, element: Element) -> Element:
    """A flaky*/rerun* child as a testcase of its own with a plain <failure> or <error>."""
    case = Element(testcase.tag, {k: v for k, v in testcase.attrib.items() if k != "time"})
    if element.get("time"):
        case.attrib["time"] = element.get("time")
    tag = "error" if element.local.endswith("Error") else "failure"
    case.add(tag, trace(element), **{k: element.get(k) for k in ("message", "type") if element.get(k)})
    for name in ("system-out", "system-err"):
        output = element.find(name)
        if output is not None:
            case.children.append(output.copy())
    return case


def split(reports: Sequence[Report], limit: int) -> Iterator[Tuple[bytes, int]]:
    """The executions as JUnit documents of at most ``limit`` testcases each, with how many each
    holds, made one at a time as the reports stream by. Each testcase stays under a copy of its
    own suite's attributes."""
    chunk: List[Tuple[Dict[str, str], Element]] = []
    for report in reports:
        for testcase in report.testcases():
            for case in executions(testcase):
                chunk.append((testcase.suite, case))
                if len(chunk) == limit:
                    yield _document(chunk), len(chunk)
                    chunk = []
    if chunk:
        yield _document(chunk), len(chunk)


def _document(chunk: List[Tuple[Dict[str, str], Element]]) -> bytes:
    root = Element("testsuites")
    current_source = None
    suite = root
    for source, case in chunk:
        if source is not current_source:
            current_source = source
            attrs = {k: v for k, v in source.items() if k not in _SUITE_COUNTS and k != "xmlns"}
            suite = root.add("testsuite", name=source.get("name", ""))
            suite.attrib.update(attrs)
        suite.children.append(case)
    for suite in root.children:
        counts = Counts()
        for case in suite.children:
            counts.add(counts_of(case))
        for attribute in ("tests", "failures", "errors", "skipped"):
            suite.attrib[attribute] = str(getattr(counts, attribute))
    return ("<?xml version='1.0' encoding='UTF-8'?>\n" + root.to_xml()).encode("utf-8")
