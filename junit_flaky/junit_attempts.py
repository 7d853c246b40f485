"""What a tracked test's <testcase> elements say about its attempts.

Every producer records reruns its own way; this module turns them all into one ordered list of
attempts:

- several <testcase> elements with one identity: one attempt each, in document order
  (pytest-rerunfailures, pytest-aviator, flaky, gotestsum, merged shards);
- Surefire's ``flakyFailure``/``flakyError`` children: failed attempts before the final result;
- Surefire's ``rerunFailure``/``rerunError`` children: failed attempts after the first failure;
- pytest-rerunfailures' empty <testcase> before a later one of its test: an attempt that failed
  and was rerun, of which nothing else was kept (see ``_counts_out_reruns``).

pytest writes a call failure plus a teardown error as two <testcase> elements for one run; that
pair is one attempt, not two.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ContextManager, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from junit_flaky.junit_element import Element, local_name, long_lived, parse_element
from junit_flaky import junit_read
from junit_flaky.junit_read import (
    FAILURE_TAGS,
    FINAL_TAGS,
    FLAKY_TAGS,
    INTERIM_TAGS,
    RERUN_TAGS,
    Occurrence,
    Scan,
    Snippets,
    UntrackedSink,
    Watch,
)
from junit_flaky.model import Attempt, Decision, Outcome, TestId, TestResult, Thresholds, Verdict
from junit_flaky.verdicts import Tally, plural

# A test takes no longer than this (about 31 years); a bigger ``time`` is taken as this, so that
# sums, milliseconds and the history's integers stay finite.
MAX_SECONDS = 1e9
_PYTEST_TEARDOWN = 'failed on teardown with "'
RERUN_KEPT_NO_DETAILS = "failed (pytest-rerunfailures kept no details of this attempt)"
# The type of the note ``run`` writes for a test that passed fewer times than required (a
# <failure>, or a <rerunFailure> when quarantined): it records a verdict, not a failed run.
NOT_ENOUGH_PASSES = "junit_flaky.NotEnoughPasses"
# The type of the <failure> ``run`` writes for a flaky verdict that fails the build (a new test,
# flaky on arrival): beside its runs (a pass, flaky children), it records a verdict, not a run.
FLAKY_FAILS_BUILD = "junit_flaky.FlakyFailsBuild"
# Both: what ``run`` writes beside a test's runs to say why it fails the build, which no reader
# of runs (attempts_of, the uploads) takes for one.
VERDICT_NOTES = (NOT_ENOUGH_PASSES, FLAKY_FAILS_BUILD)
# The last line of a pytest traceback: "path/to/test_x.py:44: AssertionError" (matched line by line).
_PYTEST_CRASH_LINE = re.compile(r"(?P<path>[^\s:][^:\n]*):(?P<line>\d+): (?P<type>[A-Za-z_][\w.]*)\s*$")
# The children of a <testcase> whose content its attempts hold once read: their tags are all that
# the verdict and the counts read, and a rewritten testcase has them replaced.
HELD_BY_ATTEMPTS = frozenset(FINAL_TAGS) | INTERIM_TAGS | frozenset(("system-out", "system-err"))
_TYPE_IN_MESSAGE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Failure|Interrupt|Exit|Warning)):")


@dataclass
class TrackedTest:
    """A tracked test as the input reports recorded it. With slots: one per tracked test, of
    which a merge of overlapping shards has 100,000s."""

    __slots__ = ("test", "occurrences", "elements", "attempts")

    test: TestId
    occurrences: List[Occurrence]
    # One per occurrence read as an element, the first occurrence's first (the one written
    # back), without what ``attempts`` hold; a later repeat holding nothing is held flat, without one.
    elements: List[Element]
    attempts: List[Attempt]  # without traces and output: see ``texts_read_back``


@lru_cache(maxsize=4096)  # a report's times repeat ("0.012"): a look-up takes a seventh of a parse
def parse_time(value: Optional[str]) -> float:
    """``time`` attributes as producers write them: "1.5", "1,234.5" (Surefire), "", "-0.001".
    Nonsense ("inf", "NaN") is 0: it would end up as time="inf" and as Infinity in --json,
    which is not JSON. Absurdly large values are capped at ``MAX_SECONDS``."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:  # rarely: thousands separators cost a copy only when present
        try:
            seconds = float(value.replace(",", ""))
        except ValueError:
            return 0.0
    return min(max(0.0, seconds), MAX_SECONDS) if math.isfinite(seconds) else 0.0


def recorded_verdict(element: Element) -> Verdict:
    """The verdict one <testcase> records: the one place that reads it from the XML.

    ``run`` writes every verdict so that this gives it back (README, "The XML it writes"); any
    other producer's testcase is read the same way: a final failure/error is failed, Surefire's
    flaky children without one are flaky, a skip is skipped, anything else passed. A skip beside
    rerunFailure/rerunError children (which no producer writes for a skipped test) is a
    quarantined test that failed.
    """
    if not element.children:  # most testcases: passed, nothing inside
        return Verdict.PASSED
    tags = {local_name(child.tag) for child in element.children}  # a comment's "!--" is no tag of these
    if tags.intersection(FAILURE_TAGS):
        return Verdict.FAILED
    if "skipped" in tags:
        return Verdict.QUARANTINED if tags.intersection(RERUN_TAGS) else Verdict.SKIPPED
    return Verdict.FLAKY if tags.intersection(FLAKY_TAGS) else Verdict.PASSED


# How ``run`` begins the skip message of a quarantined failure: "quarantined: failed 2 of 3 runs",
# then " (why)" when its quarantine says why (README, "The XML it writes").
QUARANTINE_PREFIX = "quarantined: failed "
_QUARANTINE_WHY = re.compile(re.escape(QUARANTINE_PREFIX) + r"\d+ of \d+ runs?( \(.*\))$", re.S)


def quarantine_why(testcase: Element) -> str:
    """`` (why)`` from the skip message ``run`` gave a quarantined failure, else ``""``."""
    skipped = testcase.find("skipped")
    match = _QUARANTINE_WHY.match(skipped.get("message") or "") if skipped is not None else None
    return match.group(1) if match else ""


# How the recorded verdicts of several copies of one test (overlapping shards) combine: the first
# of these that any copy has; skipped only when every copy was skipped.
_COMBINED_ORDER = (Verdict.FAILED, Verdict.QUARANTINED, Verdict.FLAKY, Verdict.PASSED)


def combine_verdicts(verdicts: Iterable[Verdict]) -> Verdict:
    """One verdict for a test recorded in several reports: failed if any copy failed, else
    quarantined, else flaky, else passed; skipped only if every copy was skipped."""
    found = set(verdicts)
    return next((verdict for verdict in _COMBINED_ORDER if verdict in found), Verdict.SKIPPED)


def recorded_result(entry: TrackedTest) -> TestResult:
    """A test as its reports recorded it, for ``merge``: the combined verdict of its copies, no
    thresholds applied. A quarantined failure stays one, however many copies agree. A pass after
    attempts that failed without a result in their testcase (pytest-rerunfailures' reruns) is flaky."""
    verdicts = [recorded_verdict(element) for element in entry.elements]
    if len(entry.elements) < len(entry.occurrences):  # repeats held flat: passes holding nothing
        verdicts.append(Verdict.PASSED)
    verdict = combine_verdicts(verdicts)
    tally = Tally.of(attempt.outcome for attempt in entry.attempts)
    if verdict is Verdict.PASSED and tally.failures:
        verdict = Verdict.FLAKY
    quarantined = verdict is Verdict.QUARANTINED
    reason = f"recorded {verdict.value}"
    if verdict in (Verdict.FAILED, Verdict.QUARANTINED) and tally.passes:  # with its passes' note (``build_testcase``)
        reason += f", passed {tally.passes} of {plural(tally.runs, 'run')}"
    decision = Decision(Verdict.FAILED if quarantined else verdict, tally.passes, tally.runs, reason)
    return TestResult(entry.test, Thresholds(quarantined=quarantined, source="the report"), list(entry.attempts), decision)


def _failure_details(element: Element, outcome: Outcome, time: float, stdout: str, stderr: str) -> Attempt:
    message = element.get("message") or ""
    stack = element.find("stackTrace")
    # Surefire nests <stackTrace>; others (quick-junit, pytest) write the trace as the text.
    text = stack.alltext() if stack is not None else element.text
    kind = element.get("type") or ""
    location = ""
    crash = _crash_line(text)
    if crash is not None:
        location = f"{crash.group('path')}:{crash.group('line')}"
        kind = kind or crash.group("type")
    if not kind:
        match = _TYPE_IN_MESSAGE.match(message)
        kind = match.group("type") if match else ""
    return Attempt(outcome, time, message, kind, text.strip("\n"), stdout, stderr, location)


def _crash_line(text: str) -> "Optional[re.Match[str]]":
    """The last line of a trace that is a pytest crash line: where the test failed. Looked for
    line by line from the end, as a multi-line search tried every character of a long trace (most
    of the time of reading 20,000 failures), without splitting the trace into lines first."""
    end = len(text)
    while end >= 0:
        start = text.rfind("\n", 0, end) + 1
        crash = _PYTEST_CRASH_LINE.match(text, start, end)
        if crash is not None:
            return crash
        end = start - 1
    return None


def _interim(element: Element, time: float = 0.0) -> Attempt:
    outcome = Outcome.FAILED if element.local.endswith("Failure") else Outcome.ERROR
    stdout, stderr = element.findtext("system-out"), element.findtext("system-err")
    return _failure_details(element, outcome, time, stdout, stderr)


def _passed_once(time: Optional[str]) -> Attempt:
    """What a testcase with nothing inside records: one pass, of its ``time`` attribute."""
    return Attempt(Outcome.PASSED, parse_time(time))


def attempts_of(element: Element) -> List[Attempt]:
    """The attempts one <testcase> element records, in the order they ran."""
    if not element.children:  # most testcases of a big report: passed once, nothing inside
        return [_passed_once(element.get("time"))]
    time = parse_time(element.get("time"))
    # One pass over the children, each one's tag read once: a pass per question took a fifth of
    # the time of reading 20,000 failures. A comment's or instruction's "tag" is none of these.
    final = out = err = None
    flaky_children: List[Element] = []
    rerun_children: List[Element] = []
    merged_passes = False
    for child in element.children:
        tag, kind = local_name(child.tag), child.attrib.get("type", "")
        if kind == NOT_ENOUGH_PASSES:  # a note standing for the test's passes, not a run
            merged_passes = True
            continue
        outcome = FINAL_TAGS.get(tag)
        if outcome is not None:
            if kind != FLAKY_FAILS_BUILD and (final is None or final[1] is Outcome.SKIPPED):
                final = (child, outcome)
        elif tag in FLAKY_TAGS:
            flaky_children.append(child)
        elif tag in RERUN_TAGS:
            rerun_children.append(child)
        elif tag == "system-out":
            out = child if out is None else out
        elif tag == "system-err":
            err = child if err is None else err
    stdout = out.alltext() if out is not None else ""
    stderr = err.alltext() if err is not None else ""
    # The passes of a test that passed too few times, merged into one (Surefire's format has no
    # place for a failed test's passes), after its failed runs.
    passes = [Attempt(Outcome.PASSED, 0.0)] if merged_passes else []
    flaky = [_interim(child) for child in flaky_children]
    if final is not None and final[1] is Outcome.SKIPPED and (rerun_children or merged_passes):
        # A quarantined failure: the skip is its verdict, the failed runs are its attempts.
        runs = [_interim(child) for child in rerun_children] or [Attempt(Outcome.PASSED, stdout=stdout, stderr=stderr)]
        runs[0].time = time
        return runs + (passes if rerun_children else [])
    if final is None and merged_passes:  # no run failed: the passes are all there is
        passes = []
    reruns = [_interim(child) for child in rerun_children]
    if final is None:
        last = Attempt(Outcome.PASSED, time, stdout=stdout, stderr=stderr)
    elif final[1] is Outcome.SKIPPED:
        skip = final[0]
        last = Attempt(Outcome.SKIPPED, time, skip.get("message"), skip.get("type"), skip.text, stdout, stderr)
    else:
        last = _failure_details(final[0], final[1], time, stdout, stderr)
    return flaky + [last] + reruns + passes


def _is_pytest_teardown_error(attempts: List[Attempt]) -> bool:
    return len(attempts) == 1 and attempts[0].outcome is Outcome.ERROR and attempts[0].message.startswith(
        _PYTEST_TEARDOWN
    )


def _adjacent(snippets: Snippets, first: Occurrence, first_end: int, second: Occurrence) -> bool:
    if first.file != second.file or second.start < first_end:
        return False
    between = snippets.read(first.file, first_end, second.start - first_end)
    return not between.strip()


def _drop_what_attempts_hold(element: Element) -> None:
    """Empty the children whose content is now in the attempts, so that a failure's trace and
    output are held once (a report may hold thousands of failures, each with pages of output)."""
    for child in element.children:
        if child.local in HELD_BY_ATTEMPTS:
            child.text, child.children = "", []


def _holds_no_result(element: Element) -> bool:
    """No failure, error, skip or Surefire rerun in it: a pass, or an attempt someone reran."""
    return not any(child.local in FINAL_TAGS or child.local in INTERIM_TAGS for child in element)


def _counts_out_reruns(scan: Scan, index: int, tracked: int, reran: int, teardown_errors: int) -> bool:
    """Whether suite ``index`` counts its tests as pytest does with pytest-rerunfailures.

    pytest-rerunfailures writes each attempt it reran as a <testcase> with no result in it
    (``reran``: those followed by a later <testcase> of their test in the suite), and pytest's
    ``tests`` leaves those out, as it leaves out the teardown error it writes as a second
    <testcase> after a call failure (at most ``teardown_errors``). So the suite holds more
    testcases than ``tests`` says, by no more than those. Producers that repeat a passing test
    for other reasons count every testcase (overlapping shards, ``pytest --keep-duplicates``),
    or leave out more than their repeats (Ginkgo leaves out every skipped spec): their repeats
    stay passes.
    ``tracked`` is how many of its testcases are tracked; the scan counted the others, and
    those it merged into a testcase elsewhere (``junit_read.PassedRepeats``).
    """
    suite = scan.suites[index] if index >= 0 else None
    if suite is None or suite.tag != "testsuite":
        return False
    try:
        tests = int(dict(suite.attrs).get("tests", ""))
    except ValueError:
        return False
    uncounted = suite.passed + suite.skipped + suite.merged_away + tracked - tests
    return 0 < uncounted <= reran + teardown_errors


def _read_test(
    snippets: Snippets, occurrences: List[Occurrence], outline: bool = False,
) -> Tuple[List[Element], List[Attempt], List[Tuple[int, Attempt]], List[int]]:
    """One tracked test's elements and attempts, read from its occurrences; also, per suite,
    the passes that may be attempts someone reran, and the pytest teardown errors (see
    ``_counts_out_reruns``, which needs every test of the suite to tell). ``outline``: without
    the content of their output children (``Snippets.testcase_outline``), so no attempt holds
    its output."""
    elements: List[Element] = []
    attempts: List[Attempt] = []
    maybe_reran: List[Tuple[int, Attempt]] = []
    teardown_errors: List[int] = []
    last_in_suite = {occurrence.suite: index for index, occurrence in enumerate(occurrences)}
    for index, occurrence in enumerate(occurrences):
        if occurrence.holds_nothing:
            # A pass that holds no result, as attempts_of finds, in fewer steps (most merged
            # repeats); held flat, without an element, after the first.
            element = occurrence.bare
            if element is not None:
                elements.append(element)
            attempt = _passed_once(occurrence.time if element is None else element.get("time"))
            if last_in_suite[occurrence.suite] > index:
                maybe_reran.append((occurrence.suite, attempt))
            attempts.append(attempt)
            continue
        data = snippets.testcase_outline(occurrence) if outline else snippets.testcase(occurrence)
        element = parse_element(data, snippets.files[occurrence.file].encoding)
        elements.append(element)
        found = attempts_of(element)
        teardown = _is_pytest_teardown_error(found)
        if last_in_suite[occurrence.suite] > index and _holds_no_result(element):
            maybe_reran.append((occurrence.suite, found[0]))
        elif teardown:
            teardown_errors.append(occurrence.suite)
        merge = (
            teardown
            and index > 0
            and attempts
            and attempts[-1].outcome is Outcome.FAILED
            and _adjacent(snippets, occurrences[index - 1], snippets.end_of(occurrences[index - 1]), occurrence)
        )
        if merge:
            # pytest's call failure + teardown error: one run, reported in two elements.
            last = attempts[-1]
            last.text = f"{last.text}\n\n{found[0].message}\n{found[0].text}".strip()
        else:
            attempts.extend(found)
    return elements, attempts, maybe_reran, teardown_errors


def _drop_texts(attempts: Iterable[Attempt]) -> None:
    for attempt in attempts:
        attempt.text = attempt.stdout = attempt.stderr = ""


def load(scan: Scan, snippets: Snippets) -> Dict[TestId, TrackedTest]:
    """Parse every occurrence of every tracked test into its attempts. What a verdict and the
    report need is kept (outcome, time, message, type, location); traces and output are not (a
    report may hold thousands of failures with pages of each): ``texts_read_back`` reads them
    again from the input for the one test being written."""
    loaded: Dict[TestId, TrackedTest] = {}
    reran: Dict[int, List[Attempt]] = {}  # per suite: the passes that may be attempts rerun
    teardown_errors: Counter = Counter()  # per suite
    # Per test, only what it needs (most merged repeats: no children, no teardown errors).
    for test, occurrences in scan.tracked.items():
        elements, attempts, maybe_reran, teardowns = _read_test(snippets, occurrences, outline=True)
        if any(element.children for element in elements):  # else no attempt holds a text
            for element in elements:
                if element.children:
                    _drop_what_attempts_hold(element)
            _drop_texts(attempts)
        for suite, attempt in maybe_reran:
            reran.setdefault(suite, []).append(attempt)
        if teardowns:
            teardown_errors.update(teardowns)
        loaded[test] = TrackedTest(test, occurrences, elements, attempts)
    if reran:
        tracked_in = Counter(occurrence.suite for occurrences in scan.tracked.values() for occurrence in occurrences)
    for suite, passes in reran.items():
        if _counts_out_reruns(scan, suite, tracked_in[suite], len(passes), teardown_errors[suite]):
            for attempt in passes:  # the very objects in the tests' attempts above
                attempt.outcome, attempt.message = Outcome.FAILED, RERUN_KEPT_NO_DETAILS
    return loaded


def texts_read_back(entry: TrackedTest, snippets: Snippets) -> ContextManager[None]:
    """The traces and output of ``entry``'s attempts, read again from the input, in its very
    attempt objects while the block runs (a result's attempts start with them), then dropped:
    the writer holds one test's texts at a time."""
    for occurrence in entry.occurrences:
        if not occurrence.holds_nothing:
            return _texts_read_back(entry, snippets)
    # Testcases that hold nothing: there is no text to read (and no generator to run, a tenth of
    # the time of writing 100,000 merged repeats).
    return _NOTHING_TO_READ


_NOTHING_TO_READ = nullcontext()  # reusable: it holds nothing


@contextmanager
def _texts_read_back(entry: TrackedTest, snippets: Snippets) -> Iterator[None]:
    _, full, _, _ = _read_test(snippets, entry.occurrences)
    for kept, read_again in zip(entry.attempts, full):
        kept.text, kept.stdout, kept.stderr = read_again.text, read_again.stdout, read_again.stderr
    try:
        yield
    finally:
        _drop_texts(entry.attempts)


@dataclass
class Reading:
    """Reports as read once: the scan of every file and the attempts of every tracked test."""

    paths: Sequence[Path]
    scan: Scan
    tracked: Dict[TestId, TrackedTest]


def read(
    paths: Sequence[Path], watch: Optional[Watch] = None, on_untracked: Optional[UntrackedSink] = None,
    also_track: Optional[junit_read.AlsoTracker] = None,
) -> Reading:
    """The one way reports become tests and attempts, for run, merge and the history alike
    (which takes the untracked testcases from the scan: ``junit_read.UntrackedSink``)."""
    with long_lived():
        scan = junit_read.scan(paths, watch=watch, on_untracked=on_untracked, also_track=also_track)
        with Snippets(scan.files) as snippets:
            return Reading(paths, scan, load(scan, snippets))
