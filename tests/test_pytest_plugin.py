"""The rerun plugin, black-box: real pytest subprocesses on small projects generated in tmp_path.

Generated tests count their own runs in files (``count(name)``), which makes flakiness
deterministic, and fixtures log what they set up and tear down (``note(event)``). Where identities
matter the plan is built from the JUnit XML of a first ordinary run, as junit-flaky builds it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Sequence

import pytest

from junit_flaky import pytest_plugin, verdicts
from junit_flaky.model import Outcome, Thresholds

# CI repeats these under every supported pytest major.
pytestmark = pytest.mark.reruns

PLUGIN_SOURCE = Path(pytest_plugin.__file__)
PLUGIN_MODULE = "junit_flaky_rerun"  # the name the driver loads it by: ``-p junit_flaky_rerun``
PLAN_VERSION = pytest_plugin.PLAN_VERSION

HELPERS = '''\
import os, pathlib


def count(name):
    """How many times count(name) has run, this call included: the run number of a test."""
    path = pathlib.Path(os.environ["PLUGIN_TEST_STATE"], name + ".count")
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


def note(event):
    with open(os.path.join(os.environ["PLUGIN_TEST_STATE"], "events"), "a") as f:
        f.write(event + "\\n")


'''


def install_plugin(folder: Path) -> Path:
    """A folder holding the plugin as the driver ships it, to put on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PLUGIN_SOURCE, folder / f"{PLUGIN_MODULE}.py")
    return folder


class Records:
    """The JSON lines of one rerun, by results file (``main``, ``gw0``, ...), and its process."""

    def __init__(self, results_dir: Path, process: subprocess.CompletedProcess[str]):
        self.process = process
        self.by_file: dict[str, list[dict[str, Any]]] = {
            path.stem: [json.loads(line) for line in path.read_text().splitlines()]
            for path in sorted(results_dir.glob("*.jsonl"))
        }

    @property
    def main(self) -> list[dict[str, Any]]:
        return self.by_file["main"]

    def events(self, event: str, key: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for records in self.by_file.values()
            for r in records
            if r["event"] == event and (key is None or r.get("key") == key)
        ]

    def outcomes(self, key: str) -> list[str]:
        return [r["outcome"] for r in self.events("attempt", key)]

    def collected(self) -> dict[str, Any]:
        (line,) = self.events("collected")
        return line


class Project:
    """A generated pytest project and the runs made on it."""

    def __init__(self, tmp: Path):
        self.root = tmp / "proj"
        self.state = tmp / "state"
        self.results = tmp / "results"
        self.tmp = tmp
        for folder in (self.root, self.state):
            folder.mkdir()
        self.plugin_dir = install_plugin(tmp / "plugin")
        # An ini file pins rootdir to the project, whatever lies above tmp_path.
        self.write("pytest.ini", "[pytest]\n", helpers=False)

    def write(self, relpath: str, body: str, helpers: bool = True) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((HELPERS if helpers else "") + textwrap.dedent(body))
        return path

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
        env["PYTHONPATH"] = str(self.plugin_dir)
        env["PLUGIN_TEST_STATE"] = str(self.state)
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
        return subprocess.run(
            command, cwd=cwd or self.root, env=env, capture_output=True, text=True, timeout=120
        )

    def junit(self, *args: str, cwd: Path | None = None) -> dict[str, dict[str, str]]:
        """An ordinary run's testcases by ``classname::name``, each with its outcome."""
        report = self.tmp / "original.xml"
        self.run(f"--junitxml={report}", *args, cwd=cwd)
        outcome_of = {"failure": "failed", "error": "error", "skipped": "skipped"}
        cases = {}
        for case in ET.parse(report).iter("testcase"):
            outcomes = [outcome_of[child.tag] for child in case if child.tag in outcome_of]
            classname, name = case.get("classname", ""), case.get("name", "")
            cases[f"{classname}::{name}"] = {
                "classname": classname,
                "name": name,
                "outcome": outcomes[0] if outcomes else "passed",
            }
        return cases

    def rerun(self, tests: Sequence[dict[str, Any]], *args: str, cwd: Path | None = None) -> Records:
        plan = self.tmp / "plan.json"
        plan.write_text(json.dumps({"version": PLAN_VERSION, "results_dir": str(self.results), "tests": list(tests)}))
        # As the driver runs it; -W error because the plugin must not warn on any pytest version.
        process = self.run(
            "-p", PLUGIN_MODULE, f"--junit-flaky-plan={plan}", "-W", "error", *args,
            f"--junitxml={self.tmp / 'rerun.xml'}", cwd=cwd,
        )  # fmt: skip
        return Records(self.results, process)

    def events(self) -> list[str]:
        path = self.state / "events"
        return path.read_text().splitlines() if path.exists() else []


def planned(key: str, classname: str, name: str, passes_needed: int, failures_allowed: int) -> dict[str, Any]:
    return {
        "key": key,
        "classname": classname,
        "name": name,
        "file": "",
        "passes_needed": passes_needed,
        "failures_allowed": failures_allowed,
    }


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


SEED_SAMPLE = """\
import unittest

FAILING_RUNS = {failing}


class TestSample(unittest.TestCase):
    def test_sample_number(self):
        self.assertEqual(1, 1)

    def test_sample_random(self):
        a = 2 if count("random") in FAILING_RUNS else 1
        self.assertEqual(a, 1)
"""


@pytest.mark.parametrize(
    "failing, min_passes, max_runs, original, reruns",
    [
        # Must pass once in at most 5 runs: fails, then passes on the first rerun.
        ({1}, 1, 5, "failed", ["passed"]),
        # Must pass twice in at most 3 runs: passes, then fails twice. After the 1st rerun failure
        # one pass + one run left can still make 2; after the 2nd, 1 + 0 < 2 and no runs are left.
        ({2, 3}, 2, 3, "passed", ["failed", "failed"]),
    ],
)
def test_seed_examples(
    project: Project, failing: set[int], min_passes: int, max_runs: int, original: str, reruns: list[str]
) -> None:
    sample = project.write("src/test_sample.py", SEED_SAMPLE.format(failing=failing))
    cases = project.junit()
    case = cases["src.test_sample.TestSample::test_sample_random"]
    assert case["outcome"] == original
    # The countdowns the driver computes for this test.
    left = verdicts.countdown(verdicts.Tally.of([Outcome(original)]), Thresholds(min_passes, max_runs))
    plan = [planned("t0", case["classname"], case["name"], left.passes_needed, left.failures_allowed)]

    records = project.rerun(plan)

    nodeid = "src/test_sample.py::TestSample::test_sample_random"
    assert records.collected() == {"event": "collected", "matched": {"t0": nodeid}, "unmatched": [], "deselected": [], "errors": []}
    assert records.outcomes("t0") == reruns
    events = ["collected"] + ["start", "attempt"] * len(reruns) + ["stopped", "done"]
    assert [r["event"] for r in records.main] == events
    assert records.events("stopped") == [
        {"event": "stopped", "key": "t0", "why": "out of runs" if "failed" in reruns else "passed enough"}
    ]
    assert records.main[-1]["exitstatus"] == (1 if "failed" in reruns else 0)
    for attempt, (start, result) in enumerate(zip(records.events("start"), records.events("attempt")), 1):
        assert start == {"event": "start", "key": "t0", "nodeid": nodeid, "attempt": attempt}
        assert result["attempt"] == attempt
    if "failed" in reruns:
        failure = records.events("attempt")[0]
        assert failure["message"] == "AssertionError: 2 != 1"
        assert failure["type"] == "AssertionError"
        # The test's own line, where pytest's reprcrash would point into unittest's assertEqual.
        assert failure["location"] == f"src/test_sample.py:{line_of(sample, 'self.assertEqual(a, 1)')}"
        assert "self.assertEqual(a, 1)" in failure["text"]
    # Only the planned test ran; the other one was deselected.
    assert "1 deselected" in records.process.stdout


COUNTDOWNS = [
    # key, passes needed, failures allowed, failing reruns, expected outcomes
    ("a", 1, 3, {1}, ["failed", "passed"]),
    ("b", 1, 1, {1, 2}, ["failed", "failed"]),
    ("c", 2, 0, {1}, ["failed"]),  # no failure allowed: over after one
    ("d", 3, 2, set(), ["passed"] * 3),  # stops at the 3rd pass with 2 runs unused
    ("e", 2, 1, {2}, ["passed", "failed", "passed"]),
    ("f", 1, 2, {1, 2, 3}, ["failed"] * 3),  # every run used
]


def test_repetition_stops_as_soon_as_the_verdict_is_known(project: Project) -> None:
    project.write(
        "test_budget.py",
        "".join(
            f"def test_{key}():\n    assert count({key!r}) not in {failing or set()!r}\n\n\n"
            for key, _, _, failing, _ in COUNTDOWNS
        ),
    )
    records = project.rerun(
        [planned(key, "test_budget", f"test_{key}", needed, allowed) for key, needed, allowed, _, _ in COUNTDOWNS]
    )
    assert {key: records.outcomes(key) for key, *_ in COUNTDOWNS} == {key: want for key, *_, want in COUNTDOWNS}


def test_each_test_says_why_it_stopped(project: Project) -> None:
    project.write(
        "test_stop.py",
        """\
        import pytest


        def test_enough():
            pass


        def test_out():
            assert False


        def test_skip():
            if count("skip") > 1:
                pytest.skip("not again")
            assert False


        def test_late():
            assert False
        """,
    )
    plan = [
        planned("enough", "test_stop", "test_enough", 1, 0),
        planned("out", "test_stop", "test_out", 1, 1),
        planned("skip", "test_stop", "test_skip", 1, 3),
        planned("late", "test_stop", "test_late", 1, 5),
    ]
    records = project.rerun(plan, "--maxfail=4")
    assert {r["key"]: r["why"] for r in records.events("stopped")} == {
        "enough": "passed enough", "out": "out of runs", "skip": "skipped", "late": "session stopping",
    }  # fmt: skip
    assert records.outcomes("skip") == ["failed", "skipped"]
    assert records.outcomes("late") == ["failed"]  # the 4th failure of the session: --maxfail=4


def test_one_item_serves_every_plan_test_of_its_identity(project: Project) -> None:
    # The same test in two suites of the report (overlapping shards): two plan tests, one item,
    # each run to its own countdown, one after the other.
    project.write("test_twice.py", "def test_x():\n    assert count('x') in (2, 4, 5)\n")
    plan = [planned("shard1", "test_twice", "test_x", 1, 1), planned("shard2", "test_twice", "test_x", 2, 1)]
    records = project.rerun(plan)
    assert records.collected()["matched"] == {"shard1": "test_twice.py::test_x", "shard2": "test_twice.py::test_x"}
    assert records.outcomes("shard1") == ["failed", "passed"]
    assert records.outcomes("shard2") == ["failed", "passed", "passed"]


def test_function_fixtures_are_fresh_and_wider_ones_kept(project: Project) -> None:
    project.write(
        "conftest.py",
        """\
        import pytest


        @pytest.fixture(scope="session")
        def session_fixture():
            note("session up")
            yield
            note("session down")
        """,
    )
    project.write(
        "test_scopes.py",
        """\
        import pytest


        @pytest.fixture(scope="module")
        def module_fixture():
            note("module up")
            yield
            note("module down")


        @pytest.fixture
        def function_fixture():
            note("function up")
            yield []
            note("function down")


        @pytest.fixture(scope="class")
        def class_fixture():
            note("class up")
            yield
            note("class down")


        class TestScopes:
            def test_flaky(self, session_fixture, module_fixture, class_fixture, function_fixture):
                function_fixture.append("used")
                assert function_fixture == ["used"]  # a reused list would hold two
                note("test")
                assert count("flaky") != 2
        """,
    )
    project.write(
        "test_then.py",
        """\
        import pytest


        @pytest.fixture(scope="module")
        def then_fixture():
            note("then-module up")
            yield
            note("then-module down")


        def test_then(session_fixture, then_fixture):
            note("then")
        """,
    )
    project.write(
        "test_wider_fixture_fails.py",
        """\
        import pytest


        @pytest.fixture(scope="module")
        def flaky_module_fixture():
            note("flaky-module up")
            assert count("module fixture") > 1


        def test_uses_it(flaky_module_fixture):
            pass
        """,
    )
    records = project.rerun(
        [
            planned("t0", "test_scopes.TestScopes", "test_flaky", 2, 1),
            planned("t1", "test_then", "test_then", 1, 0),
            planned("t2", "test_wider_fixture_fails", "test_uses_it", 1, 1),
        ]
    )
    assert records.outcomes("t0") == ["passed", "failed", "passed"]
    assert records.outcomes("t1") == ["passed"]
    # pytest caches a failed module fixture's error for its module: the rerun must retry it.
    assert records.outcomes("t2") == ["error", "passed"]
    attempt = ["function up", "test", "function down"]
    assert project.events() == [
        "session up",
        "module up",
        "class up",
        *attempt * 3,
        "class down",
        "module down",
        "then-module up",
        "then",
        "then-module down",
        "flaky-module up",
        "flaky-module up",
        "session down",
    ]


def test_a_failed_session_fixture_is_retried_and_a_failed_function_fixture_keeps_the_session(
    project: Project,
) -> None:
    # pytest caches a failed session fixture's error for the whole session: without ending that
    # scope every later attempt would repeat the cached error, never running the fixture again.
    project.write(
        "conftest.py",
        """\
        import pytest


        @pytest.fixture(scope="session")
        def flaky_session():
            note("flaky-session up")
            assert count("session fixture") > 1
            yield
            note("flaky-session down")


        @pytest.fixture(scope="session")
        def kept_session():
            note("kept-session up")
            yield
            note("kept-session down")


        @pytest.fixture
        def flaky_function():
            assert count("function fixture") > 1
        """,
    )
    project.write("test_a_session.py", "def test_needs_session(flaky_session):\n    pass\n")
    project.write("test_b_function.py", "def test_needs_function(kept_session, flaky_function):\n    pass\n")
    records = project.rerun(
        [
            planned("t0", "test_a_session", "test_needs_session", 1, 2),
            planned("t1", "test_b_function", "test_needs_function", 1, 2),
        ]
    )
    assert records.outcomes("t0") == ["error", "passed"]
    assert records.outcomes("t1") == ["error", "passed"]
    # A function fixture's error ends no wider scope: kept_session is set up once.
    assert project.events() == [
        "flaky-session up",
        "flaky-session up",
        "kept-session up",
        "kept-session down",
        "flaky-session down",
    ]


@pytest.mark.skipif(not hasattr(pytest, "Subtests"), reason="subtests are pytest's own from 9.0")
def test_each_attempt_is_decided_by_its_own_subtests(project: Project) -> None:
    # A failed subtest fails its test (pytest 9 reports it apart from the call), and only in the
    # attempt where it failed: pytest counts failed subtests per test for the whole session.
    project.write(
        "test_subtests.py",
        """\
        import unittest


        class TestUnit(unittest.TestCase):
            def test_sub(self):
                run = count("unit")
                for i in range(2):
                    with self.subTest(i=i):
                        self.assertTrue(run > 2 or i == 0, f"run {run}")


        def test_fixture(subtests):
            run = count("fixture")
            for i in range(2):
                with subtests.test(i=i):
                    assert run > 2 or i == 0, f"run {run}"
        """,
    )
    records = project.rerun(
        [
            planned("t0", "test_subtests.TestUnit", "test_sub", 1, 2),
            planned("t1", "test_subtests", "test_fixture", 1, 2),
        ]
    )
    assert records.outcomes("t0") == ["failed", "failed", "passed"]
    assert records.outcomes("t1") == ["failed", "failed", "passed"]
    assert [r["message"] for r in records.events("attempt", "t0")][:2] == ["AssertionError: False is not true : run 1", "AssertionError: False is not true : run 2"]


def test_unittest_setup_runs_each_attempt_and_setupclass_once(project: Project) -> None:
    project.write(
        "test_unit.py",
        """\
        import unittest


        class TestUnit(unittest.TestCase):
            @classmethod
            def setUpClass(cls):
                note("setUpClass")

            @classmethod
            def tearDownClass(cls):
                note("tearDownClass")

            def setUp(self):
                note("setUp")

            def tearDown(self):
                note("tearDown")

            def test_flaky(self):
                note("test")
                self.assertNotIn(count("flaky"), (1, 2))
        """,
    )
    records = project.rerun([planned("t0", "test_unit.TestUnit", "test_flaky", 1, 2)])
    assert records.outcomes("t0") == ["failed", "failed", "passed"]
    assert project.events() == ["setUpClass", *["setUp", "test", "tearDown"] * 3, "tearDownClass"]


IDS_MODULE = """\
import pytest


class TestOuter:
    class TestInner:
        @pytest.mark.parametrize(
            "value",
            ["a b", "x-y", "[br]", "a::b", "p/q", "\\u00fc", pytest.param("v", id="two[1-x]")],
        )
        def test_param(self, value):
            assert count("param-" + value.encode().hex()) > 1
"""

LOOSE_MODULE = """\
def test_loose():
    assert count("loose") > 2
"""


@pytest.mark.parametrize(
    "args, run_from",
    [
        pytest.param([], "proj", id="default"),
        pytest.param(["--import-mode=importlib"], "proj", id="importlib"),
        pytest.param(["--junit-prefix=ci"], "proj", id="junit-prefix"),
        pytest.param(["--rootdir=proj", "proj"], "tmp", id="rootdir-not-cwd"),
    ],
)
def test_awkward_identities_match(project: Project, args: list[str], run_from: str) -> None:
    project.write("tests/__init__.py", "", helpers=False)
    project.write("tests/test_ids.py", IDS_MODULE)
    loose = project.write("loose/test_loose.py", LOOSE_MODULE)  # a folder without __init__.py
    cwd = project.tmp if run_from == "tmp" else project.root
    cases = project.junit(*args, cwd=cwd)
    prefix = "ci." if "--junit-prefix=ci" in args else ""
    assert f"{prefix}tests.test_ids.TestOuter.TestInner::test_param[\\xfc]" in cases
    assert f"{prefix}tests.test_ids.TestOuter.TestInner::test_param[a::b]" in cases
    assert f"{prefix}loose.test_loose::test_loose" in cases
    assert {case["outcome"] for case in cases.values()} == {"failed"}
    keys = {f"t{i}": case for i, case in enumerate(cases.values())}

    records = project.rerun(
        [planned(key, case["classname"], case["name"], 1, 1) for key, case in keys.items()], *args, cwd=cwd
    )

    collected = records.collected()
    assert collected["unmatched"] == []
    assert sorted(collected["matched"]) == sorted(keys)
    assert "tests/test_ids.py::TestOuter::TestInner::test_param[two[1-x]]" in collected["matched"].values()
    for key, case in keys.items():
        want = ["failed", "passed"] if case["name"] == "test_loose" else ["passed"]
        assert records.outcomes(key) == want, case
    (loose_failure,) = [r for r in records.events("attempt") if r["outcome"] == "failed"]
    assert loose_failure["location"] == f"loose/test_loose.py:{line_of(loose, 'assert count')}"


def test_a_failure_outside_the_rootdir_is_located_as_the_original_report_locates_it(project: Project) -> None:
    # The failing line is in a helper beside the project: the original report gives its path
    # relative to the rootdir ("../shared/helper.py"), and so must a rerun, not an absolute one.
    shared = project.tmp / "shared"
    shared.mkdir()
    (shared / "helper.py").write_text("def check():\n    assert False\n")
    project.write("test_far.py", f"import sys\nsys.path.insert(0, {str(shared)!r})\nimport helper\n\n\ndef test_far():\n    helper.check()\n")
    report = project.tmp / "original.xml"
    project.run(f"--junitxml={report}")
    assert "../shared/helper.py:2: AssertionError" in ET.parse(report).find(".//failure").text
    records = project.rerun([planned("t0", "test_far", "test_far", 1, 0)])
    (attempt,) = records.events("attempt")
    assert attempt["location"] == "../shared/helper.py:2"


def test_unmatched_entries_and_lookalikes(project: Project) -> None:
    project.write(
        "src/test_sample.py",
        """\
        class TestSample:
            def test_x(self):
                note("TestSample")


        class TestSampleSlow:
            def test_x(self):
                note("TestSampleSlow")
        """,
    )
    project.write("test_mod.py", "def test_y():\n    note('root test_mod')\n")
    project.write("tests/__init__.py", "", helpers=False)
    project.write("tests/test_mod.py", "def test_y():\n    note('tests/test_mod')\n")
    records = project.rerun(
        [
            planned("sample", "src.test_sample.TestSample", "test_x", 1, 0),
            planned("exact", "tests.test_mod", "test_y", 1, 0),
            planned("prefixed", "ci.test_mod", "test_y", 1, 0),
            planned("missing", "src.test_sample.TestSample", "test_missing", 1, 0),
            planned("no-class", "src.test_sample", "test_x", 1, 0),
        ]
    )
    assert records.collected()["matched"] == {
        "sample": "src/test_sample.py::TestSample::test_x",
        "exact": "tests/test_mod.py::test_y",
        "prefixed": "test_mod.py::test_y",
    }
    assert records.collected()["unmatched"] == ["missing", "no-class"]
    assert sorted(project.events()) == ["TestSample", "root test_mod", "tests/test_mod"]
    assert "1 deselected" in records.process.stdout


def test_outcomes_are_mapped_as_pytest_junitxml_maps_them(project: Project) -> None:
    module = project.write(
        "test_outcomes.py",
        """\
        import sys

        import pytest


        @pytest.fixture
        def broken_setup():
            raise ValueError("no db")


        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("leak")


        def test_setup_error(broken_setup):
            pass


        def test_teardown_error(broken_teardown):
            pass


        def test_failure_and_teardown_error(broken_teardown):
            assert 1 == 2


        def test_skip():
            pytest.skip("not today")


        @pytest.mark.xfail(reason="known")
        def test_xfail():
            assert False


        @pytest.mark.xfail(strict=True, reason="fixed?")
        def test_strict_xpass():
            pass


        def test_output():
            n = count("output")
            print("out", n)
            print("err", n, file=sys.stderr)
            assert n > 1
        """,
    )
    project.write("test_z_next.py", "def test_next():\n    pass\n")
    names = [
        "test_setup_error",
        "test_teardown_error",
        "test_failure_and_teardown_error",
        "test_skip",
        "test_xfail",
        "test_strict_xpass",
        "test_output",
    ]
    # test_teardown_error's budget is tight: once its passing call turns into an error at teardown
    # the repetition ends, and the module must still be torn down before test_next's runs.
    plan = [
        planned(name, "test_outcomes", name, 2, 0 if name == "test_teardown_error" else 1)
        for name in names
    ]
    records = project.rerun(plan + [planned("next", "test_z_next", "test_next", 1, 0)])

    first = {name: records.events("attempt", name)[0] for name in names}
    assert {name: records.outcomes(name) for name in names} == {
        "test_setup_error": ["error"] * 2,  # the second failure leaves 0 + 1 < 2
        "test_teardown_error": ["error"],
        "test_failure_and_teardown_error": ["failed"] * 2,
        "test_skip": ["skipped"],  # a skip ends the repetition: it can never pass more
        "test_xfail": ["skipped"],
        "test_strict_xpass": ["failed"] * 2,
        "test_output": ["failed", "passed", "passed"],
    }
    assert records.outcomes("next") == ["passed"]
    assert first["test_setup_error"]["message"] == 'failed on setup with "ValueError: no db"'
    assert first["test_setup_error"]["type"] == "ValueError"
    assert first["test_teardown_error"]["message"] == 'failed on teardown with "RuntimeError: leak"'
    assert first["test_teardown_error"]["type"] == "RuntimeError"
    both = first["test_failure_and_teardown_error"]
    assert (both["message"], both["type"]) == ("assert 1 == 2", "AssertionError")
    assert "assert 1 == 2" in both["text"] and "RuntimeError: leak" in both["text"]
    skip = first["test_skip"]
    assert (skip["message"], skip["type"]) == ("not today", "pytest.skip")
    assert skip["location"] == f"test_outcomes.py:{line_of(module, 'pytest.skip(')}"
    assert (first["test_xfail"]["message"], first["test_xfail"]["type"]) == ("known", "pytest.xfail")
    assert first["test_strict_xpass"]["message"] == "[XPASS(strict)] fixed?"
    # Each attempt carries its own output only.
    outputs = [(r["stdout"], r["stderr"]) for r in records.events("attempt", "test_output")]
    assert outputs == [(f"out {n}\n", f"err {n}\n") for n in (1, 2, 3)]
    assert all(isinstance(r["time"], float) and r["time"] >= 0 for r in records.events("attempt"))
    assert "INTERNALERROR" not in records.process.stdout + records.process.stderr


def test_crash_leaves_a_start_line_without_its_attempt(project: Project) -> None:
    project.write("test_crash.py", "import os\n\n\ndef test_crash():\n    os._exit(3)\n")
    records = project.rerun([planned("t0", "test_crash", "test_crash", 1, 1)])
    assert records.process.returncode == 3
    assert [r["event"] for r in records.main] == ["collected", "start"]
    assert records.main[-1] == {
        "event": "start",
        "key": "t0",
        "nodeid": "test_crash.py::test_crash",
        "attempt": 1,
    }


def test_xdist_workers_write_their_own_files(project: Project) -> None:
    pytest.importorskip("xdist")
    project.write(
        "test_many.py",
        "".join(f"def test_{i}():\n    assert count('{i}') > 1\n\n\n" for i in range(4)),
    )
    plan = [planned(f"t{i}", "test_many", f"test_{i}", 1, 1) for i in range(4)]
    records = project.rerun(plan, "-n", "2")

    assert sorted(records.by_file) == ["gw0", "gw1", "main"]
    # The controller collects nothing; it only reports the end of the session.
    assert records.main == [{"event": "done", "exitstatus": 1}]
    for worker in ("gw0", "gw1"):
        collected = records.by_file[worker][0]
        assert collected["event"] == "collected"
        assert collected["matched"] == {f"t{i}": f"test_many.py::test_{i}" for i in range(4)}
    assert {f"t{i}": records.outcomes(f"t{i}") for i in range(4)} == {
        f"t{i}": ["failed", "passed"] for i in range(4)
    }


@pytest.mark.parametrize(
    "content, why",
    [
        (None, "No such file"),
        ("{not json", "Expecting property name"),
        ('{"version": 1, "results_dir": "r", "tests": []}', "version must be 2"),
        (
            '{"version": 2, "results_dir": "r", "tests": [{"key": "t0"}]}',
            "tests[0]: 'passes_needed' must be int",
        ),
        (
            json.dumps({"version": 2, "results_dir": "r", "tests": [planned("t0", "c", "n", 0, 2)]}),
            "needs no run",
        ),
    ],
)
def test_a_bad_plan_is_a_one_line_usage_error(project: Project, content: str | None, why: str) -> None:
    plan = project.tmp / "plan.json"
    if content is not None:
        plan.write_text(content)
    project.write("test_a.py", "def test_a():\n    pass\n")
    result = project.run("-p", PLUGIN_MODULE, f"--junit-flaky-plan={plan}")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith(f"ERROR: junit-flaky: invalid plan {plan}: ")
    assert why in line


def test_without_a_plan_pytest_runs_untouched(project: Project) -> None:
    project.write("test_a.py", "def test_a():\n    pass\n\n\ndef test_b():\n    pass\n")
    result = project.run("-p", PLUGIN_MODULE)
    assert result.returncode == 0
    assert "2 passed" in result.stdout
    assert not project.results.exists()


@pytest.mark.parametrize(
    "nodeid",
    [
        "test_a.py::test_b",
        "tests/test_mod.py::TestA::TestB::test_c[1-x]",
        "pkg/sub/test_m.py::test_p[a::b]",
        "pkg/test_m.py::test_p[p/q]",
        "test_m.py::test_p[[br]]",
        "test_m.py::test_p[\\xfc]",
        "tests/test_x.py",
    ],
)
def test_identity_fallback_agrees_with_pytest(nodeid: str) -> None:
    from _pytest.junitxml import mangle_test_address

    assert pytest_plugin._fallback_mangle_test_address(nodeid) == mangle_test_address(nodeid)


# Before 9.2 a broken regex range let DEL through and escaped characters beyond U+FFFF; names
# never hold either, as pytest writes parameter ids with \x and \u escapes.
@pytest.mark.parametrize("text", ["plain", "bell\x07", "nul\x00", "\ud800", "\ufffe", "\u00fc"])
def test_xml_escape_fallback_agrees_with_pytest(text: str) -> None:
    from _pytest.junitxml import bin_xml_escape

    assert pytest_plugin._fallback_bin_xml_escape(text) == bin_xml_escape(text)


def test_driver_and_plugin_agree_on_the_plan_version() -> None:
    from junit_flaky import reruns

    assert reruns.PLAN_VERSION == pytest_plugin.PLAN_VERSION
