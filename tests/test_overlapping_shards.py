"""Overlapping shards: the same test in several reports, or in several suites of one report (shards
that overlap, a job reported twice), as `run --no-rerun` and `merge` write and report it.

A test that passed in every copy is written once, where its first copy was, with the times of all
copies summed; every verdict, count, report line and history row is what it was with one copy per
test, and the reruns pytest-rerunfailures wrote into a suite are read the same whatever else of that
suite was merged away."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from lxml import etree

from junit_flaky.junit_attempts import RERUN_KEPT_NO_DETAILS
from tests import junit_builders as jb
from tests.junit_checks import assert_rewrite_keeps_every_test_once, category

SUMMARY = "{total} tests: {passed} passed, {flaky} flaky, {failed} failed, {skipped} skipped, 0 quarantined"


def shard(path: Path, *cases: str, **suite: Optional[str]) -> Path:
    """A shard's report as pytest writes it: one <testsuite name="pytest"> in a <testsuites>."""
    return jb.write(path, jb.testsuites(jb.testsuite(*cases, name="pytest", **suite)))


def summary(total: int, passed: int = 0, flaky: int = 0, failed: int = 0, skipped: int = 0) -> str:
    return SUMMARY.format(total=total, passed=passed, flaky=flaky, failed=failed, skipped=skipped)


def by_name(root: etree._Element) -> Dict[str, etree._Element]:
    return {case.get("name"): case for case in root.iter("testcase")}


def children(case: etree._Element) -> List[str]:
    return [child.tag for child in case]


@pytest.fixture
def merged(run_cli, tmp_path: Path):
    """``merged("run", a, b, *options)``: run --no-rerun (or merge) over the reports into out.xml,
    checking that its exit code is ``expect`` and that every test is written once with counts
    that agree with the testcases. Returns (result, output root, the --json report of run)."""

    def invoke(command: str, *reports: Path, options: Tuple[str, ...] = (), expect: int = 0):
        out, js = tmp_path / "out.xml", tmp_path / "out.json"
        if command == "run":
            result = run_cli("run", *reports, "--no-rerun", "--no-flakybot", "-o", out, "--json", js, *options)
        else:
            result = run_cli("merge", *reports, "-o", out, *options)
        assert result.exit_code == expect, result.stdout + result.stderr
        root = assert_rewrite_keeps_every_test_once(reports, out)
        return result, root, json.loads(js.read_text()) if command == "run" else None

    return invoke


COMMANDS = ["run", "merge"]


# -- tests that passed in every shard -----------------------------------------------------------


def two_shards(tmp_path: Path) -> Tuple[Path, Path]:
    """Three tests in both shards, all passing in self-closing testcases, and one test of each's own."""
    first = shard(
        tmp_path / "shard-1.xml",
        '<testcase time="0.1" classname="tests.test_mod" name="test_a" line="3" note="first"/>',
        jb.testcase("test_b", time="1", file="tests/test_mod.py", line="5"),
        jb.testcase("test_c", time="0.125"),
        jb.testcase("test_one", time="0.4"),
        tests="4", failures="0", errors="0", skipped="0", time="1.625",
    )
    second = shard(
        tmp_path / "shard-2.xml",
        jb.testcase("test_a", time="0.25", line="30", other="second"),
        jb.testcase("test_two", time="0.7"),
        jb.testcase("test_c", time="0.125"),
        jb.testcase("test_b", time="2.5", file="tests/test_mod.py", line="50"),
        tests="4", failures="0", errors="0", skipped="0", time="3.575",
    )
    return first, second


@pytest.mark.parametrize("command", COMMANDS)
def test_tests_passed_in_both_shards_are_written_once_with_their_times_summed(merged, tmp_path: Path, command: str) -> None:
    result, root, _ = merged(command, *two_shards(tmp_path))
    assert summary(5, passed=5) in result.stdout
    cases = by_name(root)
    assert {name: category(case) for name, case in cases.items()} == dict.fromkeys(
        ["test_a", "test_b", "test_c", "test_one", "test_two"], "passed"
    )
    # The first shard's testcase, attribute for attribute and in its order; only the time is the sum.
    assert cases["test_a"].attrib.items() == [
        ("time", "0.350"), ("classname", "tests.test_mod"), ("name", "test_a"), ("line", "3"), ("note", "first"),
    ]
    assert cases["test_b"].attrib.items() == [
        ("classname", "tests.test_mod"), ("name", "test_b"), ("time", "3.500"), ("file", "tests/test_mod.py"), ("line", "5"),
    ]
    assert cases["test_c"].get("time") == "0.250"
    assert [children(cases[name]) for name in ("test_a", "test_b", "test_c")] == [[], [], []]
    # A test of one shard alone is left as it was written.
    assert (cases["test_one"].get("time"), cases["test_two"].get("time")) == ("0.4", "0.7")
    # The repeats are written in the first shard's suite; the second keeps its own test.
    first, second = root.findall("testsuite")
    assert [c.get("name") for c in first] == ["test_a", "test_b", "test_c", "test_one"]
    assert [c.get("name") for c in second] == ["test_two"]
    assert [(s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")) for s in (root, first, second)] == [
        ("5", "0", "0", None), ("4", "0", "0", "0"), ("1", "0", "0", "0"),
    ]
    assert root.get("flakes") is None and first.get("flakes") is None


@pytest.mark.parametrize("command", COMMANDS)
def test_a_job_reported_twice_leaves_the_second_suite_empty(merged, tmp_path: Path, command: str) -> None:
    cases = [jb.testcase("test_a", time="0.5"), jb.testcase("test_b", time="0.25")]
    reports = [shard(tmp_path / f"job-{n}.xml", *cases, tests="2") for n in (1, 2)]
    result, root, _ = merged(command, *reports)
    assert summary(2, passed=2) in result.stdout
    first, second = root.findall("testsuite")
    assert [(c.get("name"), c.get("time")) for c in first] == [("test_a", "1.000"), ("test_b", "0.500")]
    assert len(second) == 0 and second.get("tests") == "0"
    assert (root.get("tests"), first.get("tests")) == ("2", "2")


def test_json_counts_tests_that_passed_in_several_shards_without_listing_them(merged, tmp_path: Path) -> None:
    _, _, report = merged("run", *two_shards(tmp_path))
    # Passed in each shard that reports them and nothing else: counted in the summary, as the
    # tests of one shard alone are, and not listed (README: --json).
    assert report["tests"] == []
    assert report["summary"] == {"passed": 5, "flaky": 0, "failed": 0, "skipped": 0, "quarantined": 0}
    assert report["failed"] is False


def test_the_history_records_a_pass_per_shard_in_one_run(run_cli, tmp_path: Path) -> None:
    result = run_cli("run", *two_shards(tmp_path), "--no-rerun", "--no-flakybot", "--record-history", "--history-db", "h.sqlite")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "recorded 8 attempts in the history" in result.stdout
    db = sqlite3.connect(tmp_path / "h.sqlite")
    rows = db.execute(
        "SELECT t.suite, t.classname, t.name, a.seq, a.outcome, a.duration_ms, a.run_id"
        " FROM attempts a JOIN tests t ON t.id = a.test_id ORDER BY t.name, a.seq"
    ).fetchall()
    [(run,)] = db.execute("SELECT id FROM runs").fetchall()
    assert rows == [
        ("pytest", "tests.test_mod", "test_a", 0, 0, 100, run),
        ("pytest", "tests.test_mod", "test_a", 1, 0, 250, run),
        ("pytest", "tests.test_mod", "test_b", 0, 0, 1000, run),
        ("pytest", "tests.test_mod", "test_b", 1, 0, 2500, run),
        ("pytest", "tests.test_mod", "test_c", 0, 0, 125, run),
        ("pytest", "tests.test_mod", "test_c", 1, 0, 125, run),
        ("pytest", "tests.test_mod", "test_one", 0, 0, 400, run),
        ("pytest", "tests.test_mod", "test_two", 0, 0, 700, run),
    ]
    assert db.execute("SELECT COUNT(*) FROM tests").fetchone() == (5,)


@pytest.mark.parametrize(
    "options, verdicts",
    [
        # Two passes, one per shard: enough for a test that needs two (a test of one shard is not).
        (("--min-passes", "2", "--max-runs", "3"), {"test_a": "passed", "test_b": "passed", "test_one": "failed"}),
        # ... and two passes, not one, for a test that needs three.
        (("--min-passes", "3", "--max-runs", "3"), {"test_a": "failed", "test_b": "failed", "test_one": "failed"}),
    ],
)
def test_each_shards_pass_counts_toward_min_passes(merged, tmp_path: Path, options, verdicts) -> None:
    result, root, report = merged("run", *two_shards(tmp_path), options=options, expect=1)
    listed = {test["name"]: test for test in report["tests"]}
    assert {name: listed[name]["verdict"] for name in verdicts} == verdicts
    needed = int(options[1])
    assert listed["test_a"]["reason"].startswith(f"passed 2 out of the required {needed} times")
    more = "1 more run" if needed == 2 else f"{needed - 1} more runs"
    assert listed["test_one"]["reason"] == f"passed 1 out of the required {needed} times; needs {more} (reruns disabled by --no-rerun)"
    cases = by_name(root)
    assert {name: category(cases[name]) for name in verdicts} == {
        name: "passed" if verdict == "passed" else "failure" for name, verdict in verdicts.items()
    }
    assert cases["test_a"].get("time") == "0.350"
    if verdicts["test_a"] == "passed":
        assert children(cases["test_a"]) == []
    else:
        assert [f.get("type") for f in cases["test_a"]] == ["junit_flaky.NotEnoughPasses"]
        assert "passed 2 out of the required 3 times; needs 1 more run" in result.stdout


def test_a_pyproject_entry_for_a_test_that_passed_in_both_shards(merged, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.junit-flaky]\n[[tool.junit-flaky.flaky_tests]]\ntest_name = "test_a"\nmin_passes = 2\nmax_runs = 3\n'
    )
    result, root, report = merged("run", *two_shards(tmp_path))
    [listed] = [test for test in report["tests"] if test["name"] == "test_a"]
    assert (listed["verdict"], listed["reason"]) == ("passed", "passed 2 out of the required 2 times")
    assert (listed["min_passes"], listed["max_runs"], listed["thresholds_source"]) == (2, 3, "pyproject.toml [tool.junit-flaky]")
    assert summary(5, passed=5) in result.stdout
    case = by_name(root)["test_a"]
    assert (category(case), children(case), case.get("time")) == ("passed", [], "0.350")


def test_a_pyproject_entry_needing_three_passes_counts_one_per_shard(merged, tmp_path: Path) -> None:
    """The entry watches the test: two passes (one per shard) of the three it needs, shown in the
    report and the XML, whatever --json lists."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.junit-flaky]\n[[tool.junit-flaky.flaky_tests]]\ntest_name = "test_a"\nmin_passes = 3\nmax_runs = 3\n'
    )
    result, root, report = merged("run", *two_shards(tmp_path), expect=1)
    assert summary(5, passed=4, failed=1) in result.stdout
    assert "tests.test_mod::test_a  (pass 3 of max 3; from pyproject.toml [tool.junit-flaky])" in result.stdout
    assert "test_a: FAILED - passed 2 out of the required 3 times; needs 1 more run (reruns disabled by --no-rerun)" in result.stdout
    case = by_name(root)["test_a"]
    assert (category(case), [f.get("type") for f in case], case.get("time")) == ("failure", ["junit_flaky.NotEnoughPasses"], "0.350")
    assert report["failed"] is True


@pytest.mark.parametrize("command", COMMANDS)
def test_two_suites_of_the_same_name_in_one_file_merge_their_repeated_test(merged, tmp_path: Path, command: str) -> None:
    root_text = jb.testsuites(
        jb.testsuite(jb.testcase("test_r", time="0.1"), jb.testcase("test_1", time="0.1"), name="a", tests="2"),
        jb.testsuite(jb.testcase("test_r", time="0.2"), jb.testcase("test_2", time="0.1"), name="a", tests="2"),
        name="all", sep="",
    )
    report = jb.write(tmp_path / "one.xml", root_text, encoding=None)
    result, root, js = merged(command, report)
    assert summary(3, passed=3) in result.stdout
    # One input: its root (name, no XML declaration) is kept.
    assert (tmp_path / "out.xml").read_text().startswith('<testsuites name="all" tests="3" failures="0" errors="0">')
    first, second = root.findall("testsuite")
    assert [(c.get("name"), c.get("time")) for c in first] == [("test_r", "0.300"), ("test_1", "0.1")]
    assert [(c.get("name"), c.get("time")) for c in second] == [("test_2", "0.1")]
    assert (first.get("tests"), second.get("tests")) == ("2", "1")
    if js is not None:
        assert js["tests"] == []  # passed in each suite that reports it: counted, not listed


# -- pytest-rerunfailures' reruns in a shard whose other tests are repeated elsewhere ----------------


def rerun_shard(path: Path, last: str) -> Path:
    """test_f was rerun by pytest-rerunfailures: an empty testcase, then its last attempt (``last``),
    and ``tests`` leaves the rerun out; test_a and test_b are in the other shard too."""
    failures = "1" if last == "failed" else "0"
    return shard(
        path,
        jb.testcase("test_a", time="0.1"),
        jb.testcase("test_f", time="0.5"),
        jb.testcase("test_f", last, message="still broken", text="t.py:3: AssertionError", time="0.25"),
        jb.testcase("test_b", time="0.1"),
        tests="3", failures=failures, errors="0", skipped="0",
    )


@pytest.mark.parametrize("rerun_first", [True, False], ids=["rerun-shard-first", "rerun-shard-second"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_rerun_stays_a_failed_attempt_when_its_suites_other_tests_merge(merged, tmp_path: Path, command: str, rerun_first: bool) -> None:
    rerun = rerun_shard(tmp_path / "rerun.xml", "passed")
    plain = shard(tmp_path / "plain.xml", jb.testcase("test_a", time="0.2"), jb.testcase("test_b", time="0.2"), tests="2")
    result, root, report = merged(command, *((rerun, plain) if rerun_first else (plain, rerun)))
    assert summary(3, passed=2, flaky=1) in result.stdout
    cases = by_name(root)
    assert {name: category(case) for name, case in cases.items()} == {"test_a": "passed", "test_b": "passed", "test_f": "flaky"}
    assert [(c.tag, c.get("message")) for c in cases["test_f"]] == [("flakyFailure", RERUN_KEPT_NO_DETAILS)]
    assert [cases[name].get("time") for name in ("test_a", "test_b", "test_f")] == ["0.300", "0.300", "0.750"]
    suite = next(cases["test_f"].iterancestors("testsuite"))
    # Counted in the suites' tests, not in a flakes attribute the input did not have (junit_checks).
    assert (suite.get("flakes"), root.get("flakes")) == (None, None)
    if report is not None:
        # test_a and test_b passed in each shard: counted, not listed.
        attempts = {t["name"]: [a["outcome"] for a in t["attempts"]] for t in report["tests"]}
        assert attempts == {"test_f": ["failed", "passed"]}
        assert {t["name"]: t["verdict"] for t in report["tests"]}["test_f"] == "flaky"


@pytest.mark.parametrize("rerun_first", [True, False], ids=["rerun-shard-first", "rerun-shard-second"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_test_rerun_and_failed_again_stays_failed_when_its_suites_other_tests_merge(
    merged, tmp_path: Path, command: str, rerun_first: bool
) -> None:
    rerun = rerun_shard(tmp_path / "rerun.xml", "failed")
    plain = shard(tmp_path / "plain.xml", jb.testcase("test_a", time="0.2"), jb.testcase("test_b", time="0.2"), tests="2")
    result, root, report = merged(command, *((rerun, plain) if rerun_first else (plain, rerun)), expect=1)
    assert summary(3, passed=2, failed=1) in result.stdout
    cases = by_name(root)
    assert {name: category(case) for name, case in cases.items()} == {"test_a": "passed", "test_b": "passed", "test_f": "failure"}
    # The failure readers show is the last attempt's, the one with details; the rerun that kept
    # none is a rerunFailure.
    assert [(c.tag, c.get("message")) for c in cases["test_f"]] == [("failure", "still broken"), ("rerunFailure", RERUN_KEPT_NO_DETAILS)]
    assert cases["test_f"].findtext("failure") == "t.py:3: AssertionError"
    assert (root.get("failures"), next(cases["test_f"].iterancestors("testsuite")).get("failures")) == ("1", "1")
    if report is not None:
        [test_f] = [t for t in report["tests"] if t["name"] == "test_f"]
        assert (test_f["verdict"], [a["outcome"] for a in test_f["attempts"]]) == ("failed", ["failed", "failed"])


@pytest.mark.parametrize("command", COMMANDS)
def test_repeats_a_suite_counts_in_tests_stay_passes_beside_tests_merged_from_another_shard(merged, tmp_path: Path, command: str) -> None:
    """``pytest --keep-duplicates`` ran test_k twice and counted both: no rerun, whatever of the
    suite (test_a, test_b) is also in the other shard."""
    plain = shard(tmp_path / "plain.xml", jb.testcase("test_a", time="0.2"), jb.testcase("test_b", time="0.2"), tests="2")
    keep = shard(
        tmp_path / "keep.xml",
        *(jb.testcase(name, time=time) for name, time in (("test_a", "0.2"), ("test_k", "0.1"), ("test_k", "0.1"), ("test_b", "0.2"))),
        tests="4",
    )
    for reports in ((plain, keep), (keep, plain)):
        result, root, report = merged(command, *reports)
        assert summary(3, passed=3) in result.stdout
        cases = by_name(root)
        assert {name: (category(case), case.get("time")) for name, case in cases.items()} == {
            "test_a": ("passed", "0.400"), "test_b": ("passed", "0.400"), "test_k": ("passed", "0.200"),
        }
        if report is not None:
            # test_k repeated within its suite is listed; test_a and test_b passed once per shard.
            assert {t["name"]: [a["outcome"] for a in t["attempts"]] for t in report["tests"]} == {"test_k": ["passed", "passed"]}


# -- tests whose copies differ --------------------------------------------------------------------


def pass_and(tmp_path: Path, other: str, pass_first: bool) -> Tuple[Path, Path]:
    """test_x passed in one shard and ended ``other`` in the other; test_a passed in both."""
    passed = shard(tmp_path / "passed.xml", jb.testcase("test_a", time="0.1"), jb.testcase("test_x", time="0.1"))
    other_shard = shard(
        tmp_path / "other.xml", jb.testcase("test_a", time="0.2"),
        jb.testcase("test_x", other, message="boom" if other != "skipped" else "no db", text="t.py:9: AssertionError", time="0.2"),
    )
    return (passed, other_shard) if pass_first else (other_shard, passed)


@pytest.mark.parametrize("pass_first", [True, False], ids=["pass-then-fail", "fail-then-pass"])
def test_passed_in_one_shard_failed_in_the_other_is_flaky(merged, tmp_path: Path, pass_first: bool) -> None:
    result, root, report = merged("run", *pass_and(tmp_path, "failed", pass_first))
    assert summary(2, passed=1, flaky=1) in result.stdout
    assert "test_x: FLAKY - passed 1 out of the required 1 time; failed 1 time" in result.stdout
    case = by_name(root)["test_x"]
    assert (category(case), case.get("time")) == ("flaky", "0.300")
    [flaky] = case
    assert (flaky.tag, flaky.get("message"), flaky.findtext("stackTrace")) == ("flakyFailure", "boom", "t.py:9: AssertionError")
    assert (category(by_name(root)["test_a"]), by_name(root)["test_a"].get("time")) == ("passed", "0.300")
    [test_x] = [t for t in report["tests"] if t["name"] == "test_x"]
    outcomes = ["passed", "failed"] if pass_first else ["failed", "passed"]
    assert (test_x["verdict"], [a["outcome"] for a in test_x["attempts"]]) == ("flaky", outcomes)


@pytest.mark.parametrize("pass_first", [True, False], ids=["pass-then-fail", "fail-then-pass"])
def test_merge_records_a_test_that_failed_in_one_shard_as_failed(merged, tmp_path: Path, pass_first: bool) -> None:
    """merge takes each copy's verdict as recorded: one copy failed, so the test failed."""
    result, root, _ = merged("merge", *pass_and(tmp_path, "failed", pass_first), expect=1)
    assert summary(2, passed=1, failed=1) in result.stdout
    case = by_name(root)["test_x"]
    # The pass is kept beside the failure, in the note that stands for a failed test's passes.
    note = ("rerunFailure", "junit-flaky: recorded failed, passed 1 of 2 runs")
    assert [(c.tag, c.get("message")) for c in case] == [("failure", "boom"), note]
    assert (case.get("time"), root.get("failures")) == ("0.300", "1")


@pytest.mark.parametrize("pass_first", [True, False], ids=["pass-then-skip", "skip-then-pass"])
@pytest.mark.parametrize("command", COMMANDS)
def test_passed_in_one_shard_skipped_in_the_other_is_passed(merged, tmp_path: Path, command: str, pass_first: bool) -> None:
    result, root, report = merged(command, *pass_and(tmp_path, "skipped", pass_first))
    assert summary(2, passed=2) in result.stdout
    case = by_name(root)["test_x"]
    assert (category(case), children(case), case.get("time")) == ("passed", [], "0.300")
    assert (root.get("skipped"), root.get("tests")) == (None, "2")
    if report is not None:
        [test_x] = [t for t in report["tests"] if t["name"] == "test_x"]
        outcomes = ["passed", "skipped"] if pass_first else ["skipped", "passed"]
        assert (test_x["verdict"], test_x["reason"], [a["outcome"] for a in test_x["attempts"]]) == (
            "passed", "passed 1 out of the required 1 time", outcomes,
        )


@pytest.mark.parametrize("command", COMMANDS)
def test_a_repeated_pass_shows_the_output_of_its_last_copy(merged, tmp_path: Path, command: str) -> None:
    """A test that passed in both shards, not self-closing in one: its written <system-out> is the
    last copy's, as a test passed several times shows its last pass's. Today the output of an
    earlier copy is not kept when the last copy printed nothing (test_early)."""
    first = shard(
        tmp_path / "shard-1.xml",
        jb.testcase("test_late", time="0.1"),
        jb.testcase("test_early", time="0.1", stdout="early out"),
        jb.testcase("test_both", time="0.1", stdout="out 1"),
    )
    second = shard(
        tmp_path / "shard-2.xml",
        jb.testcase("test_late", time="0.2", stdout="late out", stderr="late err"),
        jb.testcase("test_early", time="0.2"),
        jb.testcase("test_both", time="0.2", stdout="out 2"),
    )
    result, root, report = merged(command, first, second)
    assert summary(3, passed=3) in result.stdout
    cases = by_name(root)
    assert {name: (category(case), case.get("time")) for name, case in cases.items()} == dict.fromkeys(
        ["test_late", "test_early", "test_both"], ("passed", "0.300")
    )
    assert [(c.tag, c.text) for c in cases["test_late"]] == [("system-out", "late out"), ("system-err", "late err")]
    assert [(c.tag, c.text) for c in cases["test_both"]] == [("system-out", "out 2")]
    assert children(cases["test_early"]) == []
    if report is not None:
        assert {t["name"]: [a["outcome"] for a in t["attempts"]] for t in report["tests"]} == dict.fromkeys(
            ["test_late", "test_early", "test_both"], ["passed", "passed"]
        )


@pytest.mark.parametrize("seed", ["1", "2", "3"])
def test_which_tests_merge_does_not_depend_on_the_hash_seed(tmp_path: Path, seed: str) -> None:
    """Repeats are found through a filter of hash() bits, and Python seeds str hashes per process:
    with thousands of tests, some testcases hit a bit another test set. Every test that passed in
    both shards is still merged, not listed, whatever the seed."""
    cases = [jb.testcase(f"test_{i}", time="0.01") for i in range(3000)]
    reports = [shard(tmp_path / f"shard-{n}.xml", *cases) for n in (1, 2)]
    js = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "junit_flaky", "run", *map(str, reports), "--no-rerun", "--no-flakybot", "-o", str(tmp_path / "out.xml"), "--json", str(js)],
        env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(js.read_text())
    assert (report["tests"], report["summary"]["passed"]) == ([], 3000)


def test_testcases_holding_only_blanks_merge_as_self_closing_ones_do(merged, tmp_path: Path) -> None:
    """jest-junit, Playwright, vitest and gotestsum write a pass as ``<testcase ...>`` blanks
    ``</testcase>``: such tests merge too, written with the first copy's blanks (line ends as XML
    reads them); one with anything else inside (a comment) stays a test with two attempts."""
    jest = '<testcase classname="{c}" name="{n}" time="{t}">{inside}</testcase>'
    first = shard(
        tmp_path / "shard-1.xml",
        jest.format(c="a", n="test_blank", t="0.1", inside="\r\n    "),
        jest.format(c="a", n="test_comment", t="0.1", inside="<!-- retried -->"),
        jest.format(c="a", n="test_mixed", t="0.1", inside="\n"),
    )
    second = shard(
        tmp_path / "shard-2.xml",
        jest.format(c="a", n="test_blank", t="0.2", inside="\n"),
        jest.format(c="a", n="test_comment", t="0.2", inside="\n"),
        '<testcase classname="a" name="test_mixed" time="0.2"/>',
    )
    result, root, report = merged("run", first, second)
    assert summary(3, passed=3) in result.stdout
    assert [t["name"] for t in report["tests"]] == ["test_comment"]
    written = (tmp_path / "out.xml").read_text()
    assert '<testcase classname="a" name="test_blank" time="0.300">\n    </testcase>' in written
    assert '<testcase classname="a" name="test_mixed" time="0.300">\n</testcase>' in written
    assert {name: case.get("time") for name, case in by_name(root).items()} == dict.fromkeys(
        ["test_blank", "test_comment", "test_mixed"], "0.300"
    )


@pytest.mark.parametrize("end_tag", ["</testcase>", "</testcase >", "</testcase" + " " * 300 + ">"], ids=["plain", "blank", "300-blanks"])
def test_a_blank_testcase_merges_whatever_its_end_tag_holds(merged, tmp_path: Path, end_tag: str) -> None:
    """The end of a testcase holding only blanks is found past its end tag's blanks (an end tag
    with more than 256 may leave the test tracked, depending on what else was read with it: the
    same XML either way); a lone CR among the blanks is a line end, as XML reads it."""
    blank = '<testcase classname="a" name="{n}" time="{t}">{inside}' + end_tag
    first = shard(tmp_path / "shard-1.xml", blank.format(n="test_cr", t="0.1", inside="\r  "), blank.format(n="test_b", t="0.1", inside="\n"))
    second = shard(tmp_path / "shard-2.xml", blank.format(n="test_cr", t="0.2", inside="\n"), blank.format(n="test_b", t="0.2", inside=""))
    result, root, report = merged("run", first, second)
    assert summary(2, passed=2) in result.stdout
    if len(end_tag) < 256:
        assert report["tests"] == []
    written = (tmp_path / "out.xml").read_text()
    assert '<testcase classname="a" name="test_cr" time="0.300">\n  </testcase>' in written
    assert '<testcase classname="a" name="test_b" time="0.300">\n</testcase>' in written
    first_suite, second_suite = root.iter("testsuite")
    assert (len(first_suite), len(second_suite), second_suite.get("tests")) == (2, 0, "0")
