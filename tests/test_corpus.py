"""Every report of the vendored corpus (60 real reports from 30 producers): read, decided, rewritten
with every test once and consistent counts, the input untouched; or, for malformed/, rejected."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import List

import pytest

from tests.junit_checks import assert_rewrite_keeps_every_test_once, cases_of, category
from tests.vendored import CORPUS

REPORTS = sorted(CORPUS.rglob("*.xml"))
GOOD = [p for p in REPORTS if p.parent.name != "malformed"]
MALFORMED = [p for p in REPORTS if p.parent.name == "malformed"]


def test_the_corpus_is_there() -> None:
    # Without it every parametrized test below would silently vanish.
    assert len(GOOD) >= 50 and len(MALFORMED) >= 5, f"corpus not found at {CORPUS}"


def ids(paths: List[Path]) -> List[str]:
    return [str(p.relative_to(CORPUS)) for p in paths]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_rewrite(run_cli, inputs: List[Path], tmp_path: Path) -> None:
    """Run --no-rerun over ``inputs`` and check everything a reader of the output relies on."""
    before = [digest(p) for p in inputs]
    out, js = tmp_path / "out.xml", tmp_path / "out.json"
    result = run_cli("run", *inputs, "--no-rerun", "--no-flakybot", "-o", out, "--json", js)
    assert result.exit_code in (0, 1), result.stderr
    assert [digest(p) for p in inputs] == before, "an input was modified"
    root = assert_rewrite_keeps_every_test_once(inputs, out)
    summary = json.loads(js.read_text())["summary"]
    assert sum(summary.values()) == len(cases_of(root)), "verdict counts do not add up to the tests"
    # The exit code is the build's verdict, and the XML must tell readers the same story.
    failing = any(category(case) in ("failure", "error") for case in cases_of(root)) or any(
        child.tag in ("failure", "error") for suite in root.iter("testsuite") for child in suite
    )  # a suite that failed outside its tests (a failed class setup) fails the build too
    assert result.exit_code == int(failing)


@pytest.mark.parametrize("report", GOOD, ids=ids(GOOD))
def test_every_report_is_rewritten_with_every_test_once(run_cli, tmp_path: Path, report: Path) -> None:
    check_rewrite(run_cli, [report], tmp_path)


def test_the_whole_corpus_merges_into_one_report(run_cli, tmp_path: Path) -> None:
    check_rewrite(run_cli, GOOD, tmp_path)


@pytest.mark.parametrize("report", MALFORMED, ids=ids(MALFORMED))
def test_malformed_reports_are_rejected_in_one_line_naming_file_line_and_column(run_cli, tmp_path: Path, report: Path) -> None:
    out = tmp_path / "out.xml"
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", out)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert re.match(rf"junit-flaky: error: {re.escape(str(report))}:\d+:\d+: ", result.stderr), result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
