"""What a tracked test's <testcase> elements say about its attempts.

Every producer records reruns its own way; this module turns them all into one ordered list of
attempts:

- several <testcase> elements with one identity: one attempt each, in document order
  (pytest-rerunfailures, pytest-aviator, flaky, gotestsum, merged shards);
- Surefire's ``flakyFailure``/``flakyError`` children: failed attempts before the final result;
- Surefire's ``rerunFailure``/``rerunError`` children: failed attempts after the first failure.

pytest writes a call failure plus a teardown error as two <testcase> elements for one run; that
pair is one attempt, not two.
"""

from __future__ import annotations

import math
import re
from xml.sax.saxutils import quoteattr
from dataclasses import dataclass
from typing import Dict, List, Optional

from lxml import etree

from junit_flaky.junit_read import FINAL_TAGS, INTERIM_TAGS, Occurrence, Scan, Snippets
from junit_flaky.model import Attempt, Outcome, TestId

# Untrusted input: the elements were already checked by the scan, but stay strict anyway.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
_PYTEST_TEARDOWN = 'failed on teardown with "'
# The last line of a pytest traceback: "path/to/test_x.py:44: AssertionError".
_PYTEST_CRASH_LINE = re.compile(r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+): (?P<type>[A-Za-z_][\w.]*)\s*$", re.M)
_TYPE_IN_MESSAGE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Failure|Interrupt|Exit|Warning)):")


@dataclass
class TrackedTest:
    """A tracked test as the input reports recorded it."""

    test: TestId
    occurrences: List[Occurrence]
    elements: List[etree._Element]  # one per occurrence, parsed
    attempts: List[Attempt]


def parse_time(value: Optional[str]) -> float:
    """``time`` attributes as producers write them: "1.5", "1,234.5" (Surefire), "", "-0.001".
    Nonsense ("inf", "NaN") is 0: it would end up as time="inf" and as Infinity in --json,
    which is not JSON."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:  # rarely: thousands separators cost a copy only when present
        try:
            seconds = float(value.replace(",", ""))
        except ValueError:
            return 0.0
    return max(0.0, seconds) if math.isfinite(seconds) else 0.0


def _text(element: Optional[etree._Element]) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _child_text(element: etree._Element, tag: str) -> str:
    return _text(element.find(tag))


def _failure_details(element: etree._Element, outcome: Outcome, time: float, stdout: str, stderr: str) -> Attempt:
    message = element.get("message") or ""
    stack = element.find("stackTrace")
    # Surefire nests <stackTrace>; others (quick-junit, pytest) write the trace as the text.
    text = _text(stack) if stack is not None else (element.text or "")
    kind = element.get("type") or ""
    location = ""
    crash = None
    for crash in _PYTEST_CRASH_LINE.finditer(text):
        pass  # the last one is where the test failed
    if crash is not None:
        location = f"{crash.group('path')}:{crash.group('line')}"
        kind = kind or crash.group("type")
    if not kind:
        match = _TYPE_IN_MESSAGE.match(message)
        kind = match.group("type") if match else ""
    return Attempt(outcome, time, message, kind, text.strip("\n"), stdout, stderr, location)


def _interim(element: etree._Element) -> Attempt:
    outcome = Outcome.FAILED if element.tag.endswith("Failure") else Outcome.ERROR
    stdout, stderr = _child_text(element, "system-out"), _child_text(element, "system-err")
    return _failure_details(element, outcome, 0.0, stdout, stderr)


def attempts_of(element: etree._Element) -> List[Attempt]:
    """The attempts one <testcase> element records, in the order they ran."""
    time = parse_time(element.get("time"))
    stdout, stderr = _child_text(element, "system-out"), _child_text(element, "system-err")
    final = None
    for child in element:
        outcome = FINAL_TAGS.get(child.tag) if isinstance(child.tag, str) else None
        if outcome is not None and (final is None or final[1] is Outcome.SKIPPED):
            final = (child, outcome)
    interim = [child for child in element if isinstance(child.tag, str) and child.tag in INTERIM_TAGS]
    flaky = [_interim(child) for child in interim if child.tag.startswith("flaky")]
    reruns = [_interim(child) for child in interim if child.tag.startswith("rerun")]
    if final is None:
        last = Attempt(Outcome.PASSED, time, stdout=stdout, stderr=stderr)
    elif final[1] is Outcome.SKIPPED:
        last = Attempt(Outcome.SKIPPED, time, message=final[0].get("message") or "", stdout=stdout, stderr=stderr)
    else:
        last = _failure_details(final[0], final[1], time, stdout, stderr)
    return flaky + [last] + reruns


def _is_pytest_teardown_error(attempts: List[Attempt]) -> bool:
    return len(attempts) == 1 and attempts[0].outcome is Outcome.ERROR and attempts[0].message.startswith(
        _PYTEST_TEARDOWN
    )


def _adjacent(snippets: Snippets, first: Occurrence, first_end: int, second: Occurrence) -> bool:
    if first.file != second.file or second.start < first_end:
        return False
    between = snippets.read(first.file, first_end, second.start - first_end)
    return not between.strip()


def _parse_element(scan: Scan, occurrence: Occurrence, data: bytes) -> etree._Element:
    """Parse one element cut out of its document, with the namespace prefixes declared around it."""
    text = data.decode(scan.files[occurrence.file].encoding)
    declarations: Dict[str, str] = {}
    suite = occurrence.suite
    while suite >= 0:  # innermost first: the nearest declaration of a prefix is the one in force
        for key, value in scan.suites[suite].attrs:
            # Prefixes only: under a default namespace lxml would name the children
            # "{urn:...}failure", and the failure would go unseen (a failed test "passed"). Written
            # back into the same place, the element is in that namespace again for every reader.
            if key.startswith("xmlns:"):
                declarations.setdefault(key, value)
        suite = scan.suites[suite].parent
    if not declarations:
        return etree.fromstring(text, _PARSER)
    attrs = "".join(f" {key}={quoteattr(value)}" for key, value in declarations.items())
    return etree.fromstring(f"<wrapper{attrs}>{text}</wrapper>", _PARSER)[0]


def load(scan: Scan, snippets: Snippets) -> Dict[TestId, TrackedTest]:
    """Parse every occurrence of every tracked test into its attempts."""
    loaded: Dict[TestId, TrackedTest] = {}
    for test, occurrences in scan.tracked.items():
        elements = []
        attempts: List[Attempt] = []
        previous_end = None
        for index, occurrence in enumerate(occurrences):
            end = snippets.element_end(occurrence.file, occurrence.start, occurrence.end_event)
            data = snippets.read(occurrence.file, occurrence.start, end - occurrence.start)
            element = _parse_element(scan, occurrence, data)
            elements.append(element)
            found = attempts_of(element)
            merge = (
                index > 0
                and attempts
                and attempts[-1].outcome is Outcome.FAILED
                and _is_pytest_teardown_error(found)
                and _adjacent(snippets, occurrences[index - 1], previous_end, occurrence)
            )
            if merge:
                # pytest's call failure + teardown error: one run, reported in two elements.
                last = attempts[-1]
                last.text = f"{last.text}\n\n{found[0].message}\n{found[0].text}".strip()
            else:
                attempts.extend(found)
            previous_end = end
        loaded[test] = TrackedTest(test, occurrences, elements, attempts)
    return loaded
