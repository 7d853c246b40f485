"""junit-flaky's rerun plugin: runs the open tests of a plan inside one pytest process.

The driver copies this single file as ``junit_flaky_rerun.py`` into a temporary directory, puts it
on PYTHONPATH and runs the user's pytest with ``-p junit_flaky_rerun --junit-flaky-plan=PLAN.json``.
It runs under the user's interpreter, where junit_flaky may not be installed, so it imports only
the standard library and pytest (7.0 to 9.x, Python 3.7 and newer).

What it does:
- keeps only the collected items that match a plan test by their JUnit identity (classname and
  name as pytest's junitxml writes them) and deselects the others; one item may serve several
  plan tests (the same test in two suites of the report), run one after the other;
- runs each plan test's item again and again, with fresh function-scoped fixtures and the
  wider-scoped ones kept alive, counting down the plan's ``passes_needed`` (each pass) and
  ``failures_allowed`` (each failure or error) until the first reaches 0 or the second goes below
  it, a skip, or the session stopping; the rule behind those numbers is the driver's, not ours;
- appends JSON lines to ``<results_dir>/<worker>.jsonl`` (``main``, or the xdist worker id) and
  flushes each one, so a crash leaves a "start" line without its "attempt" line.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Generator, Iterable, Sequence

import pytest

# The one pytest internal this plugin calls: it runs setup, call and teardown with a chosen
# ``nextitem`` and hands back the reports without logging them. Its signature is the same from
# pytest 7.0 to 9.2, and pytest-rerunfailures relies on it too.
from _pytest.runner import runtestprotocol

PLAN_VERSION = 2

# JUnit outcomes of one attempt, as pytest's junitxml maps them.
PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"


def _fallback_mangle_test_address(address: str) -> list[str]:
    """pytest 9.2's ``mangle_test_address``: the path part dotted, then classes, then the name."""
    path, sep, tail = address.partition("::")
    names = [path]
    if sep:
        # Brackets open the params only after the path: a file may be named test[1].py.
        name_part, bracket, params = tail.partition("[")
        names += name_part.split("::")
        names[-1] += bracket + params
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    return names


def _fallback_bin_xml_escape(arg: object) -> str:
    """pytest's ``bin_xml_escape``: characters XML cannot hold become visible ``#xNN`` text."""

    def repl(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"#x{code:02X}" if code <= 0xFF else f"#x{code:04X}"

    illegal = "[^\u0009\u000a\u000d\u0020-\u007e\u0080-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
    return re.sub(illegal, repl, str(arg))


# Use the writer's own functions when they exist so identities match the report byte for byte
# (pytest 9.2 changed how brackets in paths are read); the fallbacks copy pytest 9.2.
try:
    from _pytest.junitxml import bin_xml_escape, mangle_test_address
except ImportError:  # pragma: no cover - every pytest from 7.0 to 9.2 has both
    bin_xml_escape = _fallback_bin_xml_escape
    mangle_test_address = _fallback_mangle_test_address


try:  # pytest 9 counts each test's failed subtests for the whole session, and fails its call by that count
    from _pytest.subtests import failed_subtests_key
except ImportError:  # pytest before 9: subtests are a plugin's (pytest-subtests), if any
    failed_subtests_key = None


def junit_identity(nodeid: str) -> tuple[str, str]:
    """(classname, name) that pytest's junitxml writes for a node id, without --junit-prefix."""
    names = mangle_test_address(nodeid)
    return ".".join(names[:-1]), bin_xml_escape(names[-1])


def classname_matches(planned: str, actual: str) -> bool:
    """A report written with ``--junit-prefix=P`` has ``P.`` in front of every classname."""
    return planned == actual or planned.endswith("." + actual)


# Why a plan test stopped running, as its "stopped" line says.
PASSED_ENOUGH, OUT_OF_RUNS, SKIPPED_NOW, SESSION_STOPPING = "passed enough", "out of runs", "skipped", "session stopping"


@dataclass(frozen=True)
class Countdown:
    """The driver's countdowns for one test: passes it still needs, failures it can still afford."""

    passes_needed: int
    failures_allowed: int

    def after(self, outcome: str) -> Countdown:
        if outcome == PASSED:
            return Countdown(self.passes_needed - 1, self.failures_allowed)
        if outcome == SKIPPED:
            return self
        return Countdown(self.passes_needed, self.failures_allowed - 1)

    def stop(self, outcome: str) -> str | None:
        """Why the repetition ends after ``outcome`` with these counts left, or None."""
        if outcome == SKIPPED:
            return SKIPPED_NOW
        if self.passes_needed <= 0:
            return PASSED_ENOUGH
        if self.failures_allowed < 0:
            return OUT_OF_RUNS
        return None


@dataclass(frozen=True)
class PlanTest:
    key: str
    classname: str
    name: str
    countdown: Countdown


@dataclass(frozen=True)
class Plan:
    results_dir: str
    tests: list[PlanTest]


def load_plan(path: str) -> Plan:
    """Read and check the driver's plan; anything wrong is one line of pytest.UsageError."""

    def fail(why: str) -> pytest.UsageError:
        return pytest.UsageError(f"junit-flaky: invalid plan {path}: {why}")

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise fail(str(e)) from None

    def field(obj: Any, name: str, kind: type, where: str) -> Any:
        value = obj.get(name) if isinstance(obj, dict) else None
        # bool is an int to isinstance, never a count here.
        if not isinstance(value, kind) or isinstance(value, bool):
            raise fail(f"{where}: {name!r} must be {kind.__name__}")
        return value

    if field(data, "version", int, "top level") != PLAN_VERSION:
        raise fail(f"version must be {PLAN_VERSION}")
    results_dir = field(data, "results_dir", str, "top level")
    tests: list[PlanTest] = []
    keys: set[str] = set()
    for i, entry in enumerate(field(data, "tests", list, "top level")):
        where = f"tests[{i}]"
        key = field(entry, "key", str, where)
        countdown = Countdown(field(entry, "passes_needed", int, where), field(entry, "failures_allowed", int, where))
        # The driver sends only open tests; one that needs no run means driver and plugin disagree.
        if countdown.passes_needed <= 0 or countdown.failures_allowed < 0:
            raise fail(f"test {key!r} needs no run: {countdown}")
        if key in keys:
            raise fail(f"duplicate key {key!r}")
        keys.add(key)
        tests.append(
            PlanTest(key, field(entry, "classname", str, where), field(entry, "name", str, where), countdown)
        )
    return Plan(results_dir, tests)


def match_items(tests: Sequence[PlanTest], items: Sequence[pytest.Item]) -> dict[pytest.Item, list[PlanTest]]:
    """Pair plan tests with collected items by JUnit identity: one item per test, and the plan
    tests of each item in plan order.

    A prefixed classname is matched as a suffix, so ``tests.test_mod`` could also claim a rootdir
    ``test_mod.py``: the exact classname wins, then the longest one, then collection order. An
    item already claimed by a test of another identity is not taken again; one claimed by a test
    of the same identity is (the report holds that test twice, in two suites).
    """
    by_name: dict[str, list[tuple[str, pytest.Item]]] = {}
    for item in items:
        classname, name = junit_identity(item.nodeid)
        by_name.setdefault(name, []).append((classname, item))
    planned: dict[pytest.Item, list[PlanTest]] = {}
    for test in tests:
        candidates = [
            (classname == test.classname, len(classname), -index, item)
            for index, (classname, item) in enumerate(by_name.get(test.name, []))
            if classname_matches(test.classname, classname)
            and all(other.classname == test.classname for other in planned.get(item, []))
        ]
        if candidates:
            planned.setdefault(max(candidates, key=lambda c: c[:3])[3], []).append(test)
    return planned


def junit_outcome(reports: Iterable[pytest.TestReport]) -> tuple[str, pytest.TestReport | None]:
    """The JUnit outcome of one attempt and the report that decided it (None when it passed).

    As pytest's junitxml: a setup or teardown failure is an error, a call failure a failure that a
    later teardown error does not change; skips and xfails are skipped, a strict xpass failed.
    """
    outcome, decisive = PASSED, None
    for report in reports:
        if report.failed and outcome in (PASSED, SKIPPED):
            outcome, decisive = (FAILED if report.when == "call" else ERROR), report
        elif report.skipped and outcome == PASSED:
            outcome, decisive = SKIPPED, report
    return outcome, decisive


# What the teardown of an attempt can still make of the outcome its setup and call gave.
_TEARDOWN_CAN_MAKE = {PASSED: (PASSED, ERROR), SKIPPED: (SKIPPED, ERROR), FAILED: (FAILED,), ERROR: (ERROR,)}


def _failed_session_fixture(item: pytest.Item) -> bool:
    """Whether a session fixture of ``item`` holds a cached error: pytest 7.0 to 9.x keep
    ``(value, key, error)`` in ``FixtureDef.cached_result``. When that cannot be read, yes: ending
    the session's scope costs time, keeping a cached error costs every later attempt."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return True
    for fixturedefs in info.name2fixturedefs.values():
        for fixturedef in fixturedefs:
            cached = getattr(fixturedef, "cached_result", None)
            if getattr(fixturedef, "scope", None) == "session" and cached is not None and cached[2] is not None:
                return True
    return False


class _TeardownTarget:
    """Stands in for ``nextitem`` in runtestprotocol, to choose what the teardown keeps set up.

    ``SetupState.teardown_exact(nextitem)`` tears down every node of the running item that is not
    in ``nextitem.listchain()`` (pytest 7.0 to 9.x; the runner's teardown is the only reader of
    nextitem there). Whether an attempt is the last is known only after its call, so the nodes
    to keep are chosen then, at teardown, not when runtestprotocol is called.
    """

    def __init__(self, nodes_to_keep: Callable[[], list[Any]]):
        self.listchain = nodes_to_keep


def _strip_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, with ``..`` for a file outside it (as pytest's report text
    gives it), so a location reads the same in an original attempt and in a rerun."""
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return Path(path).as_posix()


def _location(longrepr: object, invocation_dir: Path, root: Path) -> str:
    """Where the failure shows last in the traceback (``src/test_sample.py:44: AssertionError``).

    That is the crash line for most tests; for a unittest.TestCase it is the test's own line
    where ``reprcrash`` would point into unittest's assertEqual. Paths in a repr are relative to
    the directory pytest was started in; we give them relative to rootdir, like node ids, and
    never absolute.
    """
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        path, line = longrepr[0], longrepr[1]
    else:
        entries = getattr(getattr(longrepr, "reprtraceback", None), "reprentries", None) or [None]
        fileloc = getattr(entries[-1], "reprfileloc", None) or getattr(longrepr, "reprcrash", None)
        if fileloc is None:
            return ""
        path, line = fileloc.path, fileloc.lineno
    return f"{_relative(invocation_dir / path, root)}:{line}"


def _reason(report: pytest.TestReport) -> str:
    """The one-line why of a report: the skip reason, else the exception line."""
    if isinstance(report.longrepr, tuple):
        return _strip_prefix(report.longrepr[2], "Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    return str(report.longrepr) if crash is None else str(crash.message)


def _report_text(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason), shown as junitxml does
        return f"{report.longrepr[0]}:{report.longrepr[1]}: {_reason(report)}"
    return "" if report.longrepr is None else str(report.longrepr)


def describe_attempt(
    reports: Sequence[pytest.TestReport], exc_types: dict[str, str], invocation_dir: Path, root: Path
) -> dict[str, Any]:
    """The result fields of one attempt's "attempt" line, worded as pytest's junitxml words them."""
    outcome, decisive = junit_outcome(reports)
    described: dict[str, Any] = {
        "outcome": outcome,
        "time": sum(r.duration for r in reports),
        "message": "",
        "type": "",
        "text": "",
        "location": "",
        # The last report (teardown) carries the captured output of every phase of this attempt.
        "stdout": reports[-1].capstdout,
        "stderr": reports[-1].capstderr,
    }
    if decisive is None:
        return described
    reason = _reason(decisive)
    wasxfail = getattr(decisive, "wasxfail", None)
    if outcome == SKIPPED:
        kind = "pytest.skip" if wasxfail is None else "pytest.xfail"
        message = reason if wasxfail is None else _strip_prefix(wasxfail, "reason: ")
    elif outcome == ERROR:
        message, kind = f'failed on {decisive.when} with "{reason}"', exc_types.get(decisive.when, "")
    else:
        message, kind = reason, exc_types.get(decisive.when, "")
    # A teardown error after a failed call keeps the failure and adds its own traceback.
    later_failures = [r for r in reports[reports.index(decisive) + 1 :] if r.failed]
    text = "\n".join(_report_text(r) for r in [decisive, *later_failures])
    location = _location(decisive.longrepr, invocation_dir, root)
    described.update(message=message, type=kind, text=text, location=location)
    return described


class ResultsFile:
    """One JSON object a line, flushed at once: a crash must not lose the line before it."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(path, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        # ASCII-only JSON: test output may hold lone surrogates that UTF-8 cannot encode.
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class RerunSession:
    """The plugin object registered when a plan is given; without one pytest runs untouched."""

    def __init__(self, config: pytest.Config, plan: Plan, results: ResultsFile):
        self._config = config
        self._plan = plan
        self._results = results
        self._planned: dict[pytest.Item, list[PlanTest]] = {}
        # Reports and exception type names of the attempt now running, by phase.
        self._reports: dict[str, pytest.TestReport] = {}
        self._exc_types: dict[str, str] = {}
        self._failed_subtests: list[pytest.TestReport] = []  # of the attempt now running
        self._running: str | None = None  # the node id of the item whose attempt runs now
        self._collect_errors: list[str] = []  # node ids (files) pytest could not collect
        self._deselected: list[pytest.Item] = []  # what -k, -m, --deselect or a plugin left out
        self._left_out: set[str] = set()  # keys of the plan tests among those

    # trylast: -k, -m, --deselect, --lf, xdist's loadgroup renaming and most plugins' deselection
    # have happened, so what we keep is what will run. tryfirst would only spare other plugins
    # some items, and a later deselection would then drop a test already reported as matched.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        self._planned = match_items(self._plan.tests, items)
        # Before our own deselection reaches pytest_deselected: the rerun command's options and
        # other plugins left these out, which says why a plan test found no item.
        claimed = {test.key for tests in self._planned.values() for test in tests}
        unclaimed = [test for test in self._plan.tests if test.key not in claimed]
        self._left_out = {test.key for tests in match_items(unclaimed, self._deselected).values() for test in tests}
        deselected = [item for item in items if item not in self._planned]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item in self._planned]

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        self._deselected.extend(items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._collect_errors.append(report.nodeid)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # Written here, after every modifyitems hook, from the items that will really run. With
        # xdist each worker collects and writes its own line; the controller collects nothing.
        running = set(session.items)
        matched = {test.key: item.nodeid for item, tests in self._planned.items() if item in running for test in tests}
        unmatched = [test.key for test in self._plan.tests if test.key not in matched]
        deselected = [key for key in unmatched if key in self._left_out]
        self._results.write(
            {
                "event": "collected",
                "matched": matched,
                "unmatched": unmatched,
                "deselected": deselected,
                "errors": self._collect_errors,
            }
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        tests = self._planned.get(item)
        if tests is None:
            return None
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for test in tests:
            self._repeat(item, nextitem, test, last=test is tests[-1])
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def _repeat(self, item: pytest.Item, nextitem: pytest.Item | None, test: PlanTest, last: bool) -> None:
        """Run one plan test until its countdown ends; ``last``: no other plan test uses the item."""
        left, attempt, why = test.countdown, 0, None
        while why is None:
            if item.session.shouldfail or item.session.shouldstop:
                why = SESSION_STOPPING
                break
            attempt += 1
            outcome = self._run_attempt(item, nextitem, test.key, attempt, left, last)
            left = left.after(outcome)
            why = left.stop(outcome)
        self._results.write({"event": "stopped", "key": test.key, "why": why})

    def _nodes_to_keep(self, item: pytest.Item, nextitem: pytest.Item | None, left: Countdown, last: bool) -> list[Any]:
        """What stays set up after an attempt whose setup and call reports are in."""
        so_far, _ = junit_outcome([*self._failed_subtests, *self._reports.values()])
        if last and any(left.after(outcome).stop(outcome) for outcome in _TEARDOWN_CAN_MAKE[so_far]):
            # Maybe the last attempt: tear down towards the real next item. Should the repetition
            # go on after all, the next attempt sets up again what it needs; a missing teardown
            # would instead break the next item ("previous item was not torn down properly").
            return nextitem.listchain() if nextitem is not None else []
        if so_far == ERROR:
            # A failed fixture keeps its error cached and raises it again at every setup in its
            # scope: end those scopes so the next attempt retries it; the session's only when a
            # session fixture failed, as its other fixtures may be costly to make again.
            return [] if _failed_session_fixture(item) else item.listchain()[:1]
        # Only the function scope ends: its fixtures are made anew, wider ones live on.
        return item.listchain()[:-1]

    def _run_attempt(
        self, item: pytest.Item, nextitem: pytest.Item | None, key: str, attempt: int, left: Countdown, last: bool
    ) -> str:
        ids = {"key": key, "nodeid": item.nodeid, "attempt": attempt}
        self._results.write({"event": "start", **ids})
        self._reports.clear()
        self._exc_types.clear()
        self._failed_subtests, self._running = [], item.nodeid
        if failed_subtests_key is not None:  # each attempt fails by its own subtests only
            counts = self._config.stash.get(failed_subtests_key, {})
            for node_key in (item.nodeid, getattr(item, "id", None)):
                counts.pop(node_key, None)
        # pytest only ever appends captured output to an item (it never reruns one); start each
        # attempt empty so its reports carry its own output only, as pytest-retry does.
        item._report_sections = []
        target = _TeardownTarget(lambda: self._nodes_to_keep(item, nextitem, left, last))
        reports = runtestprotocol(item, nextitem=target, log=False)  # type: ignore[arg-type]
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        # A failed subtest fails the attempt, as it fails the test in pytest's junitxml: its
        # report comes apart from the call's, during it, and the call itself may pass.
        reports = [*reports[:1], *self._failed_subtests, *reports[1:]]
        described = describe_attempt(
            reports, self._exc_types, self._config.invocation_params.dir, self._config.rootpath
        )
        self._results.write({"event": "attempt", **ids, **described})
        return str(described["outcome"])

    # An old-style hookwrapper: new-style ``wrapper=True`` needs pluggy 1.2, which pytest 7 lacks.
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        # Seen here as they are made, before teardown: the setup and call reports, which decide
        # what the teardown keeps, and the exception itself, of which a report keeps only text.
        if item in self._planned and outcome.excinfo is None:
            self._reports[call.when] = outcome.get_result()
            if call.excinfo is not None:
                self._exc_types[call.when] = call.excinfo.typename

    # xdist's controller hook (optional: without xdist pytest has no such hook). xdist replaces a
    # worker that died and the session goes on, so its crash is said now, not when pytest exits.
    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        if error is not None:
            self._results.write({"event": "worker down", "id": node.gateway.id})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A subtest's report (pytest 9, pytest-subtests) carries its context; the call's does not.
        subtest = getattr(report, "context", None) is not None and report.nodeid == self._running
        if subtest and report.failed and report.when == "call":
            self._failed_subtests.append(report)

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        self._results.write({"event": "done", "exitstatus": int(exitstatus)})

    def pytest_unconfigure(self) -> None:
        self._results.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("junit-flaky").addoption(
        "--junit-flaky-plan",
        metavar="PLAN.json",
        help="junit-flaky rerun plan: run only its tests, repeatedly, and write results as JSON lines",
    )


def pytest_configure(config: pytest.Config) -> None:
    plan_path = config.getoption("junit_flaky_plan")
    if plan_path is None:
        return
    plan = load_plan(plan_path)
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    path = Path(plan.results_dir, f"{worker}.jsonl")
    try:
        results = ResultsFile(path)
    except OSError as e:
        raise pytest.UsageError(f"junit-flaky: cannot write results to {path}: {e}") from None
    config.pluginmanager.register(RerunSession(config, plan, results), "junit-flaky-rerun-session")
