"""Each benchmark script run end to end at a size that takes a second or two: its inputs are
what its docstring says, the commands it times ran and wrote their output, and it prints a table
with a ratio against its baseline. Nothing here is timed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_failing_report  # noqa: E402 - the benchmarks folder is not a package
import bench_floors  # noqa: E402
import bench_history_postgres  # noqa: E402
import bench_large_report  # noqa: E402
import bench_reruns  # noqa: E402
import bench_shards  # noqa: E402
import bench_startup  # noqa: E402


def ratios(out: str) -> dict:
    """The table's rows: command name -> ratio to the baseline (of the wall times; the CPU
    times' ratio follows)."""
    rows = re.findall(
        r"^(.+?)\s+\d+\.\d{3}\s+(\d+\.\d\d)\s+\d+\.\d{3}-\d+\.\d{3}\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d$", out, re.MULTILINE
    )
    return {name: float(ratio) for name, ratio in rows}


def test_failing_report_has_twenty_suites_and_long_failures(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench_failing_report.main(["--testcases", "2000", "--repeat", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert ratios(out).keys() == {"lxml parse + write (baseline)", "junit-flaky run --no-rerun"}
    report = (tmp_path / "failing-2000.xml").read_text()
    assert report.count("<testsuite ") == 20 and report.count("<testcase ") == 2000
    failures = report.count("<failure ")
    assert 10 <= failures <= 80  # 2%, drawn
    first = report[report.index("<failure "):report.index("</failure>")]
    assert first.count("\n") + 1 == 40
    assert report.count("<system-out>") == failures
    assert f"junit-flaky.xml: 2000 testcases, {failures} failures" in out


def test_floors_are_measured_against_lxml_and_weighed_against_each_goal(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench_floors.main(["--testcases", "2000", "--repeat", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    reading = {bench_floors.BASELINE, bench_floors.PYTHON, bench_floors.STARTUP, bench_floors.RUN}
    floors = {bench_floors.EXPAT, bench_floors.HANDLERS, bench_floors.IDENTITY}
    recording = {bench_floors.INPUT, bench_floors.KEY_OF, bench_floors.STAGE, bench_floors.ATTEMPTS}
    assert ratios(out).keys() == reading | floors | recording
    assert out.count("load average") == 3
    # Every attempt of the pytest report (its reruns too) was inserted, each test under one id.
    attempts = (tmp_path / "pytest-2000.xml").read_text().count("<testcase ")
    assert attempts > 2000
    assert f"floors.sqlite: {attempts} attempts inserted" in out
    import sqlite3

    db = sqlite3.connect(tmp_path / "floors.sqlite")
    assert db.execute("SELECT COUNT(DISTINCT test_id), MAX(seq) FROM attempts").fetchone() == (2000, 1)
    for goal in ("reading, failing report: 1.0x leaves", "reading, pytest report: 1.0x leaves", "recording: 1.5x leaves"):
        assert goal in out
    assert out.count("exceeding it alone: ") == 3


def test_large_report_runs_and_records(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench_large_report.main(["--testcases", "3000", "--repeat", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert {"... --record-history (new history)", "... --record-history (knows the tests)"} <= ratios(out).keys()
    assert "junit-flaky.xml: " in out and "load average" in out
    # The steady state's history knows the report's tests: recording it again added none.
    import sqlite3

    known = sqlite3.connect(tmp_path / "history-known.sqlite")
    assert known.execute("SELECT COUNT(*) FROM runs").fetchone() == (2,)
    assert known.execute("SELECT COUNT(*) FROM tests").fetchone() == (3000,)


@pytest.mark.parametrize("blank", [False, True], ids=["self-closing", "blank-passes"])
def test_shard_pairs_hold_the_same_bytes_and_merge(tmp_path: Path, capsys: pytest.CaptureFixture, blank: bool) -> None:
    bench_shards.main(["--testcases", "1000", "--repeat", "1", "--out", str(tmp_path), *(["--blank-passes"] if blank else [])])
    out = capsys.readouterr().out
    assert ratios(out).keys() == {"run: two shards, different tests (baseline)", "run: two shards, same tests"}
    kind = "-blank" if blank else ""
    same = sum(path.stat().st_size for path in tmp_path.glob(f"shard-same{kind}-1000-*.xml"))
    different = sum(path.stat().st_size for path in tmp_path.glob(f"shard-different{kind}-1000-*.xml"))
    assert same == different > 0
    assert ('">\n</testcase>' in (tmp_path / f"shard-same{kind}-1000-0.xml").read_text()) is blank
    assert "merged-different.xml: 2000 testcases" in out
    assert "merged-same.xml: 1000 testcases" in out  # each test found twice is one test


def test_rerun_project_has_twelve_flaky_tests_that_the_run_turns_green(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench_reruns.main(["--testcases", "30", "--start-seconds", "0", "--repeat", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert set(ratios(out)) == {"floor: one pytest run of the 12 tests", "junit-flaky run", "whole suite (30 tests)"}
    assert len(set(bench_reruns.flaky_tests(30))) == 12
    result = (tmp_path / "rerun-project" / "result.xml").read_text()
    assert 'tests="30"' in result and 'failures="12"' in result
    assert "no failures: True" in out


def test_startup_compares_the_installed_command_with_an_empty_python(capsys: pytest.CaptureFixture) -> None:
    bench_startup.main(["--repeat", "1"])
    assert set(ratios(capsys.readouterr().out)) == {"python -c pass (baseline)", "junit-flaky --version"}


@pytest.mark.usefixtures("postgres_server")  # it starts a server of its own; this skips where none can start
def test_history_postgres_compares_both_stores_on_the_same_history(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench_history_postgres.main(["--recorders", "3", "--tests", "200", "--runs", "4", "--repeat", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert re.search(r"3 concurrent `history record` of a 200-test report.*\n  SQLite file .*ratio  1\.00.*\n  PostgreSQL .*ratio", out)
    assert "`history copy` of history-200x4.sqlite into PostgreSQL" in out
    assert ratios(out).keys() == {"thresholds compute, SQLite file", "thresholds compute, PostgreSQL"}
    assert "the two thresholds files are identical" in out
