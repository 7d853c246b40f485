"""Reading JUnit XML: one streaming pass that indexes testcases by byte offset.

A report can hold a million testcases, and almost all of them passed once and need nothing. So the
reader keeps, for each testcase that passed (or was skipped) once, only a hash and a few numbers in
flat arrays, and keeps the full identity and byte range only of the *tracked* tests: the ones that
failed, appear more than once (reruns by pytest-rerunfailures, flaky, gotestsum, shards), carry
Surefire's flaky/rerun children, or that the thresholds say to watch. The writer later copies the
input's bytes and replaces only what changed, so nothing it does not understand is lost. A test
that passed in several suites and did nothing else (overlapping shards) is not tracked either: it
is held by where its testcases are and their times (``PassedRepeats``).

The input is untrusted (a pull request's test run): expat never loads a DTD or an external entity
here, and any DOCTYPE is rejected outright, which rules out XXE and entity-expansion bombs.
"""

from __future__ import annotations

import codecs
import glob
import os
import re
import warnings
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from itertools import groupby, repeat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple
from xml.parsers import expat

from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_element import Element, TreeBuilder, local_name, parse_childless
from junit_flaky.model import Outcome, TestId

SUITE_TAGS = frozenset({"testsuite", "testsuites"})
FINAL_TAGS = {"failure": Outcome.FAILED, "error": Outcome.ERROR, "skipped": Outcome.SKIPPED}
# The children of a <testcase> that record a failed run: its final result, and Surefire's flaky
# ones (failed runs before a pass) and rerun ones (after the first failure). Named here only.
FAILURE_TAGS = ("failure", "error")
FLAKY_TAGS = ("flakyFailure", "flakyError")
RERUN_TAGS = ("rerunFailure", "rerunError")
INTERIM_TAGS = frozenset(FLAKY_TAGS + RERUN_TAGS)
OUTPUT_TAGS = frozenset(("system-out", "system-err"))
CHUNK = 1 << 20
# A start tag after its "<": anything up to the first ">" outside a quoted attribute value. No
# two alternatives start alike, so a tag with no end in sight fails in linear time.
_START_TAG_REST = re.compile(rb"""[^"'>]*(?:(?:"[^"]*"|'[^']*')[^"'>]*)*>""")
# Files Snippets keeps open at once: a merge may read more shards than a process may open
# (macOS allows 256 by default, Linux 1024), and Surefire writes one file per test class.
OPEN_FILES = 32
# Start tags of repeats parsed by one parser at a time (``Snippets.testcase_tags``).
_TAGS_AT_ONCE = 4096
# Start tags of repeats at most this far apart are read with one read (``Snippets.start_tags``).
_READ_AHEAD = 1 << 16
# Bytes read at least past an end event for the end tag there (``_element_in``). An end tag with
# more blanks in it is found another way (``Snippets.testcase``), or, unless the read went further
# anyway, not at all (``Snippets.blank_testcases``: the test stays tracked, written the same).
_END_TAG_MAX = 256
BLANKS = b" \t\r\n"  # XML's white space: the same bytes in every encoding read

# A testcase's outcome while scanning, as small ints ordered by rank; an untracked testcase is
# one of the first two.
_PASSED, _SKIPPED, _FAILED, _ERROR = 0, 1, 2, 3
_CHILD_OUTCOME = {"skipped": _SKIPPED, "failure": _FAILED, "error": _ERROR}
_TRACK = 4  # a testcase tracked whatever its outcome: watched, or with Surefire's flaky/rerun children
_NO_END = (1 << 32) - 1
# Bits of the filter that finds identities seen before (``_Scanner.seen``): at least one per 2
# bytes of the reports (a power of two), at most 2**28 (32 MB). A testcase takes at least ~30
# bytes, so at most one in 15 of the bits is set at the end and a new identity hits a set bit
# that rarely; each such false hit costs one start tag read again (``track_repeats``).
_SEEN_BITS_PER_BYTE = 0.5
_SEEN_BITS_MAX = 1 << 28

Identity = Tuple[str, str, str, str]  # TestId's fields, as a plain tuple on the hot path
# Told of each testcase the scan only counts, as it is read: its identity, outcome (passed or
# skipped) and ``time`` attribute. The history records these; a later repeat of the same identity
# may make it tracked after all (``_Scanner.track_repeats``), so a consumer leaves out the tracked
# ones.
UntrackedSink = Callable[[Identity, Outcome, Optional[str]], None]
_UNTRACKED_OUTCOMES = (Outcome.PASSED, Outcome.SKIPPED)  # by _PASSED, _SKIPPED


def _first(item: Tuple[int, object]) -> int:
    return item[0]


def identity_of(attrs: Dict[str, str], suite: str) -> Identity:
    """A testcase's identity from its attributes and the name of the nearest enclosing
    <testsuite> (not a <testsuites>: merged shards share one such root, so a testcase straight in
    a shard's root must not take that root's name). The one place that says what a test is."""
    return (attrs.get("classname", ""), attrs.get("name", ""), attrs.get("file", ""), suite)


@dataclass(frozen=True)
class AlsoTrack:
    """Testcases to track though they passed once (new tests, rerun to see if they are flaky):
    the hash() of each one's identity, and ``wants``, which confirms an identity."""

    hashes: Set[int]
    wants: Callable[[Identity], bool]


# Asked once the pass is over, given the identities tracked so far: which other testcases to track.
AlsoTracker = Callable[[Iterable[Identity]], Optional[AlsoTrack]]


class Watch:
    """Names of tests that need attention even when they passed once (more passes, quarantine).

    A plain set lookup, because the reader asks it for every testcase of the report.
    """

    def __init__(self, names: Iterable[str], everything: bool = False) -> None:
        self.names = frozenset(names)
        self.everything = everything


def _is_watched(name: str, names: frozenset) -> bool:
    """``name`` or its base name (without ``[params]``) is among ``names``."""
    if name in names:
        return True
    bracket = name.find("[")
    return bracket > 0 and name[:bracket] in names


@dataclass
class ReportFile:
    path: Path
    encoding: str  # Python codec name of the bytes on disk
    root_tag: str = ""
    root_start: int = 0
    root_end_event: int = 0  # expat's offset at the root's end event (see element_end)
    size: int = 0
    stamp: Tuple[int, int, int] = (0, 0, 0)  # the file as read (_stamp): Snippets refuses one that changed since


@dataclass
class Suite:
    """A <testsuite> or <testsuites> element and the untracked testcases directly in it."""

    file: int
    parent: int  # index in Scan.suites, -1 for none
    tag: str
    attrs: List[Tuple[str, str]]
    start: int
    end_event: int = 0
    passed: int = 0
    skipped: int = 0
    # <failure>/<error> directly in the suite (a failed suite setup, as Jenkins' fixtures have)
    own_failures: int = 0
    own_errors: int = 0
    identity_name: str = ""  # the suite part of the identity of a testcase in it (see identity_of)
    # Its testcases merged into an earlier one of their test (``PassedRepeats``): neither passed
    # nor tracked here any more, but testcases of the suite all the same (``_counts_out_reruns``).
    merged_away: int = 0


class Occurrence:
    """One <testcase> element of a tracked test. A class with slots, not a dataclass: there is
    one per testcase of every tracked test (200,000 when two shards repeat 100,000 tests), and
    slots take a third of the memory and of the time to make one."""

    __slots__ = ("file", "suite", "start", "end_event", "bare", "time", "end", "outputs")

    def __init__(
        self, file: int, suite: int, start: int, end_event: Optional[int],
        bare: Optional[Element] = None, end: Optional[int] = None,
    ) -> None:
        self.file = file
        self.suite = suite  # -1 when the testcase is outside any suite
        self.start = start
        self.end_event = end_event  # expat's offset at the end event; None if not recorded
        # When the testcase holds nothing (a pass, which needs no reading again), seen when its
        # repeat was confirmed: either the whole testcase as an element when it is one
        # self-closing tag (``bare``, which the writer rewrites when it is the first of its test),
        # or, for a later one holding nothing but blanks, held flat by its ``time`` attribute
        # alone ("" when it has none).
        self.bare = bare
        self.time: Optional[str] = None
        self.end = end  # just past the element, once known (``Snippets.end_of``)
        # Where the scan saw its <system-out>/<system-err> children (each one's start and
        # expat's offset at its end event), so that reading its attempts can skip their content
        # (``Snippets.testcase_outline``); None when not recorded.
        self.outputs: Optional[List[Tuple[int, int]]] = None

    @property
    def holds_nothing(self) -> bool:
        """Known to hold nothing but blanks: a pass (see ``bare`` and ``time``)."""
        return self.bare is not None or self.time is not None

    def __repr__(self) -> str:
        return f"Occurrence(file={self.file}, suite={self.suite}, start={self.start}, end={self.end})"


class StartTag(NamedTuple):
    """A testcase's start tag as ``track_repeats`` reads it again (``Snippets.testcase_tags``)."""

    identity: Identity
    bare: Optional[Element]  # the tag as an element when it is the whole testcase (self-closing)
    size: int  # bytes
    element: Element  # the tag as an element, without children


class PassedRepeats(NamedTuple):
    """A test that passed in several suites and did nothing else: overlapping shards, a job run
    twice. It is not watched (``Watch``), so passing decides it, however often it ran: it needs
    no attempts and no result. The writer writes its first testcase with the times added up and
    drops the others. Held so, not as a tracked test, because tracking took three quarters
    of the time of merging two shards that repeat every test."""

    first: Element  # the first testcase, whole: its start tag, and as text the blanks it holds
    places: List[Tuple[int, int, int]]  # (file, start, end) of each testcase, the first one first
    times: Tuple[Optional[str], ...]  # each testcase's ``time`` attribute, in the same order


@dataclass
class Scan:
    files: List[ReportFile]
    suites: List[Suite]
    tracked: Dict[TestId, List[Occurrence]]  # in order of first appearance
    loose_passed: int = 0  # untracked testcases outside any suite
    loose_skipped: int = 0
    testcases: int = 0  # <testcase> elements read, tracked or not
    # Counted among the untracked tests (a passed test each, in its first testcase's suite).
    passed_repeats: List[PassedRepeats] = field(default_factory=list)

    @property
    def untracked_passed(self) -> int:
        return self.loose_passed + sum(s.passed for s in self.suites)

    @property
    def untracked_skipped(self) -> int:
        return self.loose_skipped + sum(s.skipped for s in self.suites)


def expand(patterns: Sequence[str]) -> List[Path]:
    """Files and globs (``**`` included) to a list of files, in the order given, without repeats."""
    paths: List[Path] = []
    seen = set()  # resolved, so that "a.xml" and "./a.xml" are one file
    for pattern in patterns:
        if not pattern:  # Path("") is the current folder
            raise JunitFlakyError("a REPORT argument is empty (a variable that is not set?)")
        if glob.has_magic(pattern):
            # Files only: results/* may match a folder beside the reports, as ** matches every folder.
            matches = sorted(match for match in glob.glob(pattern, recursive=True) if not os.path.isdir(match))
            if not matches:
                raise JunitFlakyError(f"{pattern}: no file matches this pattern")
        else:
            matches = [pattern]
        for match in matches:
            path = Path(match)
            try:
                is_file = path.is_file()
            except OSError as exc:  # a name too long, a folder the user cannot read
                raise JunitFlakyError(f"{match}: cannot read: {exc.strerror}") from None
            if not is_file:
                raise JunitFlakyError(f"{match}: {_not_a_report(path)}")
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                paths.append(path)
    return paths


def _not_a_report(path: Path) -> str:
    if path.is_dir():
        return f"is a folder, not a report (a glob such as '{path / '**' / '*.xml'}' names those in it)"
    if path.exists():  # `run <(curl ...)`: the written report copies the input's bytes, read again
        return "is not a file (a pipe or a device): junit-flaky reads a report more than once; save it to a file first"
    return "no such file"


_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
# Encodings that switch state with escape sequences: ASCII-looking bytes mean other characters.
_STATEFUL = ("iso2022", "utf_7", "hz")


def _declared_encoding(head: bytes) -> Optional[str]:
    match = _DECLARED_ENCODING.match(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _codec(declared: Optional[str], head: bytes, path: Path) -> str:
    """The codec of a report. Byte-level editing needs an ASCII-compatible encoding, and expat
    reads only UTF-8 and single-byte encodings: a multi-byte (Shift_JIS, EUC-JP) or stateful
    (ISO-2022-JP) one is refused here, before expat fails on it with something less clear."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x00<", b"<\x00")):
        raise JunitFlakyError(f"{path}: UTF-16/UTF-32 reports are not supported; write UTF-8")
    if not declared:
        return "utf-8"
    try:
        name = codecs.lookup(declared).name
        ascii_compatible = "<testsuite>".encode(name, "strict") == b"<testsuite>"
        single_byte = not name.startswith(_STATEFUL) and _decodes_byte_by_byte(name)
    except (LookupError, ValueError):  # "rot13" and "base64" are Python codecs, not encodings
        raise JunitFlakyError(f"{path}: unknown encoding {declared!r}") from None
    if not ascii_compatible or name.startswith(("utf-16", "utf-32")):
        raise JunitFlakyError(f"{path}: encoding {declared} is not supported; write UTF-8")
    if name != "utf-8" and not single_byte:
        raise JunitFlakyError(f"{path}: encoding {declared} is not supported (multi-byte or stateful); write UTF-8")
    return name


def _decodes_byte_by_byte(name: str) -> bool:
    """Each byte is one character whatever comes around it, as expat reads a non-UTF-8 encoding
    and as the writer cuts the file (unicode_escape reads "\\xe9" as one character)."""
    table = bytes(range(256))
    with warnings.catch_warnings():  # unicode_escape warns of the escapes it finds in the table
        warnings.simplefilter("ignore", DeprecationWarning)
        return table.decode(name, "replace") == "".join(table[i : i + 1].decode(name, "replace") for i in range(256))


class _Rejected(Exception):
    """Raised from inside expat handlers; ``_parse`` adds file, line and column."""


def _doctype(*args: object) -> None:
    raise _Rejected("DOCTYPE is not allowed in a JUnit report (it could load files or expand entities)")


def _entity(*args: object) -> None:  # unreachable without a DOCTYPE; a second lock
    raise _Rejected("entity declarations are not allowed in a JUnit report")


_CALLER_HANDLERS = (
    "StartElementHandler", "EndElementHandler", "CharacterDataHandler", "CommentHandler", "ProcessingInstructionHandler",
)


def _parse(path: Path, report: ReportFile) -> Iterator[Optional["expat.XMLParserType"]]:
    """The one way a report file is parsed: first yields the guarded expat parser for the caller
    to add its element handlers to, then None after each chunk parsed (handlers may have collected
    something by then). Sets ``report``'s encoding and size. Every problem is a JunitFlakyError
    naming the file, and the line and column where there is one."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise JunitFlakyError(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        head = handle.read(1024)
        handle.seek(0)
        report.encoding = _codec(_declared_encoding(head), head, path)
        stat = os.fstat(handle.fileno())
        report.size, report.stamp = stat.st_size, _stamp(stat)
        parser = expat.ParserCreate()
        parser.XmlDeclHandler = lambda version, encoding, standalone: setattr(
            report, "encoding", _codec(encoding, head, path)
        )
        parser.StartDoctypeDeclHandler = _doctype
        parser.EntityDeclHandler = _entity
        yield parser
        try:
            while True:
                chunk = handle.read(CHUNK)
                parser.Parse(chunk, not chunk)
                yield None
                if not chunk:
                    break
        except expat.ExpatError as exc:
            message = expat.ErrorString(exc.code)
            raise JunitFlakyError(f"{path}:{exc.lineno}:{exc.offset + 1}: malformed XML: {message}") from None
        except OSError as exc:
            raise JunitFlakyError(f"{path}: cannot read: {exc.strerror}") from None
        except _Rejected as exc:
            line, column = parser.CurrentLineNumber, parser.CurrentColumnNumber + 1
            raise JunitFlakyError(f"{path}:{line}:{column}: {exc}") from None
        finally:
            # The caller's handlers may refer to the parser (the scan's read its byte index): a
            # reference cycle, which kept everything they hold alive to the end of the command
            # (the scan's arrays and repeat filter, 40 MB for a million testcases), as cyclic
            # collection is paused while reports are read.
            for handler in _CALLER_HANDLERS:
                setattr(parser, handler, None)


class _Scanner:
    """The expat handlers of the single pass: the hot path, a few attribute reads per testcase."""

    def __init__(self, watch: Optional[Watch], on_untracked: Optional[UntrackedSink] = None, size: int = 0) -> None:
        self.watch = watch
        self.on_untracked = on_untracked
        self.files: List[ReportFile] = []
        self.suites: List[Suite] = []
        self.tracked: Dict[Identity, List[Occurrence]] = {}
        # Flat arrays over the untracked testcases: 20 bytes each (8 more for a skipped one), so a
        # million cost ~20 MB.
        self.hashes = array("q")
        self.plain_start = array("q")
        # expat's offset at the end event, after the start: a repeat found later needs no parse
        # to find its end (``Snippets.element_end``); _NO_END when it does not fit.
        self.plain_end = array("I")
        # Where each untracked testcase is (a suite's index, or -(file index + 1) outside any
        # suite): the value in ``where_is`` from the position in ``where_at`` (an index into the
        # arrays, ascending) where it was last set, at each file's and suite's start and end
        # (``wheres``). Logged per suite rather than kept per testcase, as are the skipped ones'
        # indices (ascending): an append per testcase each was a twentieth of the scan.
        self.where_at = array("q")
        self.where_is = array("q")
        self.skipped = array("q")
        self.loose = [0, 0]  # by kind, outside any suite (``count_untracked``)
        # Where each suite's and file's untracked testcases begin and end in the arrays, counted
        # once the files are read rather than per testcase.
        self.suite_first: List[int] = []
        self.suite_last: List[int] = []
        self.file_ranges: List[Tuple[int, int]] = []
        self.tracked_occurrences = 0  # testcases read while tracked; the others are in the arrays
        # Repeats are found as they are read, in bounded memory: a bit per identity hash (a
        # Bloom filter with one hash) says "maybe seen before", and the hashes that hit a set bit
        # are ``maybe_repeated``; only those are confirmed by identity (``track_repeats``). This
        # replaced sorting every hash after the scan: 0.5 s of CPU for a million testcases.
        bits = min(1 << max(16, int(size * _SEEN_BITS_PER_BYTE).bit_length()), _SEEN_BITS_MAX)
        self.seen = bytearray(bits >> 3)
        self.seen_mask = bits - 1
        self.maybe_repeated: set = set()
        # Per untracked testcase that hit a set bit, by its index in the arrays: its identity and
        # time attribute, so that a repeat needs no reading again to be confirmed and merged.
        self.later: Dict[int, Tuple[Identity, Optional[str]]] = {}
        self.passed_repeats: List[PassedRepeats] = []

    @property
    def testcases(self) -> int:
        """<testcase> elements read so far, tracked or not."""
        return len(self.hashes) + self.tracked_occurrences

    # -- per file ---------------------------------------------------------------------------------

    def scan_file(self, path: Path) -> None:
        report = ReportFile(path, "utf-8")
        self.files.append(report)
        seen_before = (len(self.suites), self.testcases)
        first = len(self.hashes)
        for parser in _parse(path, report):
            if parser is not None:
                parser.StartElementHandler, parser.EndElementHandler = self.handlers(parser)
        self.file_ranges.append((first, len(self.hashes)))
        if report.root_tag not in SUITE_TAGS and (len(self.suites), self.testcases) == seen_before:
            raise JunitFlakyError(
                f"{path}:1:1: not a JUnit report: root element <{report.root_tag}>"
                " holds no <testsuite> or <testcase>"
            )

    # -- element events ---------------------------------------------------------------------------

    def handlers(self, parser: "expat.XMLParserType") -> Tuple[Callable, Callable]:
        """The start and end handlers of one file.

        They run once per element of a possibly huge file, so they are closures over local
        state rather than methods (cell variables cost less than attribute lookups), and a
        testcase that passed takes the fewest steps: its start and end come first in each,
        and everything else (suites, the root, prefixed tags) is left to ``outside_start`` and
        ``outside_end``. This is most of the reader's time.
        """
        report = self.files[-1]
        file_index = len(self.files) - 1
        suites, tracked = self.suites, self.tracked
        watch_all = self.watch is not None and self.watch.everything
        watch_names = self.watch.names if self.watch is not None else frozenset()
        watching = watch_all or bool(watch_names)
        # The open suites, innermost last: (index, the suite part of a test's identity, depth).
        open_suites: List[Tuple[int, str, int]] = []
        current, suite_name = -1, ""  # the innermost's index and identity name; -1, "" outside any
        hashes, starts, ends, skipped = self.hashes, self.plain_start, self.plain_end, self.skipped
        where_at, where_is = self.where_at, self.where_is

        def now_in(where: int) -> None:
            """The untracked testcases read from here on are in ``where`` (see ``where_at``)."""
            where_at.append(len(hashes))
            where_is.append(where)

        now_in(-1 - file_index)
        suite_first, suite_last = self.suite_first, self.suite_last
        depth = 0  # elements open outside any testcase
        tc_depth = tc_start = 0  # inside a testcase: its depth (1 for the testcase) and start
        # The testcase's outcome so far (_PASSED.._ERROR), or _TRACK: tracked once it is _FAILED or more.
        tc_state, tc_key = _PASSED, ("", "", "", "")
        sink, tc_attrs = self.on_untracked, {}
        # The testcase's <system-out>/<system-err> children: the open one's start (-1 for none),
        # then (start, end event) of each one read; entries of earlier testcases are cleared
        # when the next one is added (a reset per testcase would cost every testcase a step).
        output_start, outputs = -1, []
        seen, seen_mask, maybe_repeated, later = self.seen, self.seen_mask, self.maybe_repeated, self.later

        def start(tag: str, attrs: Dict[str, str]) -> None:
            nonlocal tc_depth, tc_start, tc_state, tc_key, tc_attrs, output_start
            if tc_depth:
                tc_depth += 1
                if tc_depth == 2:  # a child of the testcase: its tag is the outcome
                    if ":" in tag:  # j:failure is a failure: tags are read by local name (junit_element)
                        tag = local_name(tag)
                    outcome = _CHILD_OUTCOME.get(tag)
                    if outcome is not None:
                        if outcome > tc_state:  # error > failure > skipped > passed
                            tc_state = outcome
                    elif tag in INTERIM_TAGS:
                        tc_state = _TRACK
                    elif tag in OUTPUT_TAGS:
                        output_start = parser.CurrentByteIndex
                return
            if (tag != "testcase" or not depth) and not outside_start(tag, attrs):
                return
            tc_depth = 1
            tc_start = parser.CurrentByteIndex
            tc_key = identity_of(attrs, suite_name)
            tc_state = _TRACK if watching and (watch_all or _is_watched(tc_key[1], watch_names)) else _PASSED
            tc_attrs = attrs

        def outside_start(tag: str, attrs: Dict[str, str]) -> bool:
            """An element outside any testcase; True if it is a testcase (then ``depth`` does not count it)."""
            nonlocal depth, current, suite_name
            tag = local_name(tag)
            if not depth:
                report.root_tag = tag
                report.root_start = parser.CurrentByteIndex
            if tag == "testcase":
                return True
            depth += 1
            if tag in SUITE_TAGS:
                # Only a <testsuite> names a test's suite: merged shards share one <testsuites>
                # root, so a testcase straight in a shard's root must not take that root's name.
                if tag == "testsuite":
                    suite_name = attrs.get("name", "")
                # expat fills the dict in document order, so the writer keeps the attribute order.
                suites.append(Suite(file_index, current, tag, list(attrs.items()), parser.CurrentByteIndex, identity_name=suite_name))
                current = len(suites) - 1
                now_in(current)
                open_suites.append((current, suite_name, depth))
                suite_first.append(len(hashes))
                suite_last.append(0)
            elif (tag == "failure" or tag == "error") and open_suites and open_suites[-1][2] == depth - 1:
                suite = suites[current]
                if tag == "failure":
                    suite.own_failures += 1
                else:
                    suite.own_errors += 1
            return False

        def end(tag: str) -> None:
            nonlocal tc_depth, output_start
            if not tc_depth:
                outside_end(tag)
                return
            tc_depth -= 1
            if tc_depth:
                if output_start >= 0 and tc_depth == 1:  # the end of a <system-out>/<system-err>
                    if outputs and outputs[0][0] < tc_start:
                        outputs.clear()  # an earlier testcase's
                    outputs.append((output_start, parser.CurrentByteIndex))
                    output_start = -1
                return
            if not depth:  # the testcase is the root
                report.root_end_event = parser.CurrentByteIndex
            # Every tracked identity has its bit set in the filter, so only a testcase whose bit
            # is set can be one more of a tracked test: most testcases need no look-up in the
            # tracked tests.
            digest = hash(tc_key)
            bit = digest & seen_mask
            index, flag = bit >> 3, 1 << (bit & 7)
            bits = seen[index]
            if bits & flag:
                occurrences = tracked.get(tc_key)
                if occurrences is not None:  # one more testcase of a tracked test
                    occurrences.append(tracked_here())
                    return
                # An untracked testcase of the same identity may have been read before.
                maybe_repeated.add(digest)
                if tc_state < _FAILED:  # maybe a repeat (``track_repeats``)
                    later[len(hashes)] = (tc_key, tc_attrs.get("time"))
            else:
                seen[index] = bits | flag
            # The first testcase of its identity that is tracked, or an untracked one: an
            # untracked testcase of the same identity read later is a repeat.
            if tc_state:
                if tc_state >= _FAILED:
                    tracked[tc_key] = [tracked_here()]
                    return
                skipped.append(len(hashes))  # _SKIPPED: the only other outcome of an untracked testcase
            if sink is not None:
                sink(tc_key, _UNTRACKED_OUTCOMES[tc_state], tc_attrs.get("time"))
            hashes.append(digest)
            starts.append(tc_start)
            try:
                ends.append(parser.CurrentByteIndex - tc_start)
            except OverflowError:  # a testcase of 4 GiB or more: found by parsing if needed
                ends.append(_NO_END)

        def tracked_here() -> Occurrence:
            """The testcase that just ended, as an occurrence of a tracked test."""
            self.tracked_occurrences += 1
            occurrence = Occurrence(file_index, current, tc_start, parser.CurrentByteIndex)
            if outputs and outputs[-1][0] > tc_start:
                occurrence.outputs = [output for output in outputs if output[0] > tc_start]
            return occurrence

        def outside_end(tag: str) -> None:
            nonlocal depth, current, suite_name
            depth -= 1
            if not depth:
                report.root_end_event = parser.CurrentByteIndex
            if local_name(tag) in SUITE_TAGS:
                suites[current].end_event = parser.CurrentByteIndex
                suite_last[current] = len(hashes)
                open_suites.pop()
                current, suite_name, _ = open_suites[-1] if open_suites else (-1, "", 0)
                now_in(current if current >= 0 else -1 - file_index)

        return start, end

    # -- after all files ----------------------------------------------------------------------------

    def skipped_in(self, first: int, last: int) -> int:
        """How many of the untracked testcases from index ``first`` to ``last`` were skipped."""
        return bisect_left(self.skipped, last) - bisect_left(self.skipped, first)

    def wheres(self, indices: Iterable[int]) -> List[int]:
        """Where each untracked testcase of ``indices`` is (see ``where_at``): one search each,
        run by ``map``, for the 100,000s a merge of overlapping shards moves."""
        where_is = self.where_is
        return [where_is[at - 1] for at in map(bisect_right, repeat(self.where_at), indices)]

    def count_untracked(self) -> None:
        """Each suite's untracked testcases (those directly in it) and those outside any suite,
        from where the arrays' ranges of suites and files begin and end: a suite's range holds
        those of the suites inside it too."""
        skipped_in = self.skipped_in
        inside = [0] * len(self.suites)  # per suite: testcases of the suites directly inside it
        skipped_inside = [0] * len(self.suites)
        loose, loose_skipped = (sum(last - first for first, last in self.file_ranges),
                                sum(skipped_in(first, last) for first, last in self.file_ranges))
        # Innermost first: a suite comes after the suite it is in.
        for index in range(len(self.suites) - 1, -1, -1):
            suite, first, last = self.suites[index], self.suite_first[index], self.suite_last[index]
            total, skipped = last - first, skipped_in(first, last)
            suite.skipped = skipped - skipped_inside[index]
            suite.passed = total - inside[index] - suite.skipped
            if suite.parent >= 0:
                inside[suite.parent] += total
                skipped_inside[suite.parent] += skipped
            else:
                loose -= total
                loose_skipped -= skipped
        self.loose = [loose - loose_skipped, loose_skipped]

    def track_repeats(self, snippets: "Snippets", also: Optional[AlsoTrack] = None) -> None:
        """Move untracked testcases whose identity appears again into the tracked tests.

        A testcase that passed once looked untracked when it was read; it is a repeat if its
        identity is tracked (it failed elsewhere) or it passed more than once (overlapping shards,
        reruns). The scan kept the hashes that may be repeated; those testcases are confirmed by
        identity. ``also`` names more testcases to track, repeated or not. A test that passed
        once in each of several suites, each time a testcase with nothing but blanks inside (or
        a self-closing one), stays untracked (``PassedRepeats``).
        """
        wanted = self.maybe_repeated if also is None else self.maybe_repeated | also.hashes
        if not wanted:
            return
        candidates = [i for i, digest in enumerate(self.hashes) if digest in wanted]
        where_of = dict(zip(candidates, self.wheres(candidates)))
        found, read = self._identities(snippets, candidates, where_of)
        repeats: List[Tuple[Identity, List[int]]] = []  # of tests to track
        passes_only: List[Tuple[Identity, List[int]]] = []  # maybe ``PassedRepeats``
        skips = set(candidates).intersection(self.skipped)
        for key, indices in found.items():
            if self.tracked.get(key) is None and (also is None or not also.wants(key)):
                if len(indices) < 2:
                    continue  # a hash collision, not a repeat
                if skips.isdisjoint(indices):  # passes
                    wheres = [where_of[i] for i in indices]
                    # In as many suites as testcases: two in one suite may be a rerun that pytest-
                    # rerunfailures wrote as a pass (``junit_attempts._counts_out_reruns``).
                    if min(wheres) >= 0 and len(set(wheres)) == len(wheres):
                        passes_only.append((key, indices))
                        continue
            repeats.append((key, indices))
        repeats += self._hold_passed_repeats(snippets, passes_only, read, where_of)
        self._track(snippets, repeats, read, where_of)

    def _identities(
        self, snippets: "Snippets", candidates: List[int], where_of: Dict[int, int],
    ) -> Tuple[Dict[Identity, List[int]], Dict[int, StartTag]]:
        """The ``candidates`` (indices in the arrays) by identity, in document order, and the
        start tags read to know them, by index. The scan kept the
        identity of a testcase that hit a set bit (``later``); the others' start tags are read,
        and so is the first testcase of every repeated identity, whatever the filter did: the
        writer needs it whole (``PassedRepeats``)."""
        suites, later, start_of = self.suites, self.later, self.plain_start
        file_of = [suite.file for suite in suites]
        read: Dict[int, StartTag] = {}

        def read_tags(indices: List[int]) -> None:
            for first in range(0, len(indices), _TAGS_AT_ONCE):
                batch = indices[first : first + _TAGS_AT_ONCE]
                wheres = [where_of[i] for i in batch]
                places = [(file_of[w] if w >= 0 else -1 - w, start_of[i]) for i, w in zip(batch, wheres)]
                for i, where, (tag, bare, size) in zip(batch, wheres, snippets.testcase_tags(places)):
                    read[i] = StartTag(identity_of(tag.attrib, suites[where].identity_name if where >= 0 else ""), bare, size, tag)

        read_tags([i for i in candidates if i not in later])
        found: Dict[Identity, List[int]] = {}
        for i in candidates:
            kept = later.get(i)
            key = kept[0] if kept is not None else read[i].identity
            indices = found.get(key)
            if indices is None:
                found[key] = [i]
            else:
                indices.append(i)
        read_tags(sorted(indices[0] for indices in found.values() if len(indices) > 1 and indices[0] not in read))
        return found, read

    def _track(
        self, snippets: "Snippets", repeats: List[Tuple[Identity, List[int]]],
        read: Dict[int, StartTag], where_of: Dict[int, int],
    ) -> None:
        """Track the ``repeats`` (each test by its testcases' indices in the arrays) with the
        occurrences they had tracked already, and take them off their suites' counts."""
        suites, tracked, start_of, end_of = self.suites, self.tracked, self.plain_start, self.plain_end
        moved: List[int] = []
        flat: List[Tuple[int, Occurrence]] = []  # later testcases of a repeated test whose identity the scan kept
        for key, indices in repeats:
            known = tracked.get(key)
            moved += indices
            occurrences: List[Occurrence] = []
            kept: List[Tuple[int, Occurrence]] = []  # those whose identity the scan kept
            for i in indices:
                where, start, end = where_of[i], start_of[i], end_of[i]
                occurrence = Occurrence(
                    suites[where].file if where >= 0 else -1 - where, where if where >= 0 else -1, start,
                    None if end == _NO_END else start + end,
                )
                tag = read.get(i)
                if tag is None:
                    kept.append((i, occurrence))
                elif tag.bare is not None:
                    occurrence.bare, occurrence.end = tag.bare, start + tag.size
                occurrences.append(occurrence)
            if known is None:  # read in document order
                tracked[key] = known = occurrences
            else:
                known.extend(occurrences)
                known.sort(key=lambda o: (o.file, o.start))
            # The first is written back as an element, so it is read whatever it is.
            flat += [item for item in kept if item[1] is not known[0]]
        # No longer untracked: taken off their suites' counts, counted together.
        skipped_in = Counter(map(where_of.__getitem__, set(moved).intersection(self.skipped)))
        for where, count in Counter(map(where_of.__getitem__, moved)).items():
            skipped = skipped_in[where]
            if where < 0:
                self.loose[_PASSED] -= count - skipped
                self.loose[_SKIPPED] -= skipped
            else:
                suites[where].passed -= count - skipped
                suites[where].skipped -= skipped
        self._hold_flat(snippets, sorted(flat, key=_first))

    def _hold_passed_repeats(
        self, snippets: "Snippets", tests: List[Tuple[Identity, List[int]]],
        read: Dict[int, StartTag], where_of: Dict[int, int],
    ) -> List[Tuple[Identity, List[int]]]:
        """Keep as ``PassedRepeats`` the ``tests`` (each by its testcases' indices in the arrays,
        the first one's start tag read) whose testcases all hold nothing but blanks; returns the
        others, to track. A later testcase hit a set bit of the filter, so the scan kept its
        identity and time (``later``): taken from there as each test is held, so that they are
        not all in memory twice. The later ones no longer count in their suites."""
        suites, start_of, end_of, later = self.suites, self.plain_start, self.plain_end, self.later
        # Those not known to be self-closing: every later one, and a first one that is not.
        unknown = sorted(i for _, indices in tests for i in (indices if read[indices[0]].bare is None else indices[1:]))
        blank: Dict[int, Optional[Tuple[int, str]]] = {}  # by index: just past it and its text, if blank
        for file, (first, last) in enumerate(self.file_ranges):  # each file's indices are a range
            indices = unknown[bisect_left(unknown, first) : bisect_left(unknown, last)]
            places = [(start_of[i], None if end_of[i] == _NO_END else start_of[i] + end_of[i]) for i in indices]
            blank.update(zip(indices, snippets.blank_testcases(file, places)))
        others = []
        merged_away: List[int] = []  # the suite of each later testcase merged
        for key, indices in tests:
            first, rest = indices[0], indices[1:]
            tag = read[first]
            # Just past the first testcase, and the blanks it holds: written so, as build_testcase does.
            first_blank = (start_of[first] + tag.size, "") if tag.bare is not None else blank[first]
            if first_blank is None or None in map(blank.__getitem__, rest):
                others.append((key, indices))
                continue
            element = tag.element
            end, element.text = first_blank
            places = [(suites[where_of[first]].file, start_of[first], end)]
            places += [(suites[where_of[i]].file, start_of[i], blank[i][0]) for i in rest]
            merged_away += map(where_of.__getitem__, rest)
            self.passed_repeats.append(PassedRepeats(element, places, (element.get("time"), *(later.pop(i)[1] for i in rest))))
        for where, count in Counter(merged_away).items():
            suites[where].passed -= count
            suites[where].merged_away += count
        return others

    def _hold_flat(self, snippets: "Snippets", flat: List[Tuple[int, Occurrence]]) -> None:
        """Repeats that hold nothing but blanks (a pass with nothing inside) are held by their
        time attribute and their end alone: no element, no reading again. They are read as
        ``PassedRepeats`` are (``Snippets.blank_testcases``), not parsed: a parse each was half
        the time of merging shards that repeat every test."""
        later = self.later
        for file, group in groupby(flat, key=lambda item: item[1].file):
            repeats = list(group)
            places = [(occurrence.start, occurrence.end_event) for _, occurrence in repeats]
            for (i, occurrence), blank in zip(repeats, snippets.blank_testcases(file, places)):
                if blank is not None:
                    occurrence.time = later[i][1] or ""
                    occurrence.end = blank[0]


def _stamp(stat: os.stat_result) -> Tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


class Snippets:
    """Random access to the elements of the scanned files by byte offset, as they were read."""

    def __init__(self, files: List[ReportFile]) -> None:
        self.files = files
        self._handles: Dict[int, BinaryIO] = {}

    def __enter__(self) -> "Snippets":
        # Offsets found in a file that has changed since (a test step still writing it, a rerun
        # writing its own report there) point elsewhere: what was decided would be written into
        # text it does not belong to.
        for file in self.files:
            try:
                changed = _stamp(os.stat(file.path)) != file.stamp
            except OSError as exc:
                raise JunitFlakyError(f"{file.path}: cannot read: {exc.strerror}") from None
            if changed:
                raise JunitFlakyError(
                    f"{file.path}: changed while junit-flaky ran; nothing written: run it once whatever writes this report is done"
                )
        return self

    def __exit__(self, *exc_info: object) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def read(self, file: int, offset: int, size: int) -> bytes:
        handle = self._handles.pop(file, None)
        if handle is None:
            if len(self._handles) >= OPEN_FILES:
                self._handles.pop(next(iter(self._handles))).close()  # the least recently read
            handle = open(self.files[file].path, "rb")
        self._handles[file] = handle  # last: the most recently read
        handle.seek(offset)
        return handle.read(size)

    def start_tag(self, file: int, offset: int) -> Tuple[bytes, bool]:
        """The start tag at ``offset`` and whether it is self-closing (``<x/>``).

        Attribute values may hold a raw ``>``, so the match skips quoted text.
        """
        window = 512
        while True:
            data = self.read(file, offset, window)
            match = _START_TAG_REST.match(data, 1)
            if match is not None:
                end = match.end()
                return data[:end], data[end - 2] == 0x2F  # /
            if len(data) < window:
                raise JunitFlakyError(f"{self.files[file].path}: truncated tag at byte {offset}")
            window *= 4

    def element_end(self, file: int, start: int, end_event: Optional[int]) -> int:
        """The offset just past an element, from its start and expat's offset at its end event
        (the start of ``</x>``, or just past a self-closing ``<x/>``); without that offset the
        element is parsed from its start until it closes."""
        tag, self_closing = self.start_tag(file, start)
        if self_closing:
            return start + len(tag)
        if end_event is None:
            end_event = self._end_event_by_parsing(file, start)
        window = 4096
        while True:  # an end tag may hold any amount of whitespace before its ">"
            data = self.read(file, end_event, window)
            close = data.find(b">")
            if close >= 0:
                return end_event + close + 1
            if len(data) < window:
                raise JunitFlakyError(f"{self.files[file].path}: truncated end tag at byte {end_event}")
            window *= 4

    def _end_event_by_parsing(self, file: int, start: int) -> int:
        parser = expat.ParserCreate(self.files[file].encoding)
        depth = [0]
        ends: List[int] = []

        def enter(tag: str, attrs: object) -> None:
            depth[0] += 1

        def leave(tag: str) -> None:
            depth[0] -= 1
            if depth[0] == 0:
                ends.append(parser.CurrentByteIndex)

        parser.StartElementHandler, parser.EndElementHandler = enter, leave
        offset = start
        while not ends:
            chunk = self.read(file, offset, CHUNK)
            if not chunk:
                raise JunitFlakyError(f"{self.files[file].path}: element at byte {start} does not close")
            try:
                parser.Parse(chunk, False)
            except expat.ExpatError:
                if not ends:  # the text after the element is not part of it; only this counts
                    raise
            offset += len(chunk)
        return start + ends[0]

    def start_tags(self, file: int, offsets: Sequence[int]) -> Iterator[Tuple[bytes, bool]]:
        """``start_tag`` at each of ``offsets`` (ascending), reading the tags close together
        with one read: a read per tag took a third of confirming the repeats of merged shards."""
        data, data_start = b"", 0
        for n, offset in enumerate(offsets):
            at = offset - data_start
            match = _START_TAG_REST.match(data, at + 1) if 0 <= at < len(data) else None
            if match is None:  # not read yet, or cut short by the end of what was read
                last = bisect_left(offsets, offset + _READ_AHEAD, n) - 1
                data, data_start, at = self.read(file, offset, offsets[last] - offset + 512), offset, 0
                match = _START_TAG_REST.match(data, 1)
                if match is None:  # longer than what was read
                    yield self.start_tag(file, offset)
                    continue
            end = match.end()
            yield data[at:end], data[end - 2] == 0x2F  # /

    def blank_testcases(self, file: int, places: Sequence[Tuple[int, Optional[int]]]) -> Iterator[Optional[Tuple[int, str]]]:
        """For each (start, expat's offset at its end event) of a testcase, in ascending starts:
        if it holds nothing but blanks (a self-closing tag holds nothing), just past it and its
        text as expat gives it (line ends made LF), else None; None too without the end event,
        or when its end tag starts more than ``_READ_AHEAD`` bytes after it (a captured output of
        any size is not read to find that out). Those close together are read with one read (``start_tags``)."""
        data, data_start = b"", 0
        for start, end_event in places:
            if end_event is None or end_event - start > _READ_AHEAD:
                yield None
                continue
            if not (data_start <= start and end_event + _END_TAG_MAX <= data_start + len(data)):
                data, data_start = self.read(file, start, _READ_AHEAD + _END_TAG_MAX), start
            event = end_event - data_start
            found = _element_in(data, start - data_start, event)
            text = data[found[0] : event] if found is not None else b""
            if found is None or text.strip(BLANKS):  # an end tag longer than read, or something inside
                yield None
                continue
            yield found[1] + data_start, text.decode("ascii").replace("\r\n", "\n").replace("\r", "\n")

    def testcase_tags(self, places: Sequence[Tuple[int, int]]) -> List[Tuple[Element, Optional[Element], int]]:
        """For each (file, offset), in ascending offsets per file: the start tag there as an
        element without children; that same element again if the tag is self-closing (then it is
        the whole element), else None; the tag's size. The tags of one file are parsed together,
        by one parser: a parser per tag took most of the time of merging shards that repeat every
        test."""
        found: List[Tuple[Element, Optional[Element], int]] = []
        for file, group in groupby(places, key=lambda place: place[0]):
            tags: List[bytes] = []
            closed: List[bool] = []
            for tag, self_closing in self.start_tags(file, [offset for _, offset in group]):
                tags.append(tag if self_closing else tag[:-1] + b"/>")
                closed.append(self_closing)
            text = b"".join((b"<tags>", *tags, b"</tags>")).decode(self.files[file].encoding)
            for tag, self_closing, element in zip(tags, closed, parse_childless(text)):
                found.append((element, element if self_closing else None, len(tag) - (not self_closing)))
        return found

    def end_of(self, occurrence: Occurrence) -> int:
        """Just past a tracked testcase (see ``element_end``), found once and kept."""
        if occurrence.end is None:
            occurrence.end = self.element_end(occurrence.file, occurrence.start, occurrence.end_event)
        return occurrence.end

    def testcase(self, occurrence: Occurrence) -> bytes:
        """A tracked testcase's bytes; its end is found (``end_of``) in the same read where the
        scan recorded its end event: a read for its start tag, one for its end tag and one for
        the element took a third of the time of reading 20,000 failures."""
        start, end_event = occurrence.start, occurrence.end_event
        if occurrence.end is None and end_event is not None:
            data = self.read(occurrence.file, start, end_event - start + _END_TAG_MAX)
            found = _element_in(data, 0, end_event - start)
            if found is not None:
                size = found[1]
                occurrence.end = start + size
                return data[:size]
        return self.read(occurrence.file, start, self.end_of(occurrence) - start)

    def testcase_outline(self, occurrence: Occurrence) -> bytes:
        """A tracked testcase's bytes without the content of its <system-out>/<system-err>
        children (their tags kept, empty): what its verdict and kept attempts are read from,
        which never hold its output. Parsing a failure's captured output was a third of reading
        20,000 failures back. Output of more than ``CHUNK`` bytes is not read at all: a test may
        capture any amount."""
        outputs = occurrence.outputs
        if outputs and sum(end_event - output_start for output_start, end_event in outputs) > CHUNK:
            return self._outline_in_pieces(occurrence)
        data = self.testcase(occurrence)
        if not outputs:
            return data
        pieces: List[bytes] = []
        position, start = 0, occurrence.start
        for output_start, end_event in occurrence.outputs:
            tag = _START_TAG_REST.match(data, output_start - start + 1)  # whole: it ends before the end event
            if tag is None or data[tag.end() - 2] == 0x2F:  # self-closing: no content to skip
                continue
            pieces.append(data[position : tag.end()])
            position = end_event - start
        pieces.append(data[position:])
        return b"".join(pieces)

    def _outline_in_pieces(self, occurrence: Occurrence) -> bytes:
        """``testcase_outline`` read piece by piece around the output children's content."""
        assert occurrence.outputs is not None
        file, position, pieces = occurrence.file, occurrence.start, []
        for output_start, end_event in occurrence.outputs:
            tag, self_closing = self.start_tag(file, output_start)
            if self_closing:  # no content to skip
                continue
            pieces.append(self.read(file, position, output_start + len(tag) - position))
            position = end_event
        pieces.append(self.read(file, position, self.end_of(occurrence) - position))
        return b"".join(pieces)


def _element_in(data: bytes, at: int, event: int) -> Optional[Tuple[int, int]]:
    """Where, in ``data``, the start tag of the element at ``at`` ends and where the element
    ends, given expat's offset at its end event (``event``: the start of its end tag, or just past
    a self-closing one); None when ``data`` does not hold them (an end tag with more blanks in it
    than was read)."""
    tag = _START_TAG_REST.match(data, at + 1)
    if tag is None or tag.end() > event:
        return None
    tag_end = tag.end()
    if data[tag_end - 2] == 0x2F:  # / : self-closing
        return tag_end, tag_end
    close = data.find(b">", event)
    return (tag_end, close + 1) if close >= 0 else None


def _total_size(paths: Sequence[Path]) -> int:
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except OSError:
            pass  # reported when the file is read
    return total


def scan(
    paths: Sequence[Path], watch: Optional[Watch] = None, on_untracked: Optional[UntrackedSink] = None,
    also_track: Optional[AlsoTracker] = None,
) -> Scan:
    """Read every report in one pass each; see the module docstring for what is kept, and
    ``UntrackedSink`` for ``on_untracked``, ``AlsoTracker`` for ``also_track``."""
    scanner = _Scanner(watch, on_untracked, size=_total_size(paths))
    for path in paths:
        scanner.scan_file(path)
    scanner.count_untracked()
    with Snippets(scanner.files) as snippets:
        scanner.track_repeats(snippets, also_track(scanner.tracked) if also_track is not None else None)
    first = lambda item: (item[1][0].file, item[1][0].start)  # noqa: E731
    tracked = {TestId(*key): occurrences for key, occurrences in sorted(scanner.tracked.items(), key=first)}
    return Scan(
        files=scanner.files,
        suites=scanner.suites,
        tracked=tracked,
        loose_passed=scanner.loose[0],
        loose_skipped=scanner.loose[1],
        testcases=scanner.testcases,
        passed_repeats=scanner.passed_repeats,
    )


@dataclass
class Testcase:
    """One <testcase> of a report, complete, as ``testcases`` streams them."""

    element: Element
    suite: Dict[str, str]  # the nearest <testsuite>'s attributes, one dict per suite; {} outside any
    # The prefixes declared around the testcase (xmlns:x on any ancestor), for a copy of it that
    # leaves the document (Test Engine's)
    prefixes: Dict[str, str]

    @property
    def test(self) -> TestId:
        """Its identity, as the scan gives it (made on demand: most readers need few)."""
        return TestId(*identity_of(self.element.attrib, self.suite.get("name", "")))


def testcases(path: Path) -> Iterator[Testcase]:
    """Every <testcase> of a report in document order, one at a time, in bounded memory: what
    the uploads read (annotations, Test Engine). Same parser, same identity as the scan."""
    suites: List[Dict[str, str]] = []  # per open suite: the attributes of the nearest <testsuite>
    found: List[Testcase] = []
    no_suite: Dict[str, str] = {}  # shared, so that testcases outside any suite group as one
    scopes: List[Dict[str, str]] = [{}]  # per open element outside the testcase: prefixes in force
    builder = TreeBuilder()
    depth = 0  # inside the open <testcase>, 0 outside one

    def start(tag: str, attrs: Dict[str, str]) -> None:
        nonlocal depth
        if depth:
            depth += 1
            builder.start(tag, attrs)
            return
        name = local_name(tag)
        if name == "testcase":
            depth = 1
            builder.top = []
            builder.start(tag, attrs)
            return
        declared = {key: value for key, value in attrs.items() if key.startswith("xmlns:")}
        scopes.append({**scopes[-1], **declared} if declared else scopes[-1])
        if name in SUITE_TAGS:
            suites.append(attrs if name == "testsuite" else suites[-1] if suites else no_suite)

    def end(tag: str) -> None:
        nonlocal depth
        if depth:
            builder.end(tag)
            depth -= 1
            if depth == 0:
                found.append(Testcase(builder.top[0], suites[-1] if suites else no_suite, scopes[-1]))
            return
        scopes.pop()
        if local_name(tag) in SUITE_TAGS:
            suites.pop()

    def data(text: str) -> None:
        if depth:
            builder.data(text)

    def comment(text: str) -> None:
        if depth:
            builder.comment(text)

    def instruction(target: str, data: str) -> None:
        if depth:
            builder.instruction(target, data)

    for parser in _parse(path, ReportFile(path, "utf-8")):
        if parser is not None:
            parser.buffer_text = True
            parser.StartElementHandler, parser.EndElementHandler = start, end
            parser.CharacterDataHandler, parser.CommentHandler = data, comment
            parser.ProcessingInstructionHandler = instruction
        yield from found
        found.clear()
