"""Check an aggregated report the way its readers (Jenkins, Test Engine, CircleCI) see it.

Written independently of junit_flaky's writer, so a bug there cannot hide behind itself.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from lxml import etree

WILD_SUITES = ("{*}testsuite", "{*}testsuites")  # in any namespace, or none
# Untrusted files: no DTD, no entities, no network, even in the checks.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)

Identity = Tuple[str, str, str, str]  # (suite name, classname, name, file), as junit-flaky keys a test


def local(element: etree._Element) -> str:
    """A tag without its namespace: some reports put everything in a default namespace."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def parse(path: Path) -> etree._Element:
    return etree.parse(str(path), PARSER).getroot()


def cases_of(root: etree._Element) -> List[etree._Element]:
    """Every <testcase>, in document order (none nests inside another in a JUnit report)."""
    return [root] if local(root) == "testcase" else list(root.iter("{*}testcase"))


def identity(case: etree._Element) -> Identity:
    suite = next((a.get("name", "") for a in case.iterancestors("{*}testsuite")), "")
    return (suite, case.get("classname", ""), case.get("name", ""), case.get("file", ""))


def identities(root: etree._Element) -> Counter:
    return Counter(identity(case) for case in cases_of(root))


def category(case: etree._Element) -> str:
    """How readers count a testcase: by its final <failure>, <error> or <skipped> child."""
    tags = {local(child) for child in case}
    for tag in ("failure", "error", "skipped"):
        if tag in tags:
            return tag
    return "flaky" if tags & {"flakyFailure", "flakyError"} else "passed"


def expected_counts(suite: etree._Element) -> Dict[str, int]:
    """What a suite's count attributes must say: its testcases at any depth, plus <failure>/<error>
    written directly into a suite (a class whose setup failed, as Jenkins' fixtures have)."""
    cats = Counter(category(case) for case in suite.iter("{*}testcase"))
    counts = {
        "tests": sum(cats.values()),
        "failures": cats["failure"],
        "errors": cats["error"],
        "skipped": cats["skipped"],
        "flakes": cats["flaky"],
    }
    for inner in suite.iter(*WILD_SUITES):
        counts["failures"] += len(inner.findall("{*}failure"))
        counts["errors"] += len(inner.findall("{*}error"))
    return counts


def count_mismatches(root: etree._Element) -> List[str]:
    """Every suite whose tests/failures/errors/skipped (and flakes, if written) disagree with its
    content; empty when all agree. A missing count is a mismatch too, but for flakes and a
    <testsuites>' skipped, which are written only where the input has them (Jenkins xUnit's
    schema has no place for them)."""
    problems = []
    for suite in root.iter(*WILD_SUITES):
        expected = expected_counts(suite)
        for key, value in expected.items():
            written = suite.get(key)
            if written is None and (key == "flakes" or (key == "skipped" and local(suite) == "testsuites")):
                continue
            if written != str(value):
                problems.append(f"<{local(suite)} name={suite.get('name')!r}> {key}={written!r}, contains {value}")
    return problems


def assert_rewrite_keeps_every_test_once(inputs: Iterable[Path], output: Path) -> etree._Element:
    """Every distinct test of the inputs is in the output exactly once, none added, and every
    suite's counts agree with its content. Returns the output's root for further checks."""
    root = parse(output)
    wanted: Counter = Counter()
    for path in inputs:
        wanted.update(identities(parse(path)))
    written = identities(root)
    assert set(written) == set(wanted), f"lost: {set(wanted) - set(written)}, invented: {set(written) - set(wanted)}"
    assert [key for key, n in written.items() if n != 1] == [], "a test written more than once"
    assert count_mismatches(root) == []
    return root
