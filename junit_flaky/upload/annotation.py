"""The Buildkite annotation: the aggregated report as Markdown that fits Buildkite's 1 MiB.

Pure: reports (each with an optional link to its artifact) in, Markdown and a style out.
Failed tests come first, with every failed attempt (type, message, the stack trace folded in a
``<details>``); flaky tests follow, one line each. When the whole does not fit, detail goes step
by step: stack traces cut to their head and tail, then no traces, then names only, then as many
names as fit and "N more".
"""

from __future__ import annotations

import enum
import html
import re
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from lxml import etree

from junit_flaky.model import TestId, Verdict
from junit_flaky.upload.reports import Report, failed_attempts, identity, trace, verdict
from junit_flaky.verdicts import plural

MAX_BYTES = 1024 * 1024  # Buildkite's limit on an annotation body, counted in UTF-8 bytes
TRACE_CUT = 4000  # characters of a stack trace kept once traces must shrink: head and tail
MESSAGE_CUT = 300

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
    id: TestId
    verdict: Verdict
    attempts: List[etree._Element]  # the failed ones, in the order they ran
    link: Optional[str]


def build(
    reports: Sequence[Tuple[Report, Optional[str]]], title: str = "junit-flaky", limit: int = MAX_BYTES
) -> Annotation:
    """The annotation for these reports; ``limit`` is the most bytes the Markdown may take."""
    tests = [
        _Test(identity(case), verdict(case), failed_attempts(case), link)
        for report, link in reports
        for case in report.testcases()
    ]
    counts = Counter(test.verdict for test in tests)
    if counts[Verdict.FAILED]:
        style = "error"
    elif counts[Verdict.FLAKY]:
        style = "warning"
    else:
        style = "success"
    head = _summary(title, counts, len(tests))
    failed = [test for test in tests if test.verdict is Verdict.FAILED]
    flaky = [test for test in tests if test.verdict is Verdict.FLAKY]
    for detail in Detail:
        blocks = _section("Failed", failed, detail) + _section("Flaky", flaky, detail)
        markdown, dropped = _fit(head, blocks, limit)
        if not dropped:
            break
    return Annotation(markdown, style)


def md(text: str) -> str:
    """Text safe to place in Markdown: on one line, punctuation escaped, no raw HTML."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _summary(title: str, counts: Counter, total: int) -> str:
    parts = [
        f"{counts[Verdict.FAILED]} failed",
        f"{counts[Verdict.FLAKY]} flaky",
        f"{counts[Verdict.PASSED]} passed",
        f"{counts[Verdict.SKIPPED]} skipped",
    ]
    return f"**{md(title)}**: {', '.join(parts)} ({plural(total, 'test')})"


def _section(heading: str, tests: List[_Test], detail: Detail) -> List[str]:
    """One block per test; the section heading rides on the first block so it goes with it."""
    blocks = [_block(test, detail) for test in tests]
    if blocks:
        blocks[0] = f"### {heading} ({len(tests)})\n\n{blocks[0]}"
    return blocks


def _block(test: _Test, detail: Detail) -> str:
    name = f"**{md(str(test.id))}**"
    if detail is Detail.NAMES:
        return f"- {name}"
    link = f' · <a href="{html.escape(test.link, quote=True)}">report</a>' if test.link else ""
    count = plural(len(test.attempts), "failed attempt")
    if test.verdict is Verdict.FLAKY or detail is Detail.NO_TRACES:
        first = f"; first: {_problem(test.attempts[0])}" if test.attempts else ""
        return f"- {name}: {count}{first}{link}"
    cut = TRACE_CUT if detail is Detail.CUT_TRACES else None
    runs = (_attempt(index, attempt, cut) for index, attempt in enumerate(test.attempts, 1))
    return "\n\n".join([f"{name}: {count}{link}", *runs])


def _problem(attempt: etree._Element) -> str:
    """``**Type**: message``, each cut to one line."""
    kind = attempt.get("type") or attempt.tag
    message = _shorten(attempt.get("message") or "", MESSAGE_CUT)
    return f"**{md(kind)}**: {md(message)}" if message else f"**{md(kind)}**"


def _attempt(index: int, attempt: etree._Element, cut: Optional[int]) -> str:
    text = f"Attempt {index}: {_problem(attempt)}"
    stack = trace(attempt).strip("\n")
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


def _fit(head: str, blocks: List[str], limit: int) -> Tuple[str, int]:
    """The head and as many blocks as fit in ``limit`` bytes, then "N more"; and how many were
    left out."""
    kept = [head]
    used = len(head.encode()) + 1
    for index, block in enumerate(blocks):
        left = len(blocks) - index
        more = _more(left)
        cost = len(block.encode()) + 2
        room = limit - used - (len(more.encode()) + 2 if left > 1 else 0)
        if cost > room:
            return "\n\n".join([*kept, more]) + "\n", left
        kept.append(block)
        used += cost
    return "\n\n".join(kept) + "\n", 0


def _more(count: int) -> str:
    return f"_…and {plural(count, 'more test')} not shown: see the report._"
