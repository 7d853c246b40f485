"""End to end: a real test step, then `junit-flaky run` rerunning with real pytest.

Every project here is generated in tmp_path; flaky tests fail on chosen runs (a counter file), so
each case is deterministic. Faults (a crash, a hang, a signal to the tool, a broken rerun
command) are real processes misbehaving, not mocks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from junit_flaky.junit_attempts import NOT_ENOUGH_PASSES
from junit_flaky.model import Attempt, Outcome, TestId, TestResult, Thresholds, Verdict
from junit_flaky.reruns import Progress, RerunOptions, Rerunner
from junit_flaky.verdicts import decide
from tests.projects import Project, flaky_body

pytestmark = pytest.mark.reruns


def unittest_sample(project: Project, fail_on: list) -> None:
    """The seed's sample: a unittest TestSample class whose test_sample_random is flaky."""
    body = flaky_body("random", fail_on, indent="        ")
    project.write(
        "src/test_sample.py",
        "import unittest\n\n\nclass TestSample(unittest.TestCase):\n"
        "    def test_sample_dict(self):\n"
        "        from counters import run_number\n"
        "        run_number('dict')\n\n"
        f"    def test_sample_random(self):\n{body}",
    )


def thresholds(project: Project, min_passes: int, max_runs: int, name: str = "test_sample_random") -> str:
    path = project.root / "thresholds.json"
    path.write_text(json.dumps({"flaky_tests": [
        {"test_name": name, "class_name": "TestSample", "min_passes": min_passes, "max_runs": max_runs}
    ]}))
    return str(path)


def cases_by_name(path: Path) -> dict:
    """name -> the <testcase> element, asserting each name appears once."""
    root = etree.parse(str(path)).getroot()
    cases = root.iter("testcase")
    found = {}
    for case in cases:
        assert case.get("name") not in found, f"{case.get('name')} appears twice"
        found[case.get("name")] = case
    return found


def test_seed_example_one_fail_then_pass_is_flaky_and_green(tmp_path):
    project = Project(tmp_path)
    unittest_sample(project, fail_on=[1])
    report = project.pytest("src")
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--thresholds", thresholds(project, 1, 5))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(4 runs remaining out of 5)" in result.stdout
    assert "passed 1 out of the required 1 time;" in result.stdout
    assert "1 times" not in result.stdout and "(s)" not in result.stdout  # plurals as English has them
    assert project.runs("random") == 2
    case = cases_by_name(tmp_path / "final.xml")["test_sample_random"]
    assert [c.tag for c in case] == ["flakyFailure"]
    assert "run 1 fails" in case.find("flakyFailure").get("message")


def test_seed_example_two_pass_then_fail_twice_is_red(tmp_path):
    project = Project(tmp_path)
    unittest_sample(project, fail_on=[2, 3])
    report = project.pytest("src")
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--thresholds", thresholds(project, 2, 3))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "passed 1 out of the required 2 times" in result.stdout
    assert project.runs("random") == 3  # early stop: after run 3 two passes are out of reach
    case = cases_by_name(tmp_path / "final.xml")["test_sample_random"]
    # The first failure, the other, and the note that stands for its pass (NotEnoughPasses).
    assert [(c.tag, c.get("type")) for c in case] == [("failure", "AssertionError"), ("rerunFailure", "AssertionError"), ("rerunFailure", NOT_ENOUGH_PASSES)]


def test_tests_that_needed_nothing_are_not_rerun(tmp_path):
    project = Project(tmp_path)
    unittest_sample(project, fail_on=[1])
    report = project.pytest("src")
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--thresholds", thresholds(project, 1, 5))
    assert result.returncode == 0
    assert project.runs("dict") == 1


def test_passing_test_that_needs_two_passes_is_rerun(tmp_path):
    project = Project(tmp_path)
    unittest_sample(project, fail_on=[])
    report = project.pytest("src")
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--thresholds", thresholds(project, 2, 3))
    assert result.returncode == 0, result.stdout
    assert project.runs("random") == 2
    assert project.runs("dict") == 1


def test_unknown_test_is_reported_as_not_rerunnable(tmp_path):
    project = Project(tmp_path)
    unittest_sample(project, fail_on=[1])
    report = project.pytest("src")
    project.write("src/test_sample.py", "def test_other():\n    pass\n")  # the failing test is gone
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--thresholds", thresholds(project, 1, 5))
    assert result.returncode == 1
    assert "could not be rerun" in result.stdout
    assert f"in {tmp_path}" in result.stdout and "--rootdir" in result.stdout


def test_crash_in_a_rerun_is_pinned_on_its_test_and_the_others_still_rerun(tmp_path):
    project = Project(tmp_path)
    crash = flaky_body("crash", [1]) + "    if run == 2:\n        os._exit(3)\n"
    project.write(
        "test_mod.py",
        f"import os\n\ndef test_crash():\n{crash}\n\ndef test_later():\n{flaky_body('later', [1])}",
    )
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "3")
    assert result.returncode == 0, result.stdout + result.stderr  # crash counted as an error, then it passed
    cases = cases_by_name(tmp_path / "final.xml")
    assert [c.tag for c in cases["test_crash"]] == ["flakyFailure", "flakyError"]
    assert "crashed (exit code 3) during this test" in cases["test_crash"].find("flakyError").get("message")
    assert [c.tag for c in cases["test_later"]] == ["flakyFailure"]
    assert project.runs("crash") == 3 and project.runs("later") == 2


def test_segfault_in_a_rerun_ends_the_test_as_an_error(tmp_path):
    project = Project(tmp_path)
    crash = flaky_body("segv", [1]) + "    import ctypes\n    ctypes.string_at(0)\n"
    project.write("test_mod.py", f"def test_segv():\n{crash}")
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2")
    assert result.returncode == 1
    case = cases_by_name(tmp_path / "final.xml")["test_segv"]
    assert [c.tag for c in case] == ["failure", "rerunError"]
    assert "SIGSEGV" in case.find("rerunError").get("message")


def test_hanging_rerun_is_killed_after_the_timeout(tmp_path):
    project = Project(tmp_path)
    hang = flaky_body("hang", [1]) + "    import time\n    time.sleep(600)\n"
    project.write("test_mod.py", f"def test_hang():\n{hang}\n\ndef test_ok():\n{flaky_body('ok', [1])}")
    report = project.pytest()
    started = time.monotonic()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2", "--rerun-timeout", "3")
    assert time.monotonic() - started < 60
    assert result.returncode == 1
    cases = cases_by_name(tmp_path / "final.xml")
    assert "timed out after 3s" in cases["test_hang"].find("rerunError").get("message")
    assert [c.tag for c in cases["test_ok"]] == ["flakyFailure"]
    # Each test has one name on the console, its JUnit identity as the report and the XML give it.
    assert "the rerun process was stopped: test_mod::test_hang hung" in result.stdout
    assert "junit-flaky: rerun test_mod::test_ok: flaky after 1 rerun" in result.stdout
    assert "test_mod.py::" not in result.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_to_the_tool_keeps_what_finished_and_leaves_no_process(tmp_path, signum):
    project = Project(tmp_path)
    pidfile = tmp_path / "hung.pid"
    hang = flaky_body("hang", [1]) + f"    open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n    import time\n    time.sleep(600)\n"
    project.write("test_mod.py", f"import os\n\ndef test_hang():\n{hang}")
    report = project.pytest()
    command = [sys.executable, "-m", "junit_flaky", "run", str(report), "--output", "final.xml", "--max-runs", "2", "--no-flakybot"]
    tool = subprocess.Popen(command, cwd=tmp_path, env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline and tool.poll() is None, "the rerun never started"
        time.sleep(0.1)
    tool.send_signal(signum)
    out, err = tool.communicate(timeout=60)
    assert tool.returncode == 1, out + err
    assert "interrupted" in out
    case = cases_by_name(tmp_path / "final.xml")["test_hang"]
    assert case.find("failure") is not None
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)


def test_broken_rerun_command_is_reported_not_counted_as_test_failures(tmp_path):
    project = Project(tmp_path)
    project.write("test_mod.py", f"def test_flaky():\n{flaky_body('flaky', [1])}")
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--output", "final.xml", "--max-runs", "3",
        rerun_command=[sys.executable, "-m", "pytest", "--no-such-option"],
    )
    assert result.returncode == 1
    assert "exited with code 4 (usage error)" in result.stdout
    assert "no-such-option" in result.stderr  # the rerun's own words, for the user
    assert project.runs("flaky") == 1


def test_too_many_open_tests_reruns_nothing(tmp_path):
    project = Project(tmp_path)
    tests = "".join(f"def test_{i}():\n{flaky_body(str(i), [1])}\n" for i in range(3))
    project.write("test_mod.py", tests)
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "3", "--max-reruns-total", "2")
    assert result.returncode == 1
    assert "3 failing tests need reruns, more than --max-reruns-total (2)" in result.stdout
    assert all(project.runs(str(i)) == 1 for i in range(3))


def test_all_reruns_happen_in_one_process(tmp_path):
    project = Project(tmp_path)
    pids = tmp_path / "pids"
    record = f"    open({str(pids)!r}, 'a').write(str(os.getpid()) + '\\n')\n"
    tests = "".join(f"def test_{i}():\n{record}{flaky_body(str(i), [1, 2])}\n" for i in range(4))
    project.write("test_mod.py", "import os\n\n" + tests)
    report = project.pytest()
    pids.unlink()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "5")
    assert result.returncode == 0, result.stdout
    assert len(set(pids.read_text().split())) == 1
    assert len(pids.read_text().split()) == 8  # each test: runs 2 (fails) and 3 (passes)


def test_reruns_see_the_tokens_the_test_step_saw_and_not_junit_flakys_own(tmp_path):
    # The CI templates hand junit-flaky a token kept under another name as JUNIT_FLAKY_<name>,
    # for junit-flaky alone: a rerun that saw it would hold a secret the tests were never given,
    # and buildkite-test-collector there would upload with it. The standard names, which the
    # test step saw too, stay.
    project = Project(tmp_path)
    seen = tmp_path / "seen"
    record = (
        f"    with open({str(seen)!r}, 'a') as out:\n"
        "        out.write(repr((os.environ.get('JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN'),"
        " os.environ.get('JUNIT_FLAKY_AVIATOR_API_TOKEN'), os.environ.get('BUILDKITE_ANALYTICS_TOKEN'))) + '\\n')\n"
    )
    project.write("test_mod.py", f"import os\n\ndef test_x():\n{record}{flaky_body('x', [1])}")
    report = project.pytest()
    seen.unlink()
    tokens = {"JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN": "bk-own-0123456789", "JUNIT_FLAKY_AVIATOR_API_TOKEN": "av-own-0123456789",
              "BUILDKITE_ANALYTICS_TOKEN": "bk-step-0123456789"}
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2", env=tokens)
    assert result.returncode == 0, result.stdout + result.stderr
    assert seen.read_text() == "(None, None, 'bk-step-0123456789')\n"


def test_workers_rerun_with_xdist(tmp_path):
    pytest.importorskip("xdist")
    project = Project(tmp_path)
    tests = "".join(f"def test_{i}():\n{flaky_body(str(i), [1])}\n" for i in range(4))
    project.write("test_mod.py", tests)
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2", "--workers", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(project.runs(str(i)) == 2 for i in range(4))


def xdist_crash_project(tmp_path: Path, others: int, seconds: float) -> Project:
    """test_crash kills its xdist worker on its rerun (it failed first); test_0.. test_N-1 take
    ``seconds`` each and fail once."""
    pytest.importorskip("xdist")
    project = Project(tmp_path)
    crash = "def test_crash():\n    if run_number('crash') == 2:\n        os._exit(1)\n    assert False\n"
    rest = "".join(f"def test_{i}():\n    time.sleep({seconds})\n{flaky_body(str(i), [1])}\n" for i in range(others))
    project.write("test_mod.py", f"import os, time\nfrom counters import run_number\n\n{crash}{rest}")
    return project


def test_a_crashed_xdist_worker_is_pinned_on_its_test_while_the_others_go_on(tmp_path):
    # xdist replaces a worker that dies and the session goes on: the crash is that test's error
    # at once, not a hang found when the rerun has lasted --rerun-timeout, which would kill it.
    project = xdist_crash_project(tmp_path, others=12, seconds=1)
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--output", "final.xml", "--max-runs", "2", "--workers", "2", "--rerun-timeout", "4"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "hung" not in result.stdout and "stopped" not in result.stdout, result.stdout
    case = cases_by_name(tmp_path / "final.xml")["test_crash"]
    assert case.find("rerunError").get("message") == "a rerun worker crashed during this test"
    assert all(project.runs(str(i)) == 2 for i in range(12))


def test_tests_an_xdist_session_left_after_a_worker_crash_go_to_a_new_process(tmp_path):
    # With --max-worker-restart=0 xdist ends the session when a worker dies: the tests it did not
    # reach are rerun by the next process, not ended as tests the rerun could not run.
    project = xdist_crash_project(tmp_path, others=6, seconds=0.2)
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--output", "final.xml", "--max-runs", "2", "--workers", "2",
        rerun_command=[sys.executable, "-m", "pytest", "--max-worker-restart=0"],
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not be rerun" not in result.stdout, result.stdout
    assert all(project.runs(str(i)) == 2 for i in range(6))


@pytest.mark.parametrize(
    "pytest_args",
    [
        pytest.param([], id="default"),
        pytest.param(["--junit-prefix=ci"], id="junit-prefix"),
        pytest.param(["--import-mode=importlib"], id="importlib"),
        pytest.param(["-o", "junit_family=xunit1"], id="xunit1"),
    ],
)
def test_node_id_shapes_rerun_through_the_tool(tmp_path, pytest_args):
    project = Project(tmp_path)
    project.write("pkg/__init__.py", "")
    project.write(
        "pkg/tests/test_shapes.py",
        "import pytest\n\n"
        "class TestOuter:\n"
        "    class TestInner:\n"
        f"        def test_nested(self):\n{flaky_body('nested', [1], indent='            ')}\n"
        "@pytest.mark.parametrize('value', ['a b', 'x-y', '[z]', 'a::b', 'p/q', 'ü'])\n"
        f"def test_param(value):\n{flaky_body('param', [1], key='value')}",
    )
    report = project.pytest(*pytest_args)
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    # Each of the 7 tests failed its first run and passed its single rerun.
    assert project.runs("nested") == 2
    assert all(project.runs(v) == 2 for v in ["a b", "x-y", "[z]", "a::b", "p/q", "ü"])
    root = etree.parse(str(tmp_path / "final.xml")).getroot()
    assert len(list(root.iter("testcase"))) == 7
    assert len(list(root.iter("flakyFailure"))) == 7


@pytest.mark.parametrize("rootdir", ["absolute", "relative"])
def test_rootdir_option_reruns_in_another_folder(tmp_path, rootdir):
    project = Project(tmp_path / "repo")
    project.write("tests/test_x.py", f"def test_x():\n{flaky_body('x', [1])}")
    report = project.pytest()
    # A relative --rootdir is taken from the current directory, as every other path option is.
    given = str(project.root) if rootdir == "absolute" else "repo"
    result = subprocess.run(
        [sys.executable, "-m", "junit_flaky", "run", str(report), "--output", str(tmp_path / "final.xml"),
         "--max-runs", "2", "--rootdir", given, "--no-flakybot"],
        cwd=tmp_path, env=project.env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.runs("x") == 2


# -- tests that end on a skip, tests in two suites, budgets and guards -----------------------------


@pytest.mark.parametrize("skip", ["pytest.skip('only on the first run')", "pytest.xfail('known now')"])
def test_a_test_that_fails_then_skips_on_rerun_ends_failed_after_one_rerun(tmp_path, skip):
    project = Project(tmp_path)
    project.write(
        "test_mod.py",
        "import pytest\nfrom counters import run_number\n\n"
        f"def test_x():\n    if run_number('x') > 1:\n        {skip}\n    assert False, 'first run fails'\n",
    )
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "3", timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped on rerun after failing" in result.stdout
    assert project.runs("x") == 2  # the skip ended it: no second pytest, no endless rounds
    case = cases_by_name(tmp_path / "final.xml")["test_x"]
    assert case.find("failure") is not None


def test_the_same_test_in_two_suites_is_rerun_for_each_and_told_apart(tmp_path):
    project = Project(tmp_path)
    project.write("test_mod.py", f"def test_x():\n{flaky_body('x', [1, 2])}")
    first = project.pytest("-o", "junit_suite_name=shard1", report="shard1.xml")
    second = project.pytest("-o", "junit_suite_name=shard2", report="shard2.xml")
    result = project.junit_flaky("run", str(first), str(second), "--output", "final.xml", "--max-runs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.runs("x") == 4  # one original run and one rerun for each copy
    assert "could not be rerun" not in result.stdout
    for suite in ("shard1", "shard2"):
        assert f"test_mod::test_x (suite {suite})" in result.stdout


def test_rerun_budget_ends_the_reruns_and_fails_what_is_still_open(tmp_path):
    project = Project(tmp_path)
    project.write("test_mod.py", "import time\n\ndef test_slow():\n    time.sleep(1)\n    assert False\n")
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--output", "final.xml", "--max-runs", "100", "--rerun-budget", "3", timeout=60
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rerun budget of 3s spent (--rerun-budget)" in result.stdout
    reruns = cases_by_name(tmp_path / "final.xml")["test_slow"].findall("rerunFailure")
    assert 0 < len(reruns) < 10


def test_the_driver_records_a_thousand_runs_of_an_always_failing_test(tmp_path, monkeypatch):
    # Thresholds from a file stop at max_runs 100; the driver itself takes any number.
    project = Project(tmp_path)
    project.write("test_mod.py", f"def test_broken():\n{flaky_body('broken', range(1, 2000))}")
    limits = Thresholds(min_passes=1, max_runs=1000)
    first = [Attempt(Outcome.FAILED)]
    result = TestResult(TestId("test_mod", "test_broken"), limits, first, decide([Outcome.FAILED], limits))
    options = RerunOptions(command=[sys.executable, "-m", "pytest"], rootdir=tmp_path)
    monkeypatch.setenv("COUNTERS", str(project.counters))
    Rerunner(options, Progress()).run([result])
    assert project.runs("broken") == 999
    assert len(result.attempts) == 1000 and all(a.outcome is Outcome.FAILED for a in result.attempts)
    assert result.decision.verdict is Verdict.FAILED
    assert "passed 0 out of the required 1 time in 1000 runs (max 1000)" in result.decision.reason


def test_confirmation_reruns_of_passing_tests_are_not_a_broken_build(tmp_path):
    project = Project(tmp_path)
    project.write("test_mod.py", "".join(f"def test_{i}():\n{flaky_body(str(i), [])}\n" for i in range(3)))
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--output", "final.xml", "--min-passes", "2", "--max-runs", "2", "--max-reruns-total", "2"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(project.runs(str(i)) == 2 for i in range(3))


def test_workers_without_xdist_in_the_rerun_environment_is_a_usage_error(tmp_path):
    project = Project(tmp_path)
    project.write("test_mod.py", f"def test_flaky():\n{flaky_body('flaky', [1])}")
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--output", "final.xml", "--max-runs", "3", "--workers", "2",
        rerun_command=[sys.executable, "-m", "pytest", "-p", "no:xdist"],
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--workers needs pytest-xdist in the environment the reruns run in: pip install pytest-xdist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_crash_between_two_tests_leaves_the_later_one_to_a_new_process(tmp_path):
    project = Project(tmp_path)
    project.write(
        "conftest.py",
        "import os\n\n"
        "def pytest_runtest_logfinish(nodeid, location):\n"
        "    counter = os.path.join(os.environ['COUNTERS'], 'a')\n"
        "    if nodeid.endswith('test_a') and int(open(counter).read()) > 1:\n"
        "        os._exit(3)  # after test_a's rerun, before test_b's\n",
    )
    project.write("test_mod.py", f"def test_a():\n{flaky_body('a', [1])}\n\ndef test_b():\n{flaky_body('b', [1])}")
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.runs("a") == 2 and project.runs("b") == 2


def test_a_passing_test_that_skips_on_its_confirmation_rerun_ends_passed(tmp_path):
    project = Project(tmp_path)
    project.write(
        "test_mod.py",
        "import pytest\nfrom counters import run_number\n\n"
        "def test_x():\n    if run_number('x') > 1:\n        pytest.skip('only once')\n",
    )
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--min-passes", "2", "--max-runs", "3", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped, never failed" in result.stdout
    assert project.runs("x") == 2


def test_more_test_files_than_a_command_line_holds_are_rerun_from_a_full_collection(tmp_path):
    # --min-passes 2 makes every test open; naming all their files would pass Linux's 2 MiB
    # limit on a command line (600 files of 3.8 KiB paths here), and the rerun could not start.
    project = Project(tmp_path)
    deep = "/".join(c * 250 for c in "abcdefghijklmno")
    for i in range(600):
        project.write(f"{deep}/test_{i:03}.py", f"def test_x():\n{flaky_body(str(i), [])}")
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--min-passes", "2", "--max-runs", "2")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert all(project.runs(str(i)) == 2 for i in range(600))


def test_exitfirst_in_the_users_addopts_does_not_stop_the_reruns_at_their_first_failure(tmp_path):
    # Failing is what a flaky test does on rerun; -x (or --maxfail) from the user's configuration
    # would end the rerun at the first, and every test after it would go without its reruns.
    project = Project(tmp_path)
    project.write("pytest.ini", "[pytest]\naddopts = -x\n")
    project.write("test_mod.py", f"def test_a():\n{flaky_body('a', [1, 2])}\n\ndef test_b():\n{flaky_body('b', [1, 2])}")
    report = project.pytest("-o", "addopts=")
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.runs("a") == 3 and project.runs("b") == 3


def module_that_breaks_on_rerun(project: Project) -> Path:
    """test_a.py fails once then passes; test_b.py fails, then cannot even be imported on rerun."""
    project.write("test_a.py", f"def test_a():\n{flaky_body('a', [1])}")
    project.write(
        "test_b.py",
        "from counters import run_number\n\n"
        "if run_number('b-import') > 1:\n    raise ImportError('broken on rerun')\n\n"
        "def test_b():\n    assert False\n",
    )
    return project.pytest()


def test_a_module_that_fails_to_import_on_rerun_leaves_the_other_reruns_alone(tmp_path):
    project = Project(tmp_path)
    report = module_that_breaks_on_rerun(project)
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert project.runs("a") == 2
    assert "junit-flaky: rerun test_a::test_a: flaky after 1 rerun" in result.stdout


def test_a_test_whose_module_fails_to_import_on_rerun_is_told_so_not_sent_to_rootdir(tmp_path):
    project = Project(tmp_path)
    report = module_that_breaks_on_rerun(project)
    result = project.junit_flaky("run", str(report), "--json", "final.json", "--max-runs", "3")
    assert result.returncode == 1, result.stdout + result.stderr
    [reason] = [t["reason"] for t in json.loads((tmp_path / "final.json").read_text())["tests"] if t["name"] == "test_b"]
    assert "could not be rerun: pytest could not collect test_b.py (the error is in the rerun's output)" in reason
    assert "--rootdir" not in reason


def test_a_test_not_in_rootdir_is_sent_to_rootdir_though_another_module_there_fails_to_collect(tmp_path):
    # Its file is not in --rootdir, so the rerun collects all of that folder, where an unrelated
    # module fails to import: that module is not why the test could not be rerun.
    project = Project(tmp_path / "app")
    project.write("test_mod.py", f"def test_x():\n{flaky_body('x', [1])}")
    report = project.pytest()
    other = tmp_path / "other"
    other.mkdir()
    (other / "test_unrelated.py").write_text("raise ImportError('needs an extra')\n")
    result = project.junit_flaky("run", str(report), "--json", "final.json", "--max-runs", "3", "--rootdir", str(other))
    assert result.returncode == 1, result.stdout + result.stderr
    [reason] = [t["reason"] for t in json.loads((project.root / "final.json").read_text())["tests"]]
    assert f"could not be rerun: pytest collected no test with this identity in {other}" in reason
    assert "give that one with --rootdir" in reason and "test_unrelated.py" in reason


@pytest.mark.parametrize("selection", [["-k", "not test_x"], ["-m", "slow"], ["--deselect", "test_mod.py::test_x"]])
def test_a_test_the_rerun_command_deselects_is_told_so_not_sent_to_rootdir(tmp_path, selection):
    # pytest collected the test, but the options after -- left it out: --rootdir would not help.
    project = Project(tmp_path)
    project.write("test_mod.py", f"def test_x():\n{flaky_body('x', [1])}\n\ndef test_y():\n{flaky_body('y', [1])}")
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--json", "final.json", "--max-runs", "3",
        rerun_command=[sys.executable, "-m", "pytest", *selection],
    )
    assert result.returncode == 1, result.stdout + result.stderr
    reasons = {t["name"]: t["reason"] for t in json.loads((project.root / "final.json").read_text())["tests"]}
    assert reasons["test_x"].endswith(
        "could not be rerun: the rerun command's options deselected it (-k, -m, --deselect or a plugin))"
    ), reasons["test_x"]
    assert project.runs("x") == 1
    if selection[0] != "-m":
        assert project.runs("y") == 2  # the others are rerun as usual


def test_a_rerun_that_hangs_after_its_last_test_is_killed_after_the_timeout(tmp_path):
    # A test that leaves a non-daemon thread behind keeps pytest from exiting once the session
    # has ended; no test is running then, yet the rerun must not wait for ever.
    project = Project(tmp_path)
    linger = "    import threading, time\n    threading.Thread(target=time.sleep, args=(600,)).start()\n"
    project.write("test_mod.py", f"def test_lingers():\n{flaky_body('lingers', [1])}{linger}")
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2", "--rerun-timeout", "3", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the rerun process was stopped: pytest did not exit within 3s after its session ended (--rerun-timeout)" in result.stdout
    assert "junit-flaky: rerun test_mod::test_lingers: flaky after 1 rerun" in result.stdout


@pytest.mark.parametrize("stop", ["raise KeyboardInterrupt", "pytest.exit('enough')"])
def test_a_test_that_ends_the_session_leaves_the_later_tests_to_a_new_process(tmp_path, stop):
    # pytest ends its session in order, but the tests after the one that stopped it never ran:
    # they are rerun as after a crash, not ended as tests the rerun could not run.
    project = Project(tmp_path)
    project.write(
        "test_mod.py",
        "import pytest\nfrom counters import run_number\n\n"
        f"def test_a():\n    if run_number('a') == 2:\n        {stop}\n    assert False\n\n"
        f"def test_b():\n{flaky_body('b', [1])}",
    )
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--json", "final.json", "--max-runs", "3")
    assert result.returncode == 1, result.stdout + result.stderr
    verdicts = {t["name"]: t["verdict"] for t in json.loads((project.root / "final.json").read_text())["tests"]}
    assert verdicts == {"test_a": "failed", "test_b": "flaky"}, result.stdout
    assert project.runs("b") == 2


def test_a_session_stopped_after_a_failure_leaves_the_later_tests_to_a_new_process(tmp_path):
    # --sw (stepwise) in the rerun command stops pytest's session at its first failure, between
    # two tests: the later ones never ran, and the next process takes them.
    project = Project(tmp_path)
    project.write("test_mod.py", "".join(f"def test_{i}():\n{flaky_body(str(i), [1, 2])}\n" for i in range(3)))
    report = project.pytest()
    result = project.junit_flaky(
        "run", str(report), "--json", "final.json", "--max-runs", "4",
        rerun_command=[sys.executable, "-m", "pytest", "--sw"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = {t["name"]: t["verdict"] for t in json.loads((project.root / "final.json").read_text())["tests"]}
    assert verdicts == {"test_0": "flaky", "test_1": "flaky", "test_2": "flaky"}, result.stdout
    assert [project.runs(str(i)) for i in range(3)] == [3, 3, 3]


def test_a_test_that_ends_the_session_is_not_said_to_have_crashed_a_worker(tmp_path):
    project = Project(tmp_path)
    project.write(
        "test_mod.py",
        "import pytest\nfrom counters import run_number\n\n"
        "def test_x():\n    if run_number('x') > 1:\n        pytest.exit('enough')\n    assert False\n",
    )
    report = project.pytest()
    result = project.junit_flaky("run", str(report), "--output", "final.xml", "--max-runs", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    case = cases_by_name(tmp_path / "final.xml")["test_x"]
    assert case.find("rerunError").get("message") == "the rerun process crashed (exit code 2) during this test"
