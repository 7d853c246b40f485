"""Build JUnit XML reports in tests: one testcase per call, suites around them, a document around that.

Builders return text, so a test can still write something no builder knows (a quirk of one
producer) next to what they make. Counts on suites are left out unless asked for: junit-flaky
recomputes them, and stale ones in the input prove it does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional
from xml.sax.saxutils import escape, quoteattr

# Final results and Surefire's interim (rerun/flaky) results, by the outcome names tests use.
FINAL = {"failed": "failure", "error": "error", "skipped": "skipped"}


def _attrs(**attrs: Optional[str]) -> str:
    return "".join(f" {key}={quoteattr(str(value))}" for key, value in attrs.items() if value is not None)


def testcase(
    name: str,
    outcome: str = "passed",
    classname: Optional[str] = "tests.test_mod",
    message: Optional[str] = None,
    type: Optional[str] = None,  # noqa: A002 - the JUnit attribute's own name
    text: str = "",
    stdout: Optional[str] = None,
    stderr: Optional[str] = None,
    time: Optional[str] = "0.010",
    children: str = "",
    **attrs: Optional[str],
) -> str:
    """One <testcase>; ``outcome`` is passed, failed, error or skipped; ``children`` goes in as is."""
    body = children
    if outcome != "passed":
        if message is None and outcome != "skipped":
            message = f"{name} {outcome}"
        kind = None if outcome == "skipped" else type  # <skipped> has no type
        body = f"<{FINAL[outcome]}{_attrs(message=message, type=kind)}>{escape(text)}</{FINAL[outcome]}>" + body
    if stdout is not None:
        body += f"<system-out>{escape(stdout)}</system-out>"
    if stderr is not None:
        body += f"<system-err>{escape(stderr)}</system-err>"
    head = f"<testcase{_attrs(classname=classname, name=name, time=time, **attrs)}"
    return f"{head}>{body}</testcase>" if body else f"{head}/>"


def interim(tag: str, message: str, type: str = "java.lang.AssertionError", trace: str = "", stdout: Optional[str] = None) -> str:  # noqa: A002
    """A Surefire ``flakyFailure``/``flakyError``/``rerunFailure``/``rerunError`` child."""
    out = f"<system-out>{escape(stdout)}</system-out>" if stdout is not None else ""
    return f"<{tag}{_attrs(message=message, type=type)}><stackTrace>{escape(trace)}</stackTrace>{out}</{tag}>"


def testsuite(*children: str, name: Optional[str] = "pytest", sep: str = "\n", **attrs: Optional[str]) -> str:
    return f"<testsuite{_attrs(name=name, **attrs)}>{sep}{sep.join(children)}{sep}</testsuite>"


def testsuites(*children: str, name: Optional[str] = "pytest tests", sep: str = "\n", **attrs: Optional[str]) -> str:
    return f"<testsuites{_attrs(name=name, **attrs)}>{sep}{sep.join(children)}{sep}</testsuites>"


def document(root: str, encoding: Optional[str] = "utf-8", bom: bool = False, newline: str = "\n") -> bytes:
    """The bytes of a report file: XML declaration (unless ``encoding`` is None), root, newline."""
    text = root + "\n"
    if encoding is not None:
        text = f'<?xml version="1.0" encoding="{encoding}"?>\n' + text
    text = text.replace("\n", newline)
    data = text.encode(encoding or "utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def write(path: Path, root: str, **options) -> Path:
    """Write a report built from ``root`` (see ``document``) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document(root, **options))
    return path


def pytest_report(*cases: str) -> str:
    """The shape pytest writes: <testsuites><testsuite name="pytest">cases</testsuite></testsuites>."""
    return testsuites(testsuite(*cases, name="pytest", tests="999", failures="999", errors="0", skipped="0"))


# Their names start with "test": tell pytest they are not tests, should a module import them by name.
for _builder in (testcase, testsuite, testsuites):
    _builder.__test__ = False  # type: ignore[attr-defined]
