"""The driver's rounds against plugins that misbehave: every run of the reruns ends.

The rerun process is replaced at its one seam (``Rerunner(starter=...)``) by a stand-in that writes
the plugin's JSON lines as a broken plugin would; the real plugin and real pytest are tested in
test_reruns.py and test_pytest_plugin.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, List

import pytest

from junit_flaky.model import Attempt, Outcome, TestId, TestResult, Thresholds, Verdict
from junit_flaky.reruns import Progress, RerunOptions, Rerunner
from junit_flaky.verdicts import decide


class Finished:
    """A process that has already exited with ``code``."""

    def __init__(self, code: int) -> None:
        self.returncode = code

    def poll(self) -> int:
        return self.returncode

    def wait(self, timeout: object = None) -> int:
        return self.returncode

    def kill(self) -> None:
        pass


def plugin_stand_in(lines_for: Callable[[List[dict]], List[dict]], rounds: List[int]):
    """A starter whose "process" writes ``lines_for(plan tests)`` as the plugin's results: the lines
    of ``main.jsonl``, or a dict of them by results file (xdist's ``gw0``, ...)."""

    def start(command: List[str], cwd: Path, env: dict, log: object) -> Finished:
        plan_path = next(a.split("=", 1)[1] for a in command if a.startswith("--junit-flaky-plan="))
        plan = json.loads(Path(plan_path).read_text())
        rounds.append(len(plan["tests"]))
        lines = lines_for(plan["tests"])
        files = lines if isinstance(lines, dict) else {"main": lines}  # results file (worker) -> its lines
        for worker, written in files.items():
            Path(plan["results_dir"], f"{worker}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in written))
        return Finished(1)

    return start


def open_result(name: str, limits: Thresholds) -> TestResult:
    return TestResult(TestId("test_mod", name), limits, [Attempt(Outcome.FAILED)], decide([Outcome.FAILED], limits))


def first_test_only(outcome: str, why: str) -> Callable[[List[dict]], List[dict]]:
    """Each process runs one attempt of the first planned test, then stops the session."""

    def lines(tests: List[dict]) -> List[dict]:
        key = tests[0]["key"]
        matched = {t["key"]: "test_mod.py::" + t["name"] for t in tests}
        return [
            {"event": "collected", "matched": matched, "unmatched": []},
            {"event": "start", "key": key, "nodeid": matched[key], "attempt": 1},
            {"event": "attempt", "key": key, "nodeid": matched[key], "attempt": 1, "outcome": outcome},
            {"event": "stopped", "key": key, "why": why},
            {"event": "done", "exitstatus": 1},
        ]

    return lines


@pytest.mark.parametrize("outcome", ["failed", "passed", "skipped", "error"])
@pytest.mark.parametrize("why", ["session stopping", "out of runs"])
def test_every_round_records_an_attempt_or_closes_what_it_did_not_run(tmp_path, outcome, why):
    limits = Thresholds(min_passes=3, max_runs=6)
    results = [open_result(name, limits) for name in ("test_a", "test_b")]
    rounds: List[int] = []
    options = RerunOptions(command=["pytest"], rootdir=tmp_path)
    Rerunner(options, Progress(), starter=plugin_stand_in(first_test_only(outcome, why), rounds)).run(results)
    assert all(not r.decision.is_open for r in results)
    if why == "session stopping":
        # The session stopped before test_b: the next processes take it, each recording an attempt.
        assert rounds[0] == 2 and len(rounds) <= 2 * limits.max_runs
        assert "could not be rerun" not in results[1].decision.reason and len(results[1].attempts) > 1
        return
    assert len(rounds) <= limits.max_runs
    assert rounds[0] == 2 and all(n == 1 for n in rounds[1:])  # test_b was closed after round one
    assert "could not be rerun" in results[1].decision.reason


def test_a_workers_last_word_is_not_the_processs(tmp_path):
    # With xdist each worker ends its session too; only the controller's "done" says the process
    # ended as planned. Without it a test the process never reached goes to the next process.
    def lines(tests: List[dict]) -> dict:
        worker = first_test_only("failed", "session stopping")(tests)
        return {"gw0": worker} if len(tests) == 2 else {"gw0": worker, "main": [{"event": "done", "exitstatus": 1}]}

    limits = Thresholds(min_passes=1, max_runs=6)
    results = [open_result(name, limits) for name in ("test_a", "test_b")]
    rounds: List[int] = []
    Rerunner(RerunOptions(command=["pytest"], rootdir=tmp_path), Progress(), starter=plugin_stand_in(lines, rounds)).run(results)
    assert rounds[:2] == [2, 2]  # the controller died without its "done": test_b was not closed
    assert all(not r.decision.is_open and "could not be rerun" not in r.decision.reason for r in results)
    assert [len(r.attempts) for r in results] == [6, 6]


def test_no_failing_test_allowed_starts_no_process_and_says_so_in_english(tmp_path):
    limits = Thresholds(min_passes=1, max_runs=3)
    results = [open_result("test_a", limits)]
    rounds: List[int] = []
    options = RerunOptions(command=["pytest"], rootdir=tmp_path, max_tests=0)
    summary = Rerunner(options, Progress(), starter=plugin_stand_in(lambda tests: [], rounds)).run(results)
    assert rounds == []
    assert summary.notes == [
        "1 failing test needs reruns, more than --max-reruns-total (0): that looks like a broken build,"
        " not flaky tests, so nothing was rerun; fix what fails, or raise --max-reruns-total"
    ]
    assert results[0].decision.verdict is Verdict.FAILED


def test_the_rerun_shown_as_running_is_counted_across_processes(tmp_path):
    class Seen(Progress):
        def __init__(self) -> None:
            self.running_reruns: List[int] = []

        def running(self, name: str, rerun: int) -> None:
            self.running_reruns.append(rerun)

    limits = Thresholds(min_passes=1, max_runs=4)
    seen = Seen()
    rounds: List[int] = []
    starter = plugin_stand_in(first_test_only("failed", "session stopping"), rounds)  # one attempt a process
    Rerunner(RerunOptions(command=["pytest"], rootdir=tmp_path), seen, starter=starter).run([open_result("test_a", limits)])
    assert seen.running_reruns == [1, 2, 3]


def test_a_budget_spent_before_the_first_process_starts_none(tmp_path):
    limits = Thresholds(min_passes=2, max_runs=2)
    results = [open_result("test_a", limits)]
    results[0].attempts[0] = Attempt(Outcome.PASSED)
    results[0].decision = decide([Outcome.PASSED], limits)
    rounds: List[int] = []
    options = RerunOptions(command=["pytest"], rootdir=tmp_path, budget=0)
    Rerunner(options, Progress(), starter=plugin_stand_in(lambda tests: [], rounds)).run(results)
    assert rounds == []
    assert results[0].decision.verdict is Verdict.FAILED
    assert "rerun budget of 0s spent (--rerun-budget)" in results[0].decision.reason


@pytest.mark.parametrize("outcome", ["failed", "passed", "skipped", "error"])
def test_processes_that_never_say_done_still_end_the_reruns(tmp_path, outcome):
    # Each process dies after one attempt of the first test (no "done"): the others wait for the
    # next process, and every process records an attempt, so the rounds are bounded by max_runs.
    def lines(tests: List[dict]) -> List[dict]:
        return [line for line in first_test_only(outcome, "session stopping")(tests) if line["event"] != "done"]

    limits = Thresholds(min_passes=3, max_runs=4)
    results = [open_result(name, limits) for name in ("test_a", "test_b", "test_c")]
    rounds: List[int] = []
    Rerunner(RerunOptions(command=["pytest"], rootdir=tmp_path), Progress(), starter=plugin_stand_in(lines, rounds)).run(results)
    assert all(not r.decision.is_open for r in results)
    assert len(rounds) <= 3 * (limits.max_runs - 1)
    assert all("could not be rerun" not in r.decision.reason for r in results)
