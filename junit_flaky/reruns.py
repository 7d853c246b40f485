"""Targeted reruns: decide every open verdict in one pytest process.

The tool writes a plan (the open tests, by JUnit identity, with countdowns from verdicts.py: the
passes they still need and the failures they can still afford), starts the user's pytest once with
the plugin ``pytest_plugin.py`` loaded, and reads the plugin's JSON lines as they come: every
attempt, and a "start" line before each one, so a crash or a hang is pinned on the test that caused
it. Each attempt is decided here, through verdicts.py, from a running tally. After a crash or a
hang the process group is killed, the culprit gets an error attempt, and a new process takes the
tests that are still open. Collection is limited to the files the tests live in; pytest's own
collection then maps identities to node ids inside that same process.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Sequence, Set

from junit_flaky import rerun_process
from junit_flaky.errors import JunitFlakyError
from junit_flaky.files import why_not_written
from junit_flaky.model import Attempt, Outcome, TestId, TestResult, labelled, shared_names
from junit_flaky.rerun_setup import PLUGIN_MODULE, base_command, environment
from junit_flaky.verdicts import Tally, close, countdown, judge, opened_by_a_failure, plural

if TYPE_CHECKING:
    from junit_flaky.rerun_prestart import Prestart

PLAN_VERSION = 2  # pytest_plugin.PLAN_VERSION: the plugin is copied, never imported, so both say it
POLL_SECONDS = 0.05
SELECTION_LIMIT = 100_000  # characters of test file names on the rerun's command line
PYTEST_EXIT = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}
# What a test gets whose xdist worker died under it: xdist said so, or the round ended with it running.
WORKER_CRASHED = "a rerun worker crashed"


@dataclass
class RerunOptions:
    command: List[str]  # the base command; empty means this interpreter's "python -m pytest"
    rootdir: Path
    workers: int = 1
    timeout: float = 600.0  # one attempt, a process's start and collection, or a stretch without a test running
    max_tests: int = 50  # more failing open tests than this is a broken build, not a flaky one
    log: Optional[Path] = None
    budget: Optional[float] = None  # seconds for the whole rerun step; None: no limit
    # The first round's process, started while the reports were read (rerun_prestart), if any:
    # its folder is the reruns' and it is used if it was started as the round would start it.
    ahead: Optional["Prestart"] = None


@dataclass
class RerunSummary:
    notes: List[str] = field(default_factory=list)  # what the user should know, one line each
    log_tail: List[str] = field(default_factory=list)  # the rerun's last output lines, when it went wrong


class Progress:
    """What the user sees while reruns go on; the CLI gives a rich or a plain one."""

    def begin(self, total: int) -> None: ...

    # ``name``: the test as the report names it (``Rerunner.name``), the same in every line.
    def running(self, name: str, rerun: int) -> None: ...  # rerun: 1 for its first rerun, across processes

    def decided(self, result: TestResult, name: str) -> None: ...

    def end(self) -> None: ...


Starter = Callable[[List[str], Path, Dict[str, str], IO[bytes]], rerun_process.RerunProcess]


def guess_file(test: TestId, rootdir: Path) -> Optional[str]:
    """The test file a JUnit identity most likely comes from, only to limit collection.

    pytest's classname is the file path with "/" turned to "." and ".py" dropped, then the
    classes; a --junit-prefix adds leading parts. The longest existing path wins. pytest's own
    collection decides what the test really is, so a wrong guess costs only its absence.
    """
    if test.file and (rootdir / test.file).is_file():
        return test.file
    parts = test.classname.split(".")
    for first in range(len(parts)):
        for last in range(len(parts), first, -1):
            relative = "/".join(parts[first:last]) + ".py"
            if (rootdir / relative).is_file():
                return relative
    return None


def _attempt_from(event: dict) -> Attempt:
    try:
        outcome = Outcome(event.get("outcome"))
    except ValueError:
        outcome = Outcome.ERROR
    return Attempt(
        outcome=outcome,
        time=float(event.get("time") or 0.0),
        message=str(event.get("message") or ""),
        type=str(event.get("type") or ""),
        text=str(event.get("text") or ""),
        stdout=str(event.get("stdout") or ""),
        stderr=str(event.get("stderr") or ""),
        location=str(event.get("location") or ""),
        rerun=True,
    )


def _error_attempt(message: str, elapsed: float = 0.0) -> Attempt:
    return Attempt(Outcome.ERROR, elapsed, message=message, type="junit_flaky.RerunError", text=message, rerun=True)


class _Tail:
    """Reads the JSON lines the plugin appends, as they appear, from every worker's file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.offsets: Dict[Path, int] = {}
        self.partial: Dict[Path, bytes] = {}

    def read(self) -> List[dict]:
        events = []
        for path in sorted(self.folder.glob("*.jsonl")):
            with open(path, "rb") as handle:
                handle.seek(self.offsets.get(path, 0))
                data = self.partial.pop(path, b"") + handle.read()
                self.offsets[path] = handle.tell()
            *lines, rest = data.split(b"\n")
            if rest:
                self.partial[path] = rest  # a line still being written
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    event["worker"] = path.stem
                    events.append(event)
        return events


class _Round:
    """One pytest process and what it tells us."""

    def __init__(self, results: Dict[str, TestResult], workdir: Path, number: int) -> None:
        self.results = results
        self.folder = workdir / f"round{number}"
        self.folder.mkdir()
        self.tail = _Tail(self.folder)
        self.matched: Set[str] = set()  # keys of the tests pytest collected
        self.unmatched: Optional[set] = None
        self.collect_errors: Set[str] = set()  # what pytest could not collect (files, by node id)
        self.deselected: Set[str] = set()  # keys of the tests the rerun command's own options left out
        self.running: Dict[str, tuple] = {}  # worker -> (key, started at)
        self.last_event = 0.0  # when the plugin last said something
        self.done = False
        self.attempted: Set[str] = set()  # keys of the tests that got an attempt in this round
        self.stopped: Dict[str, str] = {}  # key -> why the plugin stopped running it, when not for the session
        self.session_stopped = False  # pytest's session stopped before a test's verdict (--sw, a plugin)
        self.worker_crashed = False  # an xdist worker died, and xdist went on with a new one


class Rerunner:
    def __init__(
        self,
        options: RerunOptions,
        progress: Progress,
        starter: Starter = rerun_process.start,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.progress = progress
        self.starter = starter
        self.clock = clock
        self.summary = RerunSummary()
        self.interrupted: Optional[str] = None
        self.tallies: Dict[str, Tally] = {}  # key -> the tally of its attempts: O(1) per attempt
        self.reruns: Dict[str, int] = {}  # key -> the attempts recorded here (the plugin counts per process)
        self.shared: Set[str] = set()  # names that two open tests share (one test in two suites)
        self.deadline: Optional[float] = None  # when --rerun-budget is spent, on self.clock

    # -- the plan ---------------------------------------------------------------------------------

    def _plan(self, results: Dict[str, TestResult], folder: Path) -> Path:
        """The plan for one process: per test, the countdowns the plugin runs it by (the rule
        stays here, in verdicts.py; the plugin only counts down)."""
        tests = []
        for key, result in results.items():
            left = countdown(self.tallies[key], result.thresholds)
            tests.append(
                {
                    "key": key,
                    "classname": result.test.classname,
                    "name": result.test.name,
                    "file": result.test.file,
                    "passes_needed": left.passes_needed,
                    "failures_allowed": left.failures_allowed,
                }
            )
        path = folder / "plan.json"
        path.write_text(json.dumps({"version": PLAN_VERSION, "results_dir": str(folder), "tests": tests}))
        return path

    def _command(self, plan: Path, results: Dict[str, TestResult], workdir: Path) -> List[str]:
        base = base_command(self.options.command)
        files = [guess_file(r.test, self.options.rootdir) for r in results.values()]
        # One unknown file means we cannot limit collection without risking a miss; so many files
        # that the command line could not hold them (Linux: 2 MiB, the environment included) means
        # collecting everything and letting the plugin pick, slower but it runs.
        selection = sorted(set(files)) if all(files) else []
        if sum(len(f) + 1 for f in selection) > SELECTION_LIMIT:
            selection = []
        workers = ["-n", str(self.options.workers)] if self.options.workers > 1 else []
        return [
            *base,
            "-p",
            PLUGIN_MODULE,
            f"--junit-flaky-plan={plan}",
            # The last --junitxml wins: the user's own report (maybe from addopts) is left alone.
            f"--junitxml={workdir / 'rerun-junit.xml'}",
            # A flaky test fails on rerun: -x or --maxfail from addopts would end the process there,
            # leaving every later test without its reruns. The last --maxfail wins here too.
            "--maxfail=0",
            # A module that no longer imports loses its own tests, not everyone's reruns.
            "--continue-on-collection-errors",
            *workers,
            *selection,
        ]

    @contextlib.contextmanager
    def _workdir(self) -> Iterator[Path]:
        """The reruns' temporary folder: the process started ahead's, which it removes itself."""
        if self.options.ahead is not None:
            yield self.options.ahead.workdir
            return
        with tempfile.TemporaryDirectory(prefix="junit-flaky-") as temp:
            yield Path(temp)

    # -- running ----------------------------------------------------------------------------------

    def run(self, open_results: Sequence[TestResult]) -> RerunSummary:
        """Rerun ``open_results`` until each is decided: their attempts and decisions are updated
        in place, and a test that could not be decided ends failed, saying why."""
        if not open_results:
            return self.summary
        failing = sum(1 for r in open_results if opened_by_a_failure(r.decision))
        if failing > self.options.max_tests:
            self.summary.notes.append(
                f"{plural(failing, 'failing test needs', 'failing tests need')} reruns, more than --max-reruns-total ({self.options.max_tests}): that looks"
                " like a broken build, not flaky tests, so nothing was rerun; fix what fails, or raise --max-reruns-total"
            )
            close(open_results, "not rerun: too many failing tests need reruns (--max-reruns-total)")
            return self.summary
        pending = {f"t{i}": r for i, r in enumerate(open_results)}
        self.tallies = {k: Tally.of(a.outcome for a in r.attempts) for k, r in pending.items()}
        self.reruns = dict.fromkeys(pending, 0)
        self.shared = shared_names(r.test for r in open_results)
        self.deadline = None if self.options.budget is None else self.clock() + self.options.budget
        self.progress.begin(len(pending))
        previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            with self._workdir() as workdir:
                env = environment(workdir)
                number = 0
                # Finite: a round that records no attempt for a test closes it, unless the round
                # was cut short (a crash, a timeout, a stopped session) after recording another test's attempt. So
                # each round records at least one attempt or closes every test it ran, and a test
                # is decided within max_runs attempts (verdicts.py): at most sum(max_runs) rounds.
                while pending and not self.interrupted and not self._budget_spent():
                    number += 1
                    state = _Round(pending, workdir, number)
                    self._run_round(state, env, workdir)
                    pending = {k: r for k, r in pending.items() if r.decision.is_open}
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
            if self.interrupted:
                self._close(pending, f"reruns interrupted by {self.interrupted}")
            elif self._budget_spent():
                self._close(pending, f"rerun budget of {self.options.budget:g}s spent (--rerun-budget)")
            self.progress.end()
        return self.summary

    def _budget_spent(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def _close(self, results: Dict[str, TestResult], why: str) -> None:
        """End the still-open tests among ``results`` as failed, saying why, and show each one."""
        for key, result in results.items():
            if result.decision.is_open:
                close([result], why)
                self.progress.decided(result, self.name(result))

    def name(self, result: TestResult) -> str:
        """The test as the report names it (its JUnit identity, with its suite where two open
        tests share it), so one test reads the same in progress, notes and the report."""
        return labelled(str(result.test), result.test, self.shared)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.interrupted = signal.Signals(signum).name

    def _run_round(self, state: _Round, env: Dict[str, str], workdir: Path) -> None:
        plan = self._plan(state.results, state.folder)
        command = self._command(plan, state.results, workdir)
        log_path = self.options.log or workdir / "rerun.log"
        with _open_log(log_path, command) as log:
            ahead = self.options.ahead
            try:
                process = ahead.take(command, self.options.rootdir, env, log_path) if ahead is not None else None
                if process is None:
                    process = self.starter(command, self.options.rootdir, env, log)
            except rerun_process.RerunStartError as exc:
                self.summary.notes.append(str(exc))
                self._close(state.results, str(exc))
                return
            started = self.clock()
            killed_for: Optional[str] = None
            while True:
                self._consume(state)
                if process.poll() is not None:
                    break
                if self.interrupted:
                    killed_for = f"interrupted by {self.interrupted}"
                    process.kill()
                    break
                hung = self._hung(state, started)
                if hung or self._budget_spent():
                    killed_for = hung or f"the rerun budget of {self.options.budget:g}s is spent (--rerun-budget)"
                    process.kill()
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(POLL_SECONDS)  # returns the moment pytest exits
            process.kill()  # whatever it left behind goes too
            process.wait()
            self._consume(state)
        self._after_round(state, process.returncode, killed_for, log_path)

    def _hung(self, state: _Round, started: float) -> Optional[str]:
        limit = self.options.timeout
        now = self.clock()
        for key, since in state.running.values():
            if now - since > limit:
                self._record(state, key, _error_attempt(f"rerun timed out after {limit:g}s (--rerun-timeout)", now - since))
                return f"{self.name(state.results[key])} hung"
        if state.unmatched is None and now - started > limit:
            return f"pytest did not collect within {limit:g}s (--rerun-timeout)"
        if state.unmatched is not None and not state.running and now - state.last_event > limit:
            # No test runs, yet pytest goes on: a thread a test left behind keeps it from exiting,
            # or a hook hangs between tests.
            if state.done:
                return f"pytest did not exit within {limit:g}s after its session ended (--rerun-timeout)"
            return f"pytest ran no test for {limit:g}s (--rerun-timeout)"
        return None

    def _consume(self, state: _Round) -> None:
        for event in state.tail.read():
            state.last_event = self.clock()
            kind = event.get("event")
            worker = event.get("worker", "main")
            if kind == "collected":
                state.matched.update(k for k in event.get("matched") or {} if k in state.results)
                unmatched = set(event.get("unmatched") or ())
                # With xdist every worker collects; a test is missing only if all miss it.
                state.unmatched = unmatched if state.unmatched is None else state.unmatched & unmatched
                state.collect_errors.update(str(e) for e in event.get("errors") or ())
                state.deselected.update(str(k) for k in event.get("deselected") or ())
            elif kind == "start" and event.get("key") in state.results:
                key = event["key"]
                state.running[worker] = (key, self.clock())
                self.progress.running(self.name(state.results[key]), self.reruns[key] + 1)
            elif kind == "attempt" and event.get("key") in state.results:
                state.running.pop(worker, None)
                self._record(state, event["key"], _attempt_from(event))
            elif kind == "stopped" and event.get("key") in state.results:
                if event.get("why") != "session stopping":
                    state.stopped[event["key"]] = str(event.get("why"))
                else:  # the next process goes on with it, and with the tests after it
                    state.session_stopped = True
            elif kind == "worker down" and event.get("id") in state.running:
                state.worker_crashed = True
                key, _ = state.running.pop(event["id"])
                self._record(state, key, _error_attempt(f"{WORKER_CRASHED} during this test"))
            elif kind == "done" and worker == "main":
                state.done = True  # the controller's own; with xdist each worker says it too

    def _record(self, state: _Round, key: str, attempt: Attempt) -> None:
        result = state.results[key]
        result.attempts.append(attempt)
        state.attempted.add(key)
        self.tallies[key] = self.tallies[key].add(attempt.outcome)
        self.reruns[key] += 1
        result.decision = judge(self.tallies[key], result.thresholds)
        if not result.decision.is_open:
            self.progress.decided(result, self.name(result))

    def _after_round(self, state: _Round, returncode: int, killed_for: Optional[str], log: Path) -> None:
        # Cut short: killed, ended without the plugin's last word (a crash, an os._exit), or ended
        # by a test that never finished (KeyboardInterrupt, pytest.exit) or a session that stopped
        # (--sw), or by an xdist worker's death: pytest then says "done", yet the tests after that
        # one never ran.
        cut_short = (
            bool(killed_for) or not state.done or bool(state.running) or state.session_stopped or state.worker_crashed
        )
        went_wrong = cut_short
        if killed_for is None and state.running:
            # A "start" line without its "attempt" line: the process (or an xdist worker, when
            # the process still said "done") died during that test, which gets an error attempt.
            went_wrong = True
            how = f"signal {_signal_name(-returncode)}" if returncode < 0 else f"exit code {returncode}"
            for worker, (key, _) in list(state.running.items()):
                what = WORKER_CRASHED if state.done and worker != "main" else f"the rerun process crashed ({how})"
                self._record(state, key, _error_attempt(f"{what} during this test"))
        if returncode == 4 and self.options.workers > 1 and _lacks_xdist(log):
            raise JunitFlakyError(
                "--workers needs pytest-xdist in the environment the reruns run in: pip install pytest-xdist"
            )
        if state.unmatched:
            missing = {k: state.results[k] for k in state.unmatched if k not in state.matched}
            self._close(
                {k: r for k, r in missing.items() if k in state.deselected},
                "could not be rerun: the rerun command's options deselected it (-k, -m, --deselect or a plugin)",
            )
            missing = {k: r for k, r in missing.items() if k not in state.deselected}
            self._close(missing, f"could not be rerun: {self._why_not_collected(state, missing)}")
        if state.collect_errors:
            went_wrong = True  # the rerun's output shows pytest's error
        if returncode in PYTEST_EXIT and returncode != 5 or (state.unmatched is None and not killed_for):
            went_wrong = True
            self.summary.notes.append(f"the rerun process {describe_exit(returncode)}")
        if killed_for and not self.interrupted:
            self.summary.notes.append(f"the rerun process was stopped: {killed_for}")
        if went_wrong:
            self.summary.log_tail = _tail(log)
        if self.interrupted or self._budget_spent():
            return  # run() closes what is open, saying why
        for key, why in state.stopped.items():
            # The plugin counted down to its end, yet the test is open: no other round can help.
            self._close({key: state.results[key]}, f"the rerun stopped it ({why}) before its verdict")
        if cut_short and state.attempted:
            return  # the tests it did not reach get the next process
        why = killed_for or f"the rerun process {describe_exit(returncode)} without running it"
        self._close({k: r for k, r in state.results.items() if k not in state.attempted}, f"could not be rerun: {why}")

    def _why_not_collected(self, state: _Round, missing: Dict[str, TestResult]) -> str:
        errors = ""
        if state.collect_errors:
            files = sorted(error or "." for error in state.collect_errors)  # "": the session itself
            named = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            errors = f"could not collect {named} (the error is in the rerun's output)"
            if all(guess_file(result.test, self.options.rootdir) for result in missing.values()):
                return f"pytest {errors}"
        # A file of these tests is not in --rootdir: the errors, if any, are of the modules pytest
        # collected instead, which need not hold them.
        return (
            f"pytest collected no test with this identity in {self.options.rootdir}"
            + (f" and {errors}" if errors else "")
            + "; if the report was written from another directory, give that one with --rootdir"
        )


def _lacks_xdist(log: Path) -> bool:
    """pytest's own answer to ``-n`` without pytest-xdist: "error: unrecognized arguments: -n"."""
    return any(re.search(r"unrecognized arguments:.*(^|\s)-n(\s|$)", line) for line in _tail(log))


def describe_exit(returncode: int) -> str:
    """A pytest process's exit, as a process status (negative: a signal) or a shell's ``$?``
    (128 + N: killed by signal N)."""
    if returncode < 0:
        return f"died of signal {_signal_name(-returncode) or -returncode}"
    if returncode > 128 and _signal_name(returncode - 128):
        return f"exited with code {returncode} (killed by {_signal_name(returncode - 128)})"
    return f"exited with code {returncode}" + (f" ({PYTEST_EXIT[returncode]})" if returncode in PYTEST_EXIT else "")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return ""


def _open_log(path: Path, command: Sequence[str]) -> IO[bytes]:
    """The rerun log, to append to, beginning with the command that writes into it; its folder
    is made as the outputs' are. A log that cannot be written is the user's to fix, not a bug."""
    log = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log = open(path, "ab", buffering=0)  # unbuffered: pytest writes to the same file after this line
        log.write(f"$ {' '.join(command)}\n".encode())
    except OSError as exc:
        if log is not None:
            log.close()
        raise JunitFlakyError(f"{path}: cannot write the rerun log: {why_not_written(exc)}") from None
    return log


def _tail(log: Path, lines: int = 15) -> List[str]:
    """The rerun's last lines of output, shown when it went wrong."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in text if line.strip()][-lines:]
