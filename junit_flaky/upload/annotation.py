"""The Buildkite annotation: the aggregated report as Markdown that fits Buildkite's 1 MiB.

Pure: reports (each with an optional link to its artifact) in, Markdown and a style out.
Failed tests come first, with every failed attempt (type, message, the stack trace folded in a
``<details>``); quarantined tests that failed next, shown the same way (they do not fail the
build: the style is a warning); flaky tests follow, one line each. When the whole does not fit, detail goes step
by step: stack traces cut to their head and tail, then no traces, then names only, then as many
names as fit and "N more".
"""

from __future__ import annotations

import enum
import functools
import html
import re
from collections import Counter
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from junit_flaky import tokens
from junit_flaky.codeowners import OwnerLookup
from junit_flaky.junit_attempts import recorded_verdict
from junit_flaky.junit_read import Testcase
from junit_flaky.model import Verdict
from junit_flaky.upload.context import Context
from junit_flaky.upload.reports import Failure, Report, failed_attempts, verdict_note
from junit_flaky.verdicts import plural

MAX_BYTES = 1024 * 1024  # Buildkite's limit on an annotation body, counted in UTF-8 bytes
TRACE_CUT = 4000  # characters of a stack trace kept once traces must shrink: head and tail
MESSAGE_CUT = 300
_NAME_ONLY = len("- ****")  # the fewest bytes a listed test takes: a bare name

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that can start
# emphasis, links, code, headings, list items, tables, strikethrough or Buildkite's :emoji:.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


class Detail(enum.IntEnum):
    FULL = 0
    CUT_TRACES = 1
    NO_TRACES = 2
    NAMES = 3


@dataclass(frozen=True)
class Annotation:
    markdown: str
    style: str  # "success" | "warning" | "error", as buildkite-agent annotate --style takes it


@dataclass(frozen=True)
class _Test:
    name: str  # the test's id as shown, secrets hidden
    verdict: Verdict
    attempts: List[Failure]  # as the report lists them (``failed_attempts``)
    link: Optional[str]
    note: str = ""  # a quarantined failure's skip message (why it is quarantined), then run's verdict_note
    owners: Tuple[str, ...] = ()  # from CODEOWNERS


class _Kept:
    """The tests an annotation can show, kept within what it could ever hold, so a run where
    every test failed costs no more memory than the annotation: once full traces can no longer
    fit, later ones are kept cut; once cut ones cannot, none are; past as many tests of a verdict
    as bare names could fit, they are only counted. The texts kept have every secret of ``env``
    (tokens.redact) hidden: in the values, before Markdown escapes them (``_`` as ``\\_``) or a
    cut splits them, where a search of the finished text would miss them."""

    def __init__(self, limit: int, owners: Optional[OwnerLookup] = None, env: Mapping[str, str] = MappingProxyType({})) -> None:
        self.limit = limit
        self.owners = owners
        self.env = env
        self.detail = Detail.FULL  # the most detail still possible
        self.full = self.cut = 0  # characters of trace seen, whole and cut
        self.tests: Dict[Verdict, List[_Test]] = {Verdict.FAILED: [], Verdict.QUARANTINED: [], Verdict.FLAKY: []}
        self.counts: Counter = Counter()

    def add(self, case: Testcase, link: Optional[str]) -> None:
        test_verdict = recorded_verdict(case.element)
        self.counts[test_verdict] += 1
        tests = self.tests.get(test_verdict)
        if tests is None or len(tests) > self.limit // _NAME_ONLY:
            return
        hide = functools.partial(tokens.redact, env=self.env)
        attempts = [Failure(a.tag, hide(a.type), hide(a.message), hide(a.trace)) for a in failed_attempts(case.element)]
        for attempt in attempts:
            self.full += len(attempt.trace)
            self.cut += min(len(attempt.trace), TRACE_CUT)
        if self.cut > self.limit:
            self.detail = Detail.NO_TRACES
        elif self.full > self.limit:
            self.detail = max(self.detail, Detail.CUT_TRACES)
        if self.detail is Detail.CUT_TRACES:
            attempts = [replace(attempt, trace=_cut(attempt.trace, TRACE_CUT)) for attempt in attempts]
        elif self.detail is Detail.NO_TRACES:
            attempts = [replace(attempt, trace="") for attempt in attempts]
        skip = case.element.find("skipped") if test_verdict is Verdict.QUARANTINED else None
        owners = self.owners(case.test) if self.owners else ()
        why = [skip.get("message", "") if skip is not None else "", verdict_note(case.element)]
        note = hide("; ".join(filter(None, why)))
        tests.append(_Test(hide(str(case.test)), test_verdict, attempts, link, note, owners))


def build(
    reports: Sequence[Tuple[Report, Optional[str]]], title: str = "junit-flaky", limit: int = MAX_BYTES,
    owners: Optional[OwnerLookup] = None, env: Mapping[str, str] = MappingProxyType({}),
) -> Annotation:
    """The annotation for these reports; ``limit`` is the most bytes the Markdown may take;
    ``owners`` gives each listed test's owners (CODEOWNERS); ``env``'s tokens are hidden."""
    kept = _Kept(limit, owners, env)
    for report, link in reports:
        for case in report.testcases():
            kept.add(case, link)
    counts = kept.counts
    if counts[Verdict.FAILED]:
        style = "error"
    elif counts[Verdict.FLAKY] or counts[Verdict.QUARANTINED]:
        style = "warning"
    else:
        style = "success"
    head = _summary(tokens.redact(title, env), counts, sum(counts.values()))
    shown = counts[Verdict.FAILED] + counts[Verdict.QUARANTINED] + counts[Verdict.FLAKY]
    for detail in (d for d in Detail if d >= kept.detail):
        blocks = _section("Failed", kept.tests[Verdict.FAILED], counts, detail)
        blocks += _section("Quarantined (failed, not failing the build)", kept.tests[Verdict.QUARANTINED], counts, detail)
        blocks += _section("Flaky", kept.tests[Verdict.FLAKY], counts, detail)
        markdown, complete = _fit(head, blocks, shown, limit)
        if complete:
            break
    return Annotation(markdown, style)


def for_ci(reports: Sequence[Tuple[Report, Optional[str]]], ctx: Context, limit: int = MAX_BYTES) -> Annotation:
    """The annotation as a CI page shows it (Buildkite's annotation, GitHub's job summary): titled
    with the job, and with every configured token hidden."""
    title = f"junit-flaky · {ctx.ci.label}" if ctx.ci.label else "junit-flaky"
    return build(reports, title=title, limit=limit, owners=ctx.owners, env=ctx.env)


def md(text: str) -> str:
    """Text safe to place in Markdown: on one line, punctuation escaped, no raw HTML."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _summary(title: str, counts: Counter, total: int) -> str:
    parts = [f"{counts[Verdict.FAILED]} failed", f"{counts[Verdict.FLAKY]} flaky"]
    if counts[Verdict.QUARANTINED]:
        parts.append(f"{counts[Verdict.QUARANTINED]} quarantined")
    parts += [f"{counts[Verdict.PASSED]} passed", f"{counts[Verdict.SKIPPED]} skipped"]
    return f"**{md(title)}**: {', '.join(parts)} ({plural(total, 'test')})"


def _section(heading: str, tests: List[_Test], counts: Counter, detail: Detail) -> List[str]:
    """One block per test; the section heading rides on the first block so it goes with it."""
    blocks = [_block(test, detail) for test in tests]
    if blocks:
        blocks[0] = f"### {heading} ({counts[tests[0].verdict]})\n\n{blocks[0]}"
    return blocks


def _block(test: _Test, detail: Detail) -> str:
    name = f"**{md(test.name)}**"
    if test.owners:
        name += f" ({md(' '.join(test.owners))})"
    if detail is Detail.NAMES:
        return f"- {name}"
    link = f' · <a href="{html.escape(test.link, quote=True)}">report</a>' if test.link else ""
    count = plural(len(test.attempts), "failed attempt")
    if test.note:
        count += f" · {md(_shorten(test.note, MESSAGE_CUT))}"
    if test.verdict is Verdict.FLAKY or detail is Detail.NO_TRACES:
        # A flaky test's failures are in the order they ran; a failed test's are not (``_attempt``).
        label = "first" if test.verdict is Verdict.FLAKY else "Failure 1"
        first = f"; {label}: {_problem(test.attempts[0])}" if test.attempts else ""
        return f"- {name}: {count}{first}{link}"
    cut = TRACE_CUT if detail is Detail.CUT_TRACES else None
    runs = (_attempt(index, attempt, cut) for index, attempt in enumerate(test.attempts, 1))
    return "\n\n".join([f"{name}: {count}{link}", *runs])


def _problem(attempt: Failure) -> str:
    """``**Type**: message``, each cut to one line."""
    kind = attempt.type or attempt.tag
    message = _shorten(attempt.message, MESSAGE_CUT)
    return f"**{md(kind)}**: {md(message)}" if message else f"**{md(kind)}**"


def _attempt(index: int, attempt: Failure, cut: Optional[int]) -> str:
    """One failed run, numbered among the test's failures as the report lists them: not by run,
    since the report's failure is the first run with details (``failed_attempts``)."""
    text = f"Failure {index}: {_problem(attempt)}"
    stack = attempt.trace.strip("\n")
    if not stack:
        return text
    if cut is not None:
        stack = _cut(stack, cut)
    # Blank lines around <pre> make it an HTML block of its own (CommonMark type 1), which only
    # ends at </pre>: blank lines inside a trace then cannot end it early, and html.escape keeps
    # the trace from closing it.
    return (
        f"{text}\n\n<details><summary>Stack trace</summary>\n\n"
        f"<pre>{html.escape(stack, quote=False)}</pre>\n\n</details>"
    )


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut(text: str, limit: int) -> str:
    """The head and the tail of a long text: Java traces say most at the top, Python's at the end."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… {len(text) - 2 * half} characters cut …\n{text[-half:]}"


def _fit(head: str, blocks: List[str], total: int, limit: int) -> Tuple[str, bool]:
    """The head and as many blocks as fit in ``limit`` bytes, then "N more" for the rest of
    ``total`` tests; and whether all of them are shown."""
    kept = [head]
    used = len(head.encode()) + 1
    for index, block in enumerate(blocks):
        more = _more(total - index)
        cost = len(block.encode()) + 2
        room = limit - used - (len(more.encode()) + 2 if total - index > 1 else 0)
        if cost > room:
            return "\n\n".join([*kept, more]) + "\n", False
        kept.append(block)
        used += cost
    if len(blocks) < total:
        return "\n\n".join([*kept, _more(total - len(blocks))]) + "\n", False
    return "\n\n".join(kept) + "\n", True


def _more(count: int) -> str:
    return f"_…and {plural(count, 'more test')} not shown: see the report._"
