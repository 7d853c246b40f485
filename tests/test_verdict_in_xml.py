"""The verdict travels with the test: ``run`` writes each test's verdict into the XML, and every
later reader (merge, the annotation, Test Engine, the history) takes it from there.

Golden files: tests/data/golden/*.xml hold the aggregated XML of a few representative inputs, with
times normalised. After a deliberate change to the written XML, regenerate them with
``UPDATE_GOLDEN=1 python -m pytest tests/test_verdict_in_xml.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path
from typing import List

import pytest
from lxml import etree

from junit_flaky import junit_read
from junit_flaky.ci_env import CIInfo
from junit_flaky.history.record import record_reports
from junit_flaky.history.store import OUTCOME_CODES
from junit_flaky.junit_attempts import combine_verdicts, recorded_verdict
from junit_flaky.model import Outcome, Verdict
from junit_flaky.upload.annotation import build
from junit_flaky.upload.reports import load, verdict_note
from junit_flaky.upload.executions import split
from tests import junit_builders as jb
from tests.junit_checks import parse
from tests.vendored import SCHEMAS

GOLDEN = Path(__file__).parent / "data" / "golden"
UPDATE_GOLDEN = bool(os.environ.get("UPDATE_GOLDEN"))  # read before any fixture cleans the environment
QUARANTINE = {"flaky_tests": [{"test_name": "test_q", "class_name": "", "min_passes": 1, "max_runs": 3, "quarantined": True}]}


def failing(name: str, n: int) -> List[str]:
    return [jb.testcase(name, "failed", message=f"boom {i}", type="AssertionError", text=f"trace {i}") for i in range(1, n + 1)]


@pytest.fixture
def quarantined_run(run_cli, tmp_path: Path) -> Path:
    """A quarantined test that failed all its 3 runs, next to a passing one: run exits 0."""
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps(QUARANTINE))
    report = jb.write(tmp_path / "in.xml", jb.testsuite(*failing("test_q", 3), jb.testcase("test_ok")))
    out = tmp_path / "out.xml"
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "--thresholds", thresholds, "-o", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    return out


def test_a_quarantined_failure_is_written_as_skipped_with_its_failed_attempts(quarantined_run: Path) -> None:
    root = parse(quarantined_run)
    case = root.find(".//testcase[@name='test_q']")
    assert [child.tag for child in case] == ["rerunFailure", "rerunFailure", "rerunFailure", "skipped"]
    assert case.find("skipped").get("message") == "quarantined: failed 3 of 3 runs"
    assert [c.get("message") for c in case.findall("rerunFailure")] == ["boom 1", "boom 2", "boom 3"]
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("2", "0", "0", "1")
    for name in ("surefire-test-report.xsd", "surefire-test-report-3.0.xsd"):
        schema = etree.XMLSchema(etree.parse(str(SCHEMAS / name)))
        assert schema.validate(root), schema.error_log


def test_merge_of_a_quarantined_failure_exits_0(run_cli, quarantined_run: Path, tmp_path: Path) -> None:
    merged = tmp_path / "merged.xml"
    result = run_cli("merge", quarantined_run, "-o", merged)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert parse(merged).find(".//testcase[@name='test_q']/skipped") is not None


def test_the_annotation_counts_a_quarantined_failure_as_quarantined(quarantined_run: Path) -> None:
    annotation = build([(load(quarantined_run), None)])
    assert annotation.style != "error"
    assert "0 failed" in annotation.markdown and "1 quarantined" in annotation.markdown


def test_test_engine_gets_a_quarantined_failure_as_skipped(quarantined_run: Path) -> None:
    [(content, count)] = list(split([load(quarantined_run)], 100))
    cases = etree.fromstring(content).findall(".//testcase[@name='test_q']")
    assert [child.tag for case in cases for child in case] == ["skipped"]
    assert count == 2


def test_the_history_records_a_quarantined_failure_s_real_attempts(quarantined_run: Path, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    record_reports(db, [quarantined_run], CIInfo("local"), 1.0)
    outcomes = sqlite3.connect(db).execute(
        "SELECT a.outcome FROM attempts a JOIN tests t ON t.id = a.test_id WHERE t.name = 'test_q' ORDER BY a.seq"
    ).fetchall()
    assert outcomes == [(2,), (2,), (2,)]  # failed, failed, failed: not a skip


@pytest.mark.parametrize(
    "copies, combined",
    [
        ([Verdict.PASSED, Verdict.FAILED], Verdict.FAILED),
        ([Verdict.QUARANTINED, Verdict.FLAKY], Verdict.QUARANTINED),
        ([Verdict.FLAKY, Verdict.PASSED], Verdict.FLAKY),
        ([Verdict.SKIPPED, Verdict.PASSED], Verdict.PASSED),
        ([Verdict.SKIPPED, Verdict.SKIPPED], Verdict.SKIPPED),
        ([Verdict.QUARANTINED, Verdict.FAILED], Verdict.FAILED),
    ],
)
def test_copies_of_one_test_in_several_reports_combine(copies: List[Verdict], combined: Verdict) -> None:
    assert combine_verdicts(copies) is combined


def test_merge_of_overlapping_shards_takes_each_copy_s_recorded_verdict(run_cli, quarantined_run: Path, tmp_path: Path) -> None:
    """A test quarantined in one shard and passing in another stays quarantined; a test failed in
    one shard and passing in another is failed (not flaky by a rule merge does not know)."""
    other = jb.write(tmp_path / "other.xml", jb.testsuite(jb.testcase("test_q"), *failing("test_ok", 1)))
    merged = tmp_path / "merged.xml"
    result = run_cli("merge", quarantined_run, other, "-o", merged)
    assert result.exit_code == 1
    cases = {case.get("name"): case for case in parse(merged).iter("testcase")}
    assert cases["test_ok"].find("failure") is not None
    assert cases["test_q"].find("failure") is None


# -- golden files -----------------------------------------------------------------------------------

GOLDEN_INPUTS = {
    "flaky": jb.testsuite(jb.testcase("test_f", "failed", message="first", type="E", text="t1"), jb.testcase("test_f")),
    "failed_with_reruns": jb.testsuite(*failing("test_x", 3)),
    "quarantined_failure": jb.testsuite(*failing("test_q", 3)),
    "skipped": jb.testsuite(jb.testcase("test_s", "skipped", message="not today")),
    "passed_untouched": jb.testsuite(jb.testcase("test_p", stdout="hello"), jb.testcase("test_f", "failed")),
}


def normalised(text: str) -> str:
    return re.sub(r'time="[^"]*"', 'time="X"', text)


@pytest.mark.parametrize("name", sorted(GOLDEN_INPUTS))
def test_the_aggregated_xml_matches_its_golden_file(run_cli, tmp_path: Path, name: str) -> None:
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps(QUARANTINE))
    report = jb.write(tmp_path / "in.xml", GOLDEN_INPUTS[name])
    out = tmp_path / "out.xml"
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "--max-runs", "3", "--thresholds", thresholds, "-o", out)
    assert result.exit_code in (0, 1), result.stderr
    written = normalised(out.read_text())
    golden = GOLDEN / f"{name}.xml"
    if UPDATE_GOLDEN:
        golden.write_text(written)
    assert written == golden.read_text(), f"differs from {golden}; see the module docstring to regenerate"


def test_every_verdict_run_reports_is_the_one_its_xml_records(run_cli, tmp_path: Path) -> None:
    """What --json says of each test is what every later reader finds in the XML."""
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps({"flaky_tests": [
        {"test_name": "test_q", "class_name": "", "min_passes": 1, "max_runs": 3, "quarantined": True},
        {"test_name": "test_q_error", "class_name": "", "min_passes": 1, "max_runs": 2, "quarantined": True},
        {"test_name": "test_twice", "class_name": "", "min_passes": 2, "max_runs": 2, "quarantined": False},
        {"test_name": "test_q_twice", "class_name": "", "min_passes": 2, "max_runs": 2, "quarantined": True},
    ]}))
    cases = [
        *failing("test_q", 3),
        jb.testcase("test_q_error", "error"), jb.testcase("test_q_error", "failed"),
        jb.testcase("test_twice"), jb.testcase("test_q_twice"),  # passed, but once of the two times needed
        jb.testcase("test_flaky", "error"), jb.testcase("test_flaky"),
        jb.testcase("test_skip", "skipped"), jb.testcase("test_skip", "skipped"),
        jb.testcase("test_ok"), jb.testcase("test_ok"),
        jb.testcase("test_fail", "failed"),
    ]
    report, out, js = jb.write(tmp_path / "in.xml", jb.testsuite(*cases)), tmp_path / "out.xml", tmp_path / "out.json"
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "--thresholds", thresholds, "-o", out, "--json", js)
    assert result.exit_code == 1, result.stderr
    reported = {test["name"]: test["verdict"] for test in json.loads(js.read_text())["tests"]}
    recorded = {case.test.name: recorded_verdict(case.element).value for case in junit_read.testcases(out)}
    assert reported == recorded == {
        "test_q": "quarantined", "test_q_error": "quarantined", "test_q_twice": "quarantined",
        "test_twice": "failed", "test_flaky": "flaky",
        "test_skip": "skipped", "test_ok": "passed", "test_fail": "failed",
    }


@pytest.mark.parametrize("quarantined", [False, True], ids=["failed", "quarantined"])
def test_a_test_that_passed_too_few_times_reads_back_as_its_pass(run_cli, tmp_path: Path, quarantined: bool) -> None:
    """The note saying a test passed too few times is no failed run: the history (and anything
    reading the attempts back) sees the pass that happened, while the verdict stays failed or
    quarantined."""
    thresholds = tmp_path / "thresholds.json"
    entry = {"test_name": "test_once", "class_name": "", "min_passes": 2, "max_runs": 2, "quarantined": quarantined}
    thresholds.write_text(json.dumps({"flaky_tests": [entry]}))
    report = jb.write(tmp_path / "in.xml", jb.testsuite(jb.testcase("test_once", time="0.5")))
    out = tmp_path / "out.xml"
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "--thresholds", thresholds, "-o", out)
    assert result.exit_code == int(not quarantined), result.stderr
    [case] = list(junit_read.testcases(out))
    assert recorded_verdict(case.element) is (Verdict.QUARANTINED if quarantined else Verdict.FAILED)
    db = tmp_path / "h.sqlite"
    record_reports(db, [out], CIInfo("local"), 1.0)
    recorded = sqlite3.connect(db).execute("SELECT outcome, duration_ms FROM attempts").fetchall()
    assert recorded == [(OUTCOME_CODES[Outcome.PASSED], 500)]


@pytest.mark.parametrize("quarantined", [False, True], ids=["failed", "quarantined"])
def test_a_test_that_failed_and_passed_too_few_times_keeps_its_pass(run_cli, tmp_path: Path, quarantined: bool) -> None:
    """Failed, passed, failed where two passes were needed: the XML keeps the pass beside the
    failed runs, so that merge, a second run and the history read all three runs back."""
    thresholds = tmp_path / "thresholds.json"
    entry = {"test_name": "test_x", "class_name": "", "min_passes": 2, "max_runs": 3, "quarantined": quarantined}
    thresholds.write_text(json.dumps({"flaky_tests": [entry]}))
    runs = [*failing("test_x", 1), jb.testcase("test_x", time="0.5"), *failing("test_x", 2)[1:]]
    report, out, again = jb.write(tmp_path / "in.xml", jb.testsuite(*runs)), tmp_path / "out.xml", tmp_path / "again.json"
    options = ["--no-rerun", "--no-flakybot", "--thresholds", thresholds]
    result = run_cli("run", report, *options, "-o", out)
    assert result.exit_code == int(not quarantined), result.stderr
    assert run_cli("run", out, *options, "--json", again).exit_code == result.exit_code
    [test] = json.loads(again.read_text())["tests"]
    assert sorted(a["outcome"] for a in test["attempts"]) == ["failed", "failed", "passed"]
    assert test["verdict"] == ("quarantined" if quarantined else "failed")
    db = tmp_path / "h.sqlite"
    record_reports(db, [out], CIInfo("local"), 1.0)
    recorded = sorted(row[0] for row in sqlite3.connect(db).execute("SELECT outcome FROM attempts"))
    assert recorded == sorted(OUTCOME_CODES[o] for o in (Outcome.FAILED, Outcome.FAILED, Outcome.PASSED))
    if not quarantined:  # Test Engine gets each run as an execution; the note is none of them
        [(content, _)] = list(split([load(out)], 100))
        executions = [[child.tag for child in case] for case in etree.fromstring(content).iter("testcase")]
        # The pass first: a service that takes a test's last execution for its result (passed on
        # retry) must not see a pass last for a test that failed the build.
        assert executions == [[], ["failure"], ["failure"]]


def test_merge_keeps_the_pass_of_a_test_that_failed_in_another_shard_saying_so(run_cli, tmp_path: Path) -> None:
    shards = [jb.write(tmp_path / "a.xml", jb.testsuite(*failing("test_x", 1))), jb.write(tmp_path / "b.xml", jb.testsuite(jb.testcase("test_x")))]
    merged = tmp_path / "merged.xml"
    assert run_cli("merge", *shards, "-o", merged).exit_code == 1
    [case] = list(junit_read.testcases(merged))
    assert recorded_verdict(case.element) is Verdict.FAILED
    db = tmp_path / "h.sqlite"
    record_reports(db, [merged], CIInfo("local"), 1.0)
    assert sorted(row[0] for row in sqlite3.connect(db).execute("SELECT outcome FROM attempts")) == [0, 2]
    assert verdict_note(case.element) == "junit-flaky: recorded failed, passed 1 of 2 runs"
