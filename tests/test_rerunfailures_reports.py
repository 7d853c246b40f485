"""Reports that pytest-rerunfailures 16.7 really wrote (tests/data/rerunfailures/README.md): every
attempt that it reran is an empty <testcase> before the test's last one, and is a failed attempt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.vendored import DATA

REPORTS = sorted((DATA / "rerunfailures").glob("*.xml"))


def test_the_reports_are_there() -> None:
    assert len(REPORTS) == 3


@pytest.mark.xfail(strict=True, reason="an empty <testcase> that pytest-rerunfailures reran is read as a pass")
@pytest.mark.parametrize("report", REPORTS, ids=lambda p: p.stem)
def test_reruns_recorded_by_pytest_rerunfailures_are_failed_attempts(run_cli, tmp_path: Path, report: Path) -> None:
    js = tmp_path / "out.json"
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", tmp_path / "out.xml", "--json", js)
    seen = json.loads(js.read_text())
    tests = {test["name"]: test for test in seen["tests"]}
    outcomes = {name: [attempt["outcome"] for attempt in tests[name]["attempts"]] for name in ("test_flaky", "test_always_fails")}
    assert outcomes == {"test_flaky": ["failed", "passed"], "test_always_fails": ["failed", "failed", "failed"]}
    assert seen["summary"] == {"passed": 1, "flaky": 1, "failed": 1, "skipped": 0, "quarantined": 0}
    assert result.exit_code == 1  # as pytest's own: a test failed every time
