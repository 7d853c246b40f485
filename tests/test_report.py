"""The human report and the rerun progress: what a person reads on the console."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from junit_flaky import progress
from junit_flaky.model import Attempt, Outcome, TestId, TestResult, Thresholds
from junit_flaky.verdicts import decide
from tests import junit_builders as jb


def test_the_console_names_an_exception_type_as_the_xml_does(run_cli, tmp_path: Path) -> None:
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(
        jb.testcase("test_x", "failed", message="boom", type="RuntimeError"),
    ))
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "--output", tmp_path / "out.xml")
    assert result.exit_code == 1
    assert "RuntimeError: boom" in result.stdout
    assert "<class" not in result.stdout
    assert 'type="RuntimeError"' in (tmp_path / "out.xml").read_text()


def _result(name: str) -> TestResult:
    limits = Thresholds(min_passes=1, max_runs=2)
    outcomes = [Outcome.FAILED, Outcome.PASSED]
    attempts = [Attempt(Outcome.FAILED), Attempt(Outcome.PASSED, rerun=True)]
    return TestResult(TestId("test_mod", name), limits, attempts, decide(outcomes, limits))


def test_the_terminal_progress_counts_each_test_as_it_is_decided() -> None:
    # Reruns often decide several tests between two of rich's timed redraws: each is drawn anyway.
    console = Console(record=True, force_terminal=True, width=120)
    bar = progress.RichProgress(console)
    bar.begin(2)
    seen = []
    for name in ("test_a", "test_b"):
        bar.decided(_result(name), f"test_mod.py::{name}")
        seen.append(console.export_text(clear=False).splitlines()[-1])
    bar.end()
    assert "1/2" in seen[0] and "2/2" in seen[1]
