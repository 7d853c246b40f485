"""Targeted reruns: decide every open verdict in one pytest process.

The tool writes a plan (the open tests, by JUnit identity, with the passes they still need and the
runs they may still use), starts the user's pytest once with the plugin ``pytest_plugin.py``
loaded, and reads the plugin's JSON lines as they come: every attempt, and a "start" line before
each one, so a crash or a hang is pinned on the test that caused it. After a crash or a hang the
process group is killed, the culprit gets an error attempt, and a new process takes the tests that
are still open. Collection is limited to the files the tests live in; pytest's own collection
then maps identities to node ids inside that same process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Dict, List, Optional, Sequence

from junit_flaky import rerun_process
from junit_flaky.model import Attempt, Outcome, TestId, TestResult
from junit_flaky.verdicts import close_open, decide, runs_left

PLUGIN_MODULE = "junit_flaky_rerun"
POLL_SECONDS = 0.05
PYTEST_EXIT = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


@dataclass
class RerunOptions:
    command: List[str]  # the base command; empty means this interpreter's "python -m pytest"
    rootdir: Path
    workers: int = 1
    timeout: float = 600.0  # one attempt, or a process's start and collection
    max_tests: int = 50  # more open tests than this is a broken build, not a flaky one
    log: Optional[Path] = None


@dataclass
class RerunSummary:
    notes: List[str] = field(default_factory=list)  # what the user should know, one line each
    log_tail: List[str] = field(default_factory=list)  # the rerun's last output lines, when it went wrong


class Progress:
    """What the user sees while reruns go on; the CLI gives a rich or a plain one."""

    def begin(self, total: int) -> None: ...

    def running(self, nodeid: str, attempt: int) -> None: ...

    def decided(self, result: TestResult, nodeid: str) -> None: ...

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
        self.nodeids: Dict[str, str] = {}
        self.unmatched: Optional[set] = None
        self.running: Dict[str, tuple] = {}  # worker -> (key, nodeid, started at)
        self.done = False
        self.attempts = 0


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

    # -- the plan ---------------------------------------------------------------------------------

    def _plan(self, results: Dict[str, TestResult], folder: Path) -> Path:
        tests = []
        for key, result in results.items():
            outcomes = [a.outcome for a in result.attempts]
            tests.append(
                {
                    "key": key,
                    "classname": result.test.classname,
                    "name": result.test.name,
                    "file": result.test.file,
                    "min_passes": result.thresholds.min_passes,
                    "passes": result.decision.passes,
                    "runs_left": runs_left(outcomes, result.thresholds),
                }
            )
        path = folder / "plan.json"
        path.write_text(json.dumps({"version": 1, "results_dir": str(folder), "tests": tests}))
        return path

    def _command(self, plan: Path, results: Dict[str, TestResult], workdir: Path) -> List[str]:
        base = list(self.options.command) or [sys.executable, "-m", "pytest"]
        files = [guess_file(r.test, self.options.rootdir) for r in results.values()]
        # One unknown file means we cannot limit collection without risking a miss.
        selection = sorted(set(files)) if all(files) else []
        workers = ["-n", str(self.options.workers)] if self.options.workers > 1 else []
        return [
            *base,
            "-p",
            PLUGIN_MODULE,
            f"--junit-flaky-plan={plan}",
            # The last --junitxml wins: the user's own report (maybe from addopts) is left alone.
            f"--junitxml={workdir / 'rerun-junit.xml'}",
            *workers,
            *selection,
        ]

    def _environment(self, workdir: Path) -> Dict[str, str]:
        # Only the plugin file goes on the path, so the user's interpreter needs nothing of ours.
        plugin_dir = workdir / "plugin"
        plugin_dir.mkdir(exist_ok=True)
        shutil.copyfile(Path(__file__).with_name("pytest_plugin.py"), plugin_dir / f"{PLUGIN_MODULE}.py")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH", "")]))
        return env

    # -- running ----------------------------------------------------------------------------------

    def run(self, open_results: Sequence[TestResult]) -> RerunSummary:
        """Rerun ``open_results`` until each is decided: their attempts and decisions are updated
        in place, and a test that could not be decided ends failed, saying why."""
        if not open_results:
            return self.summary
        if len(open_results) > self.options.max_tests:
            self.summary.notes.append(
                f"{len(open_results)} tests need reruns, more than --max-reruns-total"
                f" ({self.options.max_tests}): that looks like a broken build, not flaky tests, so"
                " nothing was rerun"
            )
            close_open(open_results, "not rerun: too many tests need reruns (--max-reruns-total)")
            return self.summary
        pending = {f"t{i}": r for i, r in enumerate(open_results)}
        self.progress.begin(len(pending))
        previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            with tempfile.TemporaryDirectory(prefix="junit-flaky-") as temp:
                workdir = Path(temp)
                env = self._environment(workdir)
                number = 0
                while pending and not self.interrupted:
                    number += 1
                    state = _Round(pending, workdir, number)
                    self._run_round(state, env, workdir)
                    pending = {k: r for k, r in pending.items() if r.decision.is_open}
                    if state.attempts == 0:
                        break  # nothing moved: another process would do the same
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
            self.progress.end()
        why = f"reruns interrupted by {self.interrupted}" if self.interrupted else "the reruns stopped early"
        close_open(pending.values(), why)
        return self.summary

    def _on_signal(self, signum: int, frame: object) -> None:
        self.interrupted = signal.Signals(signum).name

    def _run_round(self, state: _Round, env: Dict[str, str], workdir: Path) -> None:
        plan = self._plan(state.results, state.folder)
        command = self._command(plan, state.results, workdir)
        log_path = self.options.log or workdir / "rerun.log"
        with open(log_path, "ab") as log:
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            try:
                process = self.starter(command, self.options.rootdir, env, log)
            except rerun_process.RerunStartError as exc:
                self.summary.notes.append(str(exc))
                close_open(state.results.values(), str(exc))
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
                if hung:
                    killed_for = hung
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
        for key, nodeid, since in state.running.values():
            if now - since > limit:
                self._record(state, key, _error_attempt(f"rerun timed out after {limit:g}s (--rerun-timeout)", now - since))
                return f"{nodeid} hung"
        if state.unmatched is None and now - started > limit:
            return f"pytest did not collect within {limit:g}s (--rerun-timeout)"
        return None

    def _consume(self, state: _Round) -> None:
        for event in state.tail.read():
            kind = event.get("event")
            worker = event.get("worker", "main")
            if kind == "collected":
                state.nodeids.update({k: v for k, v in (event.get("matched") or {}).items() if k in state.results})
                unmatched = set(event.get("unmatched") or ())
                # With xdist every worker collects; a test is missing only if all miss it.
                state.unmatched = unmatched if state.unmatched is None else state.unmatched & unmatched
            elif kind == "start" and event.get("key") in state.results:
                key = event["key"]
                nodeid = str(event.get("nodeid", ""))
                state.running[worker] = (key, nodeid, self.clock())
                self.progress.running(nodeid, int(event.get("attempt") or 0))
            elif kind == "attempt" and event.get("key") in state.results:
                state.running.pop(worker, None)
                self._record(state, event["key"], _attempt_from(event))
            elif kind == "done":
                state.done = True

    def _record(self, state: _Round, key: str, attempt: Attempt) -> None:
        result = state.results[key]
        result.attempts.append(attempt)
        state.attempts += 1
        result.decision = decide([a.outcome for a in result.attempts], result.thresholds)
        if not result.decision.is_open:
            self.progress.decided(result, state.nodeids.get(key, str(result.test)))

    def _after_round(self, state: _Round, returncode: int, killed_for: Optional[str], log: Path) -> None:
        went_wrong = bool(killed_for)
        if killed_for is None and not state.done:
            # The process ended without the plugin's last word: a crash, or an os._exit.
            went_wrong = True
            crashed_in = [key for key, _, _ in state.running.values()]
            how = f"signal {signal.Signals(-returncode).name}" if returncode < 0 else f"exit code {returncode}"
            for key in crashed_in:
                self._record(state, key, _error_attempt(f"the rerun process crashed ({how}) during this test"))
        if state.unmatched:
            missing = [state.results[k] for k in state.unmatched if k not in state.nodeids]
            close_open(missing, "could not be rerun: pytest collected no test with this identity")
        if returncode in PYTEST_EXIT and returncode != 5 or (state.unmatched is None and not killed_for):
            went_wrong = True
            self.summary.notes.append(f"the rerun process {describe_exit(returncode)}")
        if killed_for and not self.interrupted:
            self.summary.notes.append(f"the rerun process was stopped: {killed_for}")
        if state.attempts == 0 and not self.interrupted:  # run() closes them as interrupted
            why = killed_for or f"pytest {describe_exit(returncode)}"
            close_open(state.results.values(), f"could not be rerun: {why}")
        if went_wrong:
            self.summary.log_tail = _tail(log)


def describe_exit(returncode: int) -> str:
    """A pytest process's exit, as a process status (negative: a signal) or a shell's ``$?``
    (128 + N: killed by signal N)."""
    if returncode < 0:
        return f"died of signal {_signal_name(-returncode)}"
    if returncode > 128 and _signal_name(returncode - 128):
        return f"exited with code {returncode} (killed by {_signal_name(returncode - 128)})"
    return f"exited with code {returncode}" + (f" ({PYTEST_EXIT[returncode]})" if returncode in PYTEST_EXIT else "")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return ""


def _tail(log: Path, lines: int = 15) -> List[str]:
    """The rerun's last lines of output, shown when it went wrong."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in text if line.strip()][-lines:]
