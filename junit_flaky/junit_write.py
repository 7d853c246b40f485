"""Writing the aggregated report: the input's own bytes, with only what changed replaced.

Each test appears once. A test that passed after failing keeps no <failure>/<error> and gets one
<flakyFailure>/<flakyError> per failed attempt; a test that failed keeps <failure>/<error> for its
first failed attempt with a message or trace (readers show only that one) and one
<rerunFailure>/<rerunError> per other failed attempt (Surefire's format, which Jenkins, Test Engine
and most readers understand); a quarantined test that failed is
written <skipped> with one <rerunFailure>/<rerunError> per failed attempt. Counts are recomputed
at every suite level. Everything else (properties, output, unknown elements and attributes,
comments, suite structure and order, the encoding) is copied byte for byte.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Dict, List, Mapping, Optional, Sequence, Tuple

from junit_flaky.files import atomic_write
from junit_flaky.junit_attempts import (
    FLAKY_FAILS_BUILD,
    HELD_BY_ATTEMPTS,
    NOT_ENOUGH_PASSES,
    QUARANTINE_PREFIX,
    RERUN_KEPT_NO_DETAILS,
    TrackedTest,
    parse_time,
    quarantine_why,
    recorded_verdict,
    texts_read_back,
)
from junit_flaky.junit_element import Element, local_name, quoted_attr
from junit_flaky.junit_read import BLANKS, PassedRepeats, Scan, Snippets, Suite
from junit_flaky.model import Attempt, Outcome, TestId, TestResult, Verdict
from junit_flaky.verdicts import Tally, plural

# Characters XML 1.0 cannot hold; shown as visible "#xNN" text, as pytest's junitxml does. Listed,
# not written as the negation of what its Char production allows: a negated class over all of
# Unicode takes re 3 ms to compile, on every start of run and merge.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TAG_NAME = re.compile(rb"<([^\s/>]+)")
COPY_CHUNK = 1 << 20
_XSD_ORDER = ("failure", "rerunFailure", "flakyFailure", "skipped", "error", "rerunError", "flakyError")


def xml_safe(value: str) -> str:
    """The one escaping step every string we add passes through."""
    return _ILLEGAL_XML.sub(lambda m: f"#x{ord(m.group()):02X}", value)


@dataclass
class Counts:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    flakes: int = 0
    # Seconds its tests' reruns took: they ran outside the suite, whose time gets them added.
    rerun_time: float = 0.0

    def add(self, other: "Counts") -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.errors += other.errors
        self.skipped += other.skipped
        self.flakes += other.flakes
        self.rerun_time += other.rerun_time


def counts_of(element: Element, verdict: Optional[Verdict] = None) -> Counts:
    """How readers count one <testcase>: by the verdict it records (``recorded_verdict``, or
    ``verdict`` when the caller read it already), a failure before an error. A quarantined failure
    is written skipped, so it counts as skipped."""
    if verdict is None:
        verdict = recorded_verdict(element)
    if verdict is Verdict.PASSED:  # most testcases a merge writes
        return Counts(tests=1)
    if verdict is Verdict.FAILED:
        failure = element.find("failure") is not None
        return Counts(tests=1, failures=int(failure), errors=int(not failure))
    if verdict is Verdict.SKIPPED or verdict is Verdict.QUARANTINED:
        return Counts(tests=1, skipped=1)
    return Counts(tests=1, flakes=int(verdict is Verdict.FLAKY))


def written_verdict(result: TestResult) -> Verdict:
    """The verdict the XML records for a test (``recorded_verdict`` reads it back): the one every
    output gives. Quarantine shows only where it changes what readers count: a quarantined test
    that failed; one that passed or was flaky is written as such, as it fails no build either way.
    A flaky verdict that fails the build (a new test flaky on arrival) is written failed, so that
    readers count what the build did."""
    return Verdict.FAILED if result.fails_build else result.reported_verdict


def _sub(parent: Element, tag: str, text: str = "", **attrs: Optional[str]) -> Element:
    """A child, without the attributes given as None."""
    return parent.add(tag, xml_safe(text), **{k: xml_safe(v) for k, v in attrs.items() if v is not None})


def _attempt_element(parent: Element, tag: str, attempt: Attempt) -> None:
    """A failed attempt: a final <failure>/<error>, or a Surefire rerun/flaky child. A message it
    has none of is left out (readers show message="" as one); its type is written even when
    unknown, as Surefire's 3.0 schema requires one on each of these elements."""
    if tag in ("failure", "error"):
        _sub(parent, tag, attempt.text, message=attempt.message or None, type=attempt.type)
        return
    child = _sub(parent, tag, message=attempt.message or None, type=attempt.type)
    _sub(child, "stackTrace", attempt.text)
    if attempt.stdout:
        _sub(child, "system-out", attempt.stdout)
    if attempt.stderr:
        _sub(child, "system-err", attempt.stderr)


def _failed_children(prefix: str, attempts: List[Attempt]) -> List[Tuple[str, Attempt]]:
    """``rerunFailure``/``rerunError`` (or flaky*) for each failed attempt."""
    return [(prefix + ("Failure" if a.outcome is Outcome.FAILED else "Error"), a) for a in attempts]


def build_testcase(first: Element, result: TestResult) -> Element:
    """The one <testcase> for a test with all its attempts, children in the Surefire XSD order.
    What each verdict looks like is described in README's "The XML it writes"."""
    attempts = result.attempts
    element = _first_with_time(first, [a.time for a in attempts])
    failed = [a for a in attempts if a.outcome.is_failure]
    passed = any(a.outcome is Outcome.PASSED for a in attempts)
    verdict = written_verdict(result)
    children: List[Tuple[str, Attempt]] = []
    shown = attempts[-1]
    if verdict is Verdict.FAILED and result.decision.verdict is Verdict.FLAKY:
        # Its runs as a flaky test's, and a <failure> that says why it fails the build, which the
        # reader takes for that verdict, not for a run (``junit_attempts.attempts_of``).
        children += _failed_children("flaky", failed)
        children.append(("failure", Attempt(Outcome.FAILED, message=f"junit-flaky: {result.decision.reason}", type=FLAKY_FAILS_BUILD)))
        shown = [a for a in attempts if a.outcome is Outcome.PASSED][-1]
    elif verdict is Verdict.FAILED:
        if failed:
            # Jenkins, GitLab and Test Engine show the <failure>/<error> alone: it holds the first
            # attempt with details, not a rerun pytest-rerunfailures kept nothing of.
            final = next((i for i, a in enumerate(failed) if a.text or a.message not in ("", RERUN_KEPT_NO_DETAILS)), 0)
            shown = failed[final]
            children.append(("failure" if shown.outcome is Outcome.FAILED else "error", shown))
            children += _failed_children("rerun", failed[:final] + failed[final + 1:])
        reason = Attempt(Outcome.FAILED, message=f"junit-flaky: {result.decision.reason}", type=NOT_ENOUGH_PASSES)
        if not failed:  # it passed, but not as often as its thresholds require
            children.append(("failure", reason))
        elif passed:  # its passes, which Surefire's failed test has no place for, in the note
            children.append(("rerunFailure", reason))
    elif verdict is Verdict.QUARANTINED:
        # Skipped for every reader that counts (Jenkins, Test Engine), with each failed run kept.
        runs = Tally.of(a.outcome for a in attempts).runs
        children += _failed_children("rerun", failed)
        if passed or not failed:
            children.append(("rerunFailure", Attempt(Outcome.FAILED, message=result.decision.reason, type=NOT_ENOUGH_PASSES)))
        why = result.thresholds.quarantine
        # Readers show the message: say why there. A merge knows why only from its input.
        because = f" ({why.describe()})" if why else quarantine_why(first)
        message = f"{QUARANTINE_PREFIX}{len(failed)} of {plural(runs, 'run')}{because}"
        children.append(("skipped", Attempt(Outcome.SKIPPED, message=message)))
    elif verdict is Verdict.SKIPPED:
        children.append(("skipped", shown))
    else:
        if failed:
            children += _failed_children("flaky", failed)
        if shown.outcome is not Outcome.PASSED:
            shown = [a for a in attempts if a.outcome is Outcome.PASSED][-1]
    if children:  # none for a pass (most testcases a merge writes)
        for tag, attempt in sorted(children, key=lambda pair: _XSD_ORDER.index(pair[0])):
            if tag == "skipped":  # its text too (pytest's says where it skipped); the XSD allows no type
                _sub(element, tag, attempt.text, message=attempt.message or None)
            else:
                _attempt_element(element, tag, attempt)
    if shown.stdout:
        _sub(element, "system-out", shown.stdout)
    if shown.stderr:
        _sub(element, "system-err", shown.stderr)
    return element


def _first_with_time(first: Element, seconds: List[float]) -> Element:
    """A test's one <testcase> as ``build_testcase`` starts it: a copy of its first testcase less
    what the attempts hold, its time that of all its attempts. A test that passed gets nothing more
    when its testcases held nothing (``passed_repeats_testcase``)."""
    if first.children:
        element = first.copy()
        element.children = [c for c in element.children if c.local not in HELD_BY_ATTEMPTS]
    else:  # a self-closing testcase (most merged repeats): nothing to copy but its attributes
        element = Element(first.tag, first.attrib, first.text)
    element.attrib["time"] = f"{sum(seconds):.3f}"
    return element


def passed_repeats_testcase(repeats: PassedRepeats) -> Element:
    """The one <testcase> of a test that passed in several suites, each time in a testcase that
    held nothing but blanks, and did nothing else (``junit_read.PassedRepeats``)."""
    return _first_with_time(repeats.first, list(map(parse_time, repeats.times)))


def kept_verdict(tracked: TrackedTest, result: TestResult) -> Optional[Verdict]:
    """The verdict the first <testcase> records when it already says what we decided, so that it
    is kept as written; None when it needs rewriting."""
    if len(tracked.occurrences) > 1 or result.was_rerun:
        return None
    recorded = recorded_verdict(tracked.elements[0])
    return recorded if recorded is written_verdict(result) else None


# The counts a suite's start tag gets even when the input has none (see suite_start_tag).
_ADDED_COUNTS = {"testsuite": ("tests", "failures", "errors", "skipped"), "testsuites": ("tests", "failures", "errors")}


def suite_start_tag(tag: str, attrs: Sequence[Tuple[str, str]], counts: Counts, self_closing: bool) -> str:
    """A suite's start tag with its counts replaced (or added), its time grown by its tests'
    reruns, other attributes kept in order. Jenkins xUnit's schema (junit-10.xsd), which that
    plugin checks each report against before reading it, allows no ``skipped`` on <testsuites>
    and no ``flakes`` (Surefire's newest count): those are replaced where the input has them,
    never added."""
    values = dict(attrs)
    for key in ("tests", "failures", "errors", "skipped", "flakes"):
        if key in values or key in _ADDED_COUNTS[local_name(tag)]:
            values[key] = str(getattr(counts, key))
    if counts.rerun_time and "time" in values:
        values["time"] = f"{parse_time(values['time']) + counts.rerun_time:.3f}"
    body = "".join(f" {key}={quoted_attr(value)}" for key, value in values.items())
    return f"<{tag}{body}{'/>' if self_closing else '>'}"


@dataclass
class _Plan:
    """What to write: per file, the byte range to copy and the edits inside it: the bytes from
    start to stop replaced by data, and whether the blank before start goes too (so that a
    removed repeat leaves no blank line behind: the copy before it drops its trailing blank,
    which costs no read of its own, where reading the blank took 0.25 s for 100,000 repeats)."""

    edits: Dict[int, List[Tuple[int, int, bytes, bool]]] = field(default_factory=dict)
    suite_counts: List[Counts] = field(default_factory=list)
    total: Counts = field(default_factory=Counts)


class _Writer:
    def __init__(self, scan: Scan, snippets: Snippets) -> None:
        self.scan = scan
        self.snippets = snippets
        self.merged = len(scan.files) > 1
        self.encoding = "utf-8" if self.merged else scan.files[0].encoding

    def plan(self, tracked: Mapping[TestId, TrackedTest], results: Mapping[TestId, TestResult]) -> _Plan:
        scan = self.scan
        plan = _Plan(edits={i: [] for i in range(len(scan.files))})
        own = [
            Counts(s.passed + s.skipped, s.own_failures, s.own_errors, s.skipped) for s in scan.suites
        ]
        loose = Counts(tests=scan.loose_passed + scan.loose_skipped, skipped=scan.loose_skipped)
        edits, end_of, snippets = plan.edits, self.snippets.end_of, self.snippets
        for test, entry in tracked.items():
            result = results[test]
            occurrences = entry.occurrences
            first = occurrences[0]
            element = entry.elements[0]
            verdict = kept_verdict(entry, result)  # read once: it also says how the testcase counts
            if verdict is None:
                with texts_read_back(entry, snippets):
                    element = build_testcase(element, result)
                edits[first.file].append((first.start, end_of(first), self._encode(element.to_xml()), False))
            counts = counts_of(element, verdict)
            if verdict is None and result.was_rerun:
                counts.rerun_time = sum(a.time for a in result.attempts if a.rerun)
            (own[first.suite] if first.suite >= 0 else loose).add(counts)
            for occurrence in occurrences[1:]:
                # A removed repeat leaves no blank line behind (see ``_Plan``).
                edits[occurrence.file].append((occurrence.start, end_of(occurrence), b"", True))
        for repeats in scan.passed_repeats:  # counted by their suites already, as passed
            (file, start, end), *others = repeats.places
            edits[file].append((start, end, self._encode(passed_repeats_testcase(repeats).to_xml()), False))
            for file, start, end in others:
                edits[file].append((start, end, b"", True))
        # Suites come in document order, so children after their parents: sum bottom-up.
        for index in range(len(scan.suites) - 1, -1, -1):
            parent = scan.suites[index].parent
            if parent >= 0:
                own[parent].add(own[index])
        plan.suite_counts = own
        plan.total = loose
        for index, suite in enumerate(scan.suites):
            if suite.parent < 0:
                plan.total.add(own[index])
            if self.merged and self._is_root_testsuites(suite):
                continue  # a shard's root: replaced by the one root of the merged report
            tag, self_closing = self.snippets.start_tag(suite.file, suite.start)
            # The name as written, prefix included, so that it still matches the end tag.
            written_name = _TAG_NAME.match(tag).group(1).decode(self.scan.files[suite.file].encoding)
            new = suite_start_tag(written_name, suite.attrs, own[index], self_closing)
            plan.edits[suite.file].append((suite.start, suite.start + len(tag), self._encode(new), False))
        return plan

    def _is_root_testsuites(self, suite: Suite) -> bool:
        """A file's <testsuites> root: in a merge, a shard's root, which the one merged root replaces."""
        return suite.tag == "testsuites" and suite.start == self.scan.files[suite.file].root_start

    def _encode(self, text: str) -> bytes:
        return text.encode(self.encoding, "xmlcharrefreplace")

    def body(self, file: int) -> Tuple[int, int]:
        """The byte range of a file that goes into the output."""
        report = self.scan.files[file]
        if not self.merged:
            return 0, report.size
        tag, self_closing = self.snippets.start_tag(file, report.root_start)
        if report.root_tag == "testsuites":  # its children go under the merged root
            inner_start = report.root_start + len(tag)
            return (inner_start, inner_start) if self_closing else (inner_start, report.root_end_event)
        return report.root_start, self.snippets.element_end(file, report.root_start, report.root_end_event)

    def root_namespaces(self) -> List[Tuple[str, str]]:
        """The prefixes the shards' <testsuites> roots declare: the merge drops those roots, and
        what they held may use them (``xsi:`` on Surefire's suites). On a clash the first wins."""
        found: Dict[str, str] = {}
        for suite in self.scan.suites:
            if self._is_root_testsuites(suite):
                for key, value in suite.attrs:
                    if key.startswith("xmlns:"):
                        found.setdefault(key, value)
        return list(found.items())

    def write(self, out: BinaryIO, plan: _Plan) -> None:
        if self.merged:
            attrs = [("name", "junit-flaky"), *self.root_namespaces()]
            root = suite_start_tag("testsuites", attrs, plan.total, False)
            out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n{root}\n'.encode())
        for file in range(len(self.scan.files)):
            self._copy_with_edits(out, file, *self.body(file), sorted(plan.edits[file], key=_edit_start))
            if self.merged:
                out.write(b"\n")
        if self.merged:
            out.write(b"</testsuites>\n")

    def _copy_with_edits(
        self, out: BinaryIO, file: int, begin: int, end: int, edits: List[Tuple[int, int, bytes, bool]]
    ) -> None:
        source = self.scan.files[file]
        decoder = None
        if source.encoding != self.encoding:
            decoder = codecs.getincrementaldecoder(source.encoding)()
        position = begin
        with open(source.path, "rb") as handle:
            for start, stop, data, drop_blank_before in edits:
                if stop <= begin or start >= end:
                    continue  # outside the part of this file that is written
                start, stop = max(start, begin), min(stop, end)
                if decoder is None and 0 <= start - position <= COPY_CHUNK:
                    # One read, as _copy_range would make it, without its call: most gaps are
                    # between one removed repeat and the next (a seventh of writing 100,000).
                    handle.seek(position)
                    gap = handle.read(start - position)
                    out.write(gap.rstrip(BLANKS) if drop_blank_before else gap)
                else:
                    self._copy_range(handle, out, position, start, decoder, drop_blank_before)
                out.write(data)
                position = stop
            self._copy_range(handle, out, position, end, decoder)

    def _copy_range(
        self, handle: BinaryIO, out: BinaryIO, start: int, stop: int, decoder: Optional[codecs.IncrementalDecoder],
        drop_trailing_blank: bool = False,
    ) -> None:
        handle.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = handle.read(min(COPY_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            if drop_trailing_blank and remaining <= 0:
                chunk = chunk.rstrip(BLANKS)
            if decoder is not None:
                chunk = decoder.decode(chunk, remaining <= 0).encode(self.encoding, "xmlcharrefreplace")
            out.write(chunk)


def _edit_start(edit: Tuple[int, int, bytes, bool]) -> int:
    return edit[0]


def write(
    scan: Scan,
    tracked: Mapping[TestId, TrackedTest],
    results: Mapping[TestId, TestResult],
    path: Path,
) -> Counts:
    """Write the aggregated report to ``path`` atomically; returns the report's total counts."""
    with Snippets(scan.files) as snippets:
        writer = _Writer(scan, snippets)
        plan = writer.plan(tracked, results)
        with atomic_write(path) as out:
            writer.write(out, plan)
    return plan.total
