"""Reading reports into the history: every test, every attempt, streamed; imports of old reports."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import List, Tuple

import pytest

from junit_flaky.ci_env import CIInfo
from junit_flaky.errors import JunitFlakyError
from junit_flaky.history.importer import import_folder
from junit_flaky.history.record import RunRecorder, record_reports
from junit_flaky.history.reports import parse_timestamp, read_reports
from junit_flaky.history.store import RunInfo
from junit_flaky.model import Attempt, Outcome, TestId

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all">
  <testsuite name="unit" timestamp="2024-03-01T12:00:00">
    <testcase classname="m" name="ok" time="0.25"/>
    <testcase classname="m" name="skipped"><skipped message="no"/></testcase>
    <testcase classname="m" name="rerun" time="1"><failure message="x">trace</failure></testcase>
    <testcase classname="m" name="rerun" time="2"/>
  </testsuite>
  <testsuite name="java" timestamp="2024-03-01T11:00:00Z">
    <testcase classname="J" name="surefire" time="3">
      <flakyFailure message="a" type="E"><stackTrace>t</stackTrace></flakyFailure>
      <flakyError message="b" type="E"><stackTrace>t</stackTrace></flakyError>
    </testcase>
    <testcase classname="m" name="ok" time="0.5"/>
  </testsuite>
</testsuites>
"""


def attempts_in(db: Path) -> List[Tuple[str, str, str, int, int, int]]:
    return sqlite3.connect(db).execute(
        "SELECT t.suite, t.classname, t.name, a.seq, a.outcome, a.duration_ms"
        " FROM attempts a JOIN tests t ON t.id = a.test_id ORDER BY t.suite, t.classname, t.name, a.seq"
    ).fetchall()


def test_the_scan_hands_on_the_tests_it_only_counts(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(REPORT)
    handed = []
    reports = read_reports([report], lambda *testcase: handed.append(testcase))
    assert set(reports.tracked) == {TestId("m", "rerun", "", "unit"), TestId("J", "surefire", "", "java")}
    assert handed == [
        (("m", "ok", "", "unit"), Outcome.PASSED, "0.25"),
        (("m", "skipped", "", "unit"), Outcome.SKIPPED, None),
        (("m", "ok", "", "java"), Outcome.PASSED, "0.5"),  # another suite, another test
    ]
    assert reports.started() == parse_timestamp("2024-03-01T11:00:00+00:00")


def test_a_test_found_again_after_it_was_handed_on_is_recorded_once_per_attempt(tmp_path: Path) -> None:
    # Two overlapping shards: each passing copy is handed on as it is read, then tracked as a
    # repeat; its attempts are the two copies, not four.
    shard = '<testsuite name="s"><testcase classname="m" name="twice" time="{}"/><testcase classname="m" name="once"/></testsuite>'
    first, second, db = tmp_path / "a.xml", tmp_path / "b.xml", tmp_path / "h.sqlite"
    first.write_text(shard.format("1"))
    second.write_text(shard.format("2").replace('"once"', '"other"'))
    recorded = record_reports(db, [first, second], CIInfo("local"), 5.0)
    assert recorded is not None and recorded.attempts == 4
    assert attempts_in(db) == [
        ("s", "m", "once", 0, 0, 0),
        ("s", "m", "other", 0, 0, 0),
        ("s", "m", "twice", 0, 0, 1000),
        ("s", "m", "twice", 1, 0, 2000),
    ]


def test_record_reports_keeps_every_attempt_of_every_test(tmp_path: Path) -> None:
    report, db = tmp_path / "r.xml", tmp_path / "h.sqlite"
    report.write_text(REPORT)
    recorded = record_reports(db, [report], CIInfo("buildkite", build_id="b", label="unit", commit="c", branch="main"), 5.0)
    assert recorded.attempts == 8
    assert attempts_in(db) == [
        ("java", "J", "surefire", 0, 2, 0),  # Surefire's flaky failures come before the pass
        ("java", "J", "surefire", 1, 3, 0),
        ("java", "J", "surefire", 2, 0, 3000),
        ("java", "m", "ok", 0, 0, 500),
        ("unit", "m", "ok", 0, 0, 250),
        ("unit", "m", "rerun", 0, 2, 1000),
        ("unit", "m", "rerun", 1, 0, 2000),
        ("unit", "m", "skipped", 0, 1, 0),
    ]
    assert sqlite3.connect(db).execute("SELECT started, commit_sha, branch, job, build_id FROM runs").fetchall() == [
        (5.0, "c", "main", "unit", "b")
    ]


def test_a_run_recorder_takes_reruns_from_the_caller(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    flaky = TestId("m", "flaky")
    attempts = [Attempt(Outcome.FAILED, 1.0), Attempt(Outcome.PASSED, 1.5, rerun=True)]
    recorder = RunRecorder(db)
    recorder.untracked(("m", "ok", "", ""), Outcome.PASSED, "0.1")
    recorder.untracked(("m", "flaky", "", ""), Outcome.PASSED, "9")  # its first run, as the scan saw it
    recorded = recorder.finish([(flaky, attempts)], RunInfo(7.0))
    assert recorded is not None and recorded.attempts == 3
    assert attempts_in(db) == [("", "m", "flaky", 0, 2, 1000), ("", "m", "flaky", 1, 0, 1500), ("", "m", "ok", 0, 0, 100)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01T12:00:00", 1709294400.0),
        ("2024-03-01T12:00:00Z", 1709294400.0),
        ("2024-03-01T13:00:00+01:00", 1709294400.0),
        ("2024-03-01 12:00:00.500", 1709294400.5),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_timestamp(text: str, expected: object) -> None:
    assert parse_timestamp(text) == expected


def test_import_records_each_report_once_and_leaves_out_other_xml(tmp_path: Path) -> None:
    folder, db = tmp_path / "artifacts", tmp_path / "h.sqlite"
    (folder / "build-1").mkdir(parents=True)
    (folder / "build-2").mkdir()
    (folder / "build-1" / "junit.xml").write_text(REPORT)
    (folder / "build-2" / "junit.xml").write_text(REPORT.replace("12:00:00", "13:00:00"))
    (folder / "build-2" / "coverage.xml").write_text('<coverage line-rate="0.9"><packages/></coverage>')
    first = import_folder(db, folder)
    assert (first.recorded, first.already_known, len(first.not_junit)) == (2, 0, 1)
    assert "coverage.xml" in first.not_junit[0]
    (folder / "build-3").mkdir()
    (folder / "build-3" / "junit.xml").write_text(REPORT.replace("12:00:00", "14:00:00"))
    second = import_folder(db, folder)
    assert (second.recorded, second.already_known) == (1, 2)
    started = [t for (t,) in sqlite3.connect(db).execute("SELECT started FROM runs ORDER BY id")]
    assert started == [parse_timestamp("2024-03-01T11:00:00Z")] * 3  # the earliest suite's time


def test_import_of_a_folder_without_reports_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(JunitFlakyError, match="no \\*.xml file"):
        import_folder(tmp_path / "h.sqlite", tmp_path)


def test_a_testcase_straight_in_a_named_testsuites_root_is_one_test_in_the_history(tmp_path: Path) -> None:
    """The history keys a test as the scan does: a <testsuites> root's name is no suite name, so
    the test's failing run (tracked by the scan) and its passing run (streamed) are one test."""
    db = tmp_path / "h.sqlite"
    for build, outcome in (("1", "failed"), ("2", "passed")):
        report = tmp_path / f"{build}.xml"
        report.write_text(f'<testsuites name="all">{_case(outcome)}</testsuites>')
        record_reports(db, [report], CIInfo("buildkite", build_id=build, commit="c"), 1.0)
    assert [row[:3] for row in attempts_in(db)] == [("", "m", "t"), ("", "m", "t")]


def _case(outcome: str) -> str:
    return '<testcase classname="m" name="t"><failure message="x"/></testcase>' if outcome == "failed" else '<testcase classname="m" name="t"/>'


@pytest.mark.parametrize("time", ["1e308", "99999999999999999999"])
def test_a_huge_time_is_recorded_capped(tmp_path: Path, time: str) -> None:
    report, db = tmp_path / "r.xml", tmp_path / "h.sqlite"
    report.write_text(f'<testsuite name="s"><testcase classname="m" name="t" time="{time}"/>'
                      f'<testcase classname="m" name="u" time="{time}"><failure/></testcase></testsuite>')
    recorded = record_reports(db, [report], CIInfo("local"), 1.0)
    assert recorded.attempts == 2
    assert {row[5] for row in attempts_in(db)} == {10**12}  # MAX_SECONDS in milliseconds
