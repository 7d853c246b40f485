"""The human report, compared with a golden file as gotestsum compares its output: one report with
a test of every verdict, a suite that failed outside its tests and a test step that stopped short.

Times are normalised. To accept a change on purpose, regenerate with
``UPDATE_GOLDEN=1 python -m pytest tests/test_report_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tests import junit_builders as jb

GOLDEN = Path(__file__).parent / "data" / "golden" / "report.txt"
UPDATE_GOLDEN = bool(os.environ.get("UPDATE_GOLDEN"))  # read before any fixture cleans the environment

REPORT = jb.testsuite(
    jb.testcase("test_steady"),
    jb.testcase("test_flaky", "failed", message="assert 1 == 2", type="AssertionError", text="tests/test_mod.py:7: AssertionError"),
    jb.testcase("test_flaky"),
    jb.testcase("test_broken", "failed", message="RuntimeError: no database", text="tests/test_mod.py:12: RuntimeError"),
    jb.testcase("test_broken", "error", message="failed on setup with \"RuntimeError: no database\""),
    jb.testcase("test_quarantined", "failed", message="ValueError: late"),
    jb.testcase("test_twice", "failed", message="first"),
    jb.testcase("test_twice"),
    jb.testcase("test_later", "skipped", message="not on this platform"),
)
THRESHOLDS = {
    "flaky_tests": [
        {"test_name": "test_quarantined", "class_name": "", "min_passes": 1, "max_runs": 3, "quarantined": True},
        {"test_name": "test_twice", "class_name": "", "min_passes": 2, "max_runs": 3},
    ]
}


def normalised(text: str, tmp_path: Path) -> str:
    return re.sub(r"\d+\.\d+ ?s\b", "T s", text.replace(str(tmp_path), "TMP"))


def test_the_human_report_matches_its_golden_file(run_cli, tmp_path: Path) -> None:
    report = jb.write(tmp_path / "result.xml", REPORT)
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps(THRESHOLDS))
    result = run_cli(
        "run", report, "--no-rerun", "--no-flakybot", "--thresholds", thresholds, "--test-exit-code", "2"
    )
    assert result.exit_code == 1
    printed = normalised(result.stdout, tmp_path)
    if UPDATE_GOLDEN:
        GOLDEN.write_text(printed)
    assert printed == GOLDEN.read_text(), f"differs from {GOLDEN}; see the module docstring to regenerate"
