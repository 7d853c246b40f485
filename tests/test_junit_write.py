"""The aggregated report: each test once with all its attempts in Surefire's flaky/rerun elements,
valid against Surefire's schema, counts recomputed, and (a property) no test lost for any report."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from junit_flaky import junit_attempts
from junit_flaky.junit_element import Element, parse_element
from junit_flaky.junit_read import Snippets, scan
from junit_flaky.junit_write import write, xml_safe
from junit_flaky.model import Attempt, Outcome, TestResult, Thresholds
from junit_flaky.verdicts import decide
from tests import junit_builders as jb
from tests.junit_checks import assert_rewrite_keeps_every_test_once, cases_of, category, identity, parse
from tests.projects import Project, flaky_body
from tests.vendored import SCHEMAS



@pytest.fixture
def run(run_cli, tmp_path: Path):
    """Run --no-rerun over one report built from ``root``; return (exit code, output root, --json)."""

    def invoke(root: str, *options: str, expect: int = 0):
        report = jb.write(tmp_path / "report.xml", root)
        out, js = tmp_path / "out.xml", tmp_path / "out.json"
        result = run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", out, "--json", js, *options)
        assert result.exit_code == expect, result.stdout + result.stderr
        tree = assert_rewrite_keeps_every_test_once([report], out)
        return tree, json.loads(js.read_text())

    return invoke


def only_case(root: etree._Element, name: str) -> etree._Element:
    [case] = [c for c in root.iter("testcase") if c.get("name") == name]
    return case


def children(case: etree._Element) -> List[str]:
    return [child.tag for child in case]


def attempt(n: int, outcome: str) -> str:
    """Attempt ``n`` of test_x as pytest-rerunfailures writes it: a <testcase> of its own."""
    return jb.testcase("test_x", outcome, message=f"assert {n} == 0", text=f"tests/test_mod.py:{n}: AssertionError",
                       stdout=f"output of attempt {n}", time="1.5")


def test_fail_fail_pass_is_one_flaky_testcase_with_two_flaky_failures(run) -> None:
    root, report = run(jb.pytest_report(attempt(1, "failed"), attempt(2, "failed"), attempt(3, "passed"), jb.testcase("test_y")))
    case = only_case(root, "test_x")
    assert children(case) == ["flakyFailure", "flakyFailure", "system-out"]
    for n, flaky in enumerate(case.findall("flakyFailure"), start=1):
        assert flaky.get("message") == f"assert {n} == 0"
        assert flaky.get("type") == "AssertionError"  # from pytest's last traceback line
        assert flaky.findtext("stackTrace") == f"tests/test_mod.py:{n}: AssertionError"
        assert flaky.findtext("system-out") == f"output of attempt {n}"
    assert case.findtext("system-out") == "output of attempt 3"  # the passing attempt's own output
    assert case.get("time") == "4.500"  # every attempt's time
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("flakes")) == ("2", "0", None)
    assert report["summary"] == {"passed": 1, "flaky": 1, "failed": 0, "skipped": 0, "quarantined": 0}


def test_always_failing_keeps_the_first_failure_and_a_rerun_failure_per_later_run(run) -> None:
    root, _ = run(jb.pytest_report(*(attempt(n, "failed") for n in (1, 2, 3))), expect=1)
    case = only_case(root, "test_x")
    assert children(case) == ["failure", "rerunFailure", "rerunFailure", "system-out"]
    assert case.find("failure").get("message") == "assert 1 == 0"
    assert [r.get("message") for r in case.findall("rerunFailure")] == ["assert 2 == 0", "assert 3 == 0"]
    assert [r.findtext("system-out") for r in case.findall("rerunFailure")] == ["output of attempt 2", "output of attempt 3"]
    assert (root.find("testsuite").get("failures"), root.find("testsuite").get("tests")) == ("1", "1")


def test_errors_become_flaky_errors_and_rerun_errors(run) -> None:
    flaky = [jb.testcase("test_e", "error", message="setup broke"), jb.testcase("test_e")]
    broken = [jb.testcase("test_f", "error", message="e1"), jb.testcase("test_f", "failed", message="f2"), jb.testcase("test_f", "error", message="e3")]
    root, _ = run(jb.pytest_report(*flaky, *broken), expect=1)
    assert children(only_case(root, "test_e")) == ["flakyError"]
    # Surefire's schema orders rerunFailure before error; each later attempt keeps its own kind.
    assert children(only_case(root, "test_f")) == ["rerunFailure", "error", "rerunError"]
    assert [e.get("message") for e in only_case(root, "test_f")] == ["f2", "e1", "e3"]


def test_a_test_whose_failed_attempts_kept_no_details_keeps_its_first_as_the_final_result(run) -> None:
    # No attempt has a message or trace to show in its place.
    cases = [jb.testcase("test_x", "error", message=""), jb.testcase("test_x", "failed", message="")]
    root, _ = run(jb.pytest_report(*cases), expect=1)
    assert children(only_case(root, "test_x")) == ["rerunFailure", "error"]


def test_a_message_the_input_had_none_of_is_left_out_not_written_empty(run) -> None:
    # Readers show message="" as an empty message. A type stays, empty when unknown: Surefire's 3.0
    # schema requires one on failures, errors and their rerun and flaky children.
    flaky = [jb.testcase("test_f", "failed", message=""), jb.testcase("test_f")]
    broken = [jb.testcase("test_x", "failed", message="", type="E"), jb.testcase("test_x", "error", message="")]
    skips = [jb.testcase("test_s", "skipped")] * 2
    root, _ = run(jb.pytest_report(*flaky, *broken, *skips), expect=1)
    written = [(c.tag, dict(c.attrib)) for name in ("test_f", "test_x", "test_s") for c in only_case(root, name)]
    assert written == [("flakyFailure", {"type": ""}), ("failure", {"type": "E"}), ("rerunError", {"type": ""}), ("skipped", {})]
    suite = root.find("testsuite")
    for name in XSDS:
        assert schema(name).validate(suite), schema(name).error_log


TEARDOWN = 'failed on teardown with "RuntimeError: db still open"'


def test_pytest_call_failure_plus_teardown_error_is_one_attempt(run) -> None:
    # pytest writes one run that failed in the call and again in teardown as two adjacent testcases.
    call = jb.testcase("test_x", "failed", message="assert 0", text="t.py:3: AssertionError")
    teardown = jb.testcase("test_x", "error", message=TEARDOWN, text="t.py:9: RuntimeError")
    root, report = run(jb.pytest_report(call, teardown, jb.testcase("test_x")))
    [test] = report["tests"]
    assert [a["outcome"] for a in test["attempts"]] == ["failed", "passed"]
    case = only_case(root, "test_x")
    assert children(case) == ["flakyFailure"]
    assert "db still open" in case.findtext("flakyFailure/stackTrace")


def test_teardown_error_after_a_pass_is_an_attempt_of_its_own(run) -> None:
    # Not adjacent to a call failure: the error is all there is of that run.
    _, report = run(jb.pytest_report(jb.testcase("test_x", "error", message=TEARDOWN), jb.testcase("test_x")))
    assert [a["outcome"] for a in report["tests"][0]["attempts"]] == ["error", "passed"]


def test_a_removed_repeat_leaves_no_blank_line_behind(run, tmp_path: Path) -> None:
    # The merged test is written where its first testcase was; its later ones go with the
    # indentation before them, so the report keeps one testcase per line.
    cases = [jb.testcase("test_x", "failed"), jb.testcase("test_y"), jb.testcase("test_x"), jb.testcase("test_x")]
    run(jb.testsuites(jb.testsuite(*cases, sep="\n    "), sep="\n  "))
    lines = (tmp_path / "out.xml").read_text().splitlines()
    assert [line.split('name="')[-1][:6] for line in lines if "<testcase" in line] == ["test_x", "test_y"]
    assert [line for line in lines if not line.strip()] == [] and len(lines) == 7


def test_a_flaky_test_merged_from_shards_shows_the_output_of_its_passing_run(run_cli, tmp_path: Path) -> None:
    """A flaky test's <system-out> is its pass's, whichever shard holds it: the failed run's output
    is in its flakyFailure."""
    for shard, outcome, output in (("passed.xml", "passed", "P-out"), ("failed.xml", "failed", "F-out")):
        jb.write(tmp_path / shard, jb.pytest_report(jb.testcase("test_x", outcome, message="boom", stdout=output)))
    out = tmp_path / "out.xml"
    result = run_cli("run", tmp_path / "passed.xml", tmp_path / "failed.xml", "--no-rerun", "--no-flakybot", "-o", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    case = only_case(parse(out), "test_x")
    assert case.findtext("system-out") == "P-out"
    assert case.findtext("flakyFailure/system-out") == "F-out"


def test_passing_test_short_of_min_passes_fails_saying_what_it_needs(run) -> None:
    root, report = run(jb.pytest_report(jb.testcase("test_x", stdout="kept")), "--min-passes", "2", expect=1)
    case = only_case(root, "test_x")
    failure = case.find("failure")
    assert "needs 1 more run" in failure.get("message") and "passed 1 out of the required 2 times" in failure.get("message")
    assert case.findtext("system-out") == "kept"
    assert report["tests"][0]["verdict"] == "failed"


def test_quarantined_failing_test_is_reported_but_does_not_fail_the_build(run, tmp_path: Path) -> None:
    (tmp_path / "th.json").write_text(json.dumps({"flaky_tests": [{"test_name": "test_x", "quarantined": True}]}))
    root, report = run(jb.pytest_report(jb.testcase("test_x", "failed")), "--thresholds", str(tmp_path / "th.json"))
    [test] = report["tests"]
    assert test["verdict"] == "quarantined"
    assert report["summary"]["quarantined"] == 1 and report["summary"]["failed"] == 0
    # Skipped for readers that count (Jenkins, Test Engine); the failed run is kept beside it.
    assert children(only_case(root, "test_x")) == ["rerunFailure", "skipped"]
    assert (root.get("failures"), root.find("testsuite").get("skipped")) == ("0", "1")


def test_skipped_every_time_stays_one_skipped_testcase(run) -> None:
    root, report = run(jb.pytest_report(jb.testcase("test_s", "skipped", message="no db"), jb.testcase("test_s", "skipped", message="no db")))
    assert children(only_case(root, "test_s")) == ["skipped"]
    assert only_case(root, "test_s").find("skipped").get("message") == "no db"
    assert report["summary"]["skipped"] == 1


def test_a_failure_is_shown_at_the_last_crash_line_of_its_trace(tmp_path: Path, run_cli) -> None:
    # pytest's long traceback names every frame "path:line: in f"; the failing line is the last
    # "path:line: Type", whatever blank or indented lines follow it.
    trace = (
        "tests/helpers.py:3: in check\n    helper()\ntests/a.py:5: ValueError\n    more context\n"
        "tests/b.py:9: AssertionError  \n\n   \n"
    )
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(jb.testcase("test_x", "failed", message="", text=trace)))
    result = run_cli("run", report, "--no-rerun", "--no-flakybot")
    assert "at tests/b.py:9" in result.stdout and "at tests/a.py" not in result.stdout


def test_a_skip_rewritten_keeps_its_text(run) -> None:
    skip = jb.testcase("test_s", children='<skipped type="pytest.skip" message="no GPU">tests/test_mod.py:3: no GPU</skipped>')
    root, _ = run(jb.pytest_report(skip, skip))
    skipped = only_case(root, "test_s").find("skipped")
    assert (skipped.get("message"), skipped.text) == ("no GPU", "tests/test_mod.py:3: no GPU")


def test_surefire_flaky_and_rerun_children_are_attempts(run) -> None:
    flaky = jb.testcase("testFlaky", classname="org.A", children=jb.interim("flakyFailure", "first") + jb.interim("flakyError", "second"))
    broken = jb.testcase("testBroken", "failed", classname="org.A", message="one", children=jb.interim("rerunFailure", "two"))
    _, report = run(jb.testsuite(flaky, broken, name="org.A"), expect=1)
    attempts = {t["name"]: [(a["outcome"], a["message"]) for a in t["attempts"]] for t in report["tests"]}
    assert attempts == {
        "testFlaky": [("failed", "first"), ("error", "second"), ("passed", "")],
        "testBroken": [("failed", "one"), ("failed", "two")],
    }


@pytest.mark.parametrize("value", ["inf", "1e999", "NaN", "-1.5", "1,234.5", "abc", ""])
def test_times_are_finite_numbers_in_xml_and_json_whatever_the_input_says(run, tmp_path: Path, value: str) -> None:
    root, _ = run(jb.pytest_report(jb.testcase("test_x", "failed", time=value), jb.testcase("test_x", time="1")))
    strict = json.loads((tmp_path / "out.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in --json"))
    seconds = [a["time"] for a in strict["tests"][0]["attempts"]]
    assert seconds[0] == (1234.5 if value == "1,234.5" else 0.0)
    assert float(only_case(root, "test_x").get("time")) == seconds[0] + 1


# -- Surefire's schema ------------------------------------------------------------------------------


# Surefire's current schema and its 3.0, and Jenkins xUnit's, which that plugin checks each report
# against before reading it (it has no flakes on <testsuite>, no skipped on <testsuites>).
XSDS = ("surefire-test-report.xsd", "surefire-test-report-3.0.xsd", "junit-10.xsd")


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def surefire_report() -> str:
    """As Surefire writes TEST-*.xml, with reruns written as duplicates by another tool."""
    case = lambda name, outcome="passed", n=1: jb.testcase(  # noqa: E731
        name, outcome, classname="org.acme.ShopTest", message=f"expected <{n}>", type="org.opentest4j.AssertionFailedError",
        text=f"org.opentest4j.AssertionFailedError: expected <{n}>\n\tat org.acme.ShopTest.{name}(ShopTest.java:{n})",
        stdout=f"run {n}", time="0.25",
    )
    props = '<properties><property name="java.version" value="17.0.9"/></properties>'
    return jb.testsuite(
        props, case("testCart", "failed", 1), case("testCart", "error", 2), case("testCart", n=3),
        case("testPay", "error", 1), case("testPay", "failed", 2), case("testPay", "error", 3),
        case("testSkip", "skipped"), case("testOk"), case("testOk"),
        name="org.acme.ShopTest", time="1.5", tests="9", errors="3", skipped="1", failures="2",
        **{"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "version": "3.0"},
    )


def test_output_for_a_surefire_report_with_duplicates_is_valid_surefire(run) -> None:
    root, _ = run(surefire_report(), expect=1)
    assert children(only_case(root, "testCart"))[:2] == ["flakyFailure", "flakyError"]
    for name in XSDS:
        assert schema(name).validate(root), schema(name).error_log


# -- escaping ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, shown", [("\x1b[31mred", "#x1B[31mred"), ("nul\x00", "nul#x00"), ("\ufffe", "#xFFFE"), ("ok \t\n é 😀", "ok \t\n é 😀")])
def test_characters_xml_cannot_hold_become_visible_text(raw: str, shown: str) -> None:
    assert xml_safe(raw) == shown


def test_every_character_outside_xml_1_0s_char_production_and_only_those_become_visible_text() -> None:
    # https://www.w3.org/TR/xml/#NT-Char
    def is_char(c: int) -> bool:
        return c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF

    everything = "".join(map(chr, range(0x110000)))
    expected = "".join(chr(c) if is_char(c) else f"#x{c:02X}" for c in range(0x110000))
    assert xml_safe(everything) == expected


def test_rerun_output_with_illegal_characters_is_written_well_formed(tmp_path: Path) -> None:
    # Reruns capture whatever a test printed: terminal colours, NUL bytes.
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(jb.testcase("test_x", "failed")))
    found = scan([report])
    with Snippets(found.files) as snippets:
        tracked = junit_attempts.load(found, snippets)
    [(test, entry)] = tracked.items()
    rerun = Attempt(Outcome.FAILED, message="\x1b[31mboom\x00", type="E", text="trace\x07", stdout="out\x0c", rerun=True)
    attempts = entry.attempts + [rerun, Attempt(Outcome.PASSED, stdout="\x1b[0m", rerun=True)]
    limits = Thresholds(1, 3)
    result = TestResult(test, limits, attempts, decide([a.outcome for a in attempts], limits))
    write(found, tracked, {test: result}, tmp_path / "out.xml")
    case = only_case(parse(tmp_path / "out.xml"), "test_x")
    second = case.findall("flakyFailure")[1]
    assert (second.get("message"), second.findtext("stackTrace"), second.findtext("system-out")) == ("#x1B[31mboom#x00", "trace#x07", "out#x0C")
    assert case.findtext("system-out") == "#x1B[0m"


# -- the rewrite, for any report --------------------------------------------------------------------

OUTCOMES = ["passed", "failed", "error", "skipped"]


@st.composite
def cases(draw: st.DrawFn) -> str:
    """A testcase from a small pool of identities, so repeats (reruns, shards) are common; some
    carry Surefire's interim children as Surefire writes them (flaky* before a pass, rerun* after a
    failure)."""
    name = draw(st.sampled_from(["test_a", "test_b", "test_c[1]", "test_c[2]", "test_\xe9"]))
    outcome = draw(st.sampled_from(OUTCOMES))
    extra = draw(st.integers(0, 2)) if outcome != "skipped" else 0
    prefix = "flaky" if outcome == "passed" else "rerun"
    interim = "".join(jb.interim(prefix + draw(st.sampled_from(["Failure", "Error"])), f"m{i}") for i in range(extra))
    file = draw(st.sampled_from([None, "m/a.py"]))  # xunit1 and Gradle write file=; it is identity
    note = draw(st.sampled_from([None, "a > b />"]))  # raw ">" inside a value: tags are cut by bytes
    return jb.testcase(name, outcome, classname=draw(st.sampled_from(["m.A", "m.B"])), children=interim, file=file, note=note)


@st.composite
def suites(draw: st.DrawFn, depth: int = 0) -> str:
    parts = draw(st.lists(cases(), max_size=5))
    if depth < 2:
        parts += draw(st.lists(suites(depth + 1), max_size=2))
    stale = draw(st.sampled_from([{}, {"tests": "99", "failures": "7", "errors": "0", "skipped": "1"}]))
    sep = draw(st.sampled_from(["", "\n", "\n    <!-- x -->\n"]))
    return jb.testsuite(*draw(st.permutations(parts)), name=draw(st.sampled_from(["s1", "s2"])), sep=sep, **stale)


@st.composite
def shards(draw: st.DrawFn) -> str:
    root = draw(st.sampled_from(["testsuites", "testsuite", "testcase"]))
    if root == "testsuite":
        return draw(suites())  # a bare <testsuite> root
    if root == "testcase":
        return draw(cases())  # no suite at all
    # Some producers put testcases straight into <testsuites>, next to the suites.
    return jb.testsuites(*draw(st.permutations(draw(st.lists(suites(), max_size=3)) + draw(st.lists(cases(), max_size=2)))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reports=st.lists(st.tuples(shards(), st.sampled_from(["utf-8", "ISO-8859-1", None])), min_size=1, max_size=3),
    min_passes=st.integers(1, 2),
)
def test_rewrite_keeps_every_test_once_with_consistent_counts(run_cli, reports: List, min_passes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = [jb.write(Path(folder) / f"shard-{i}.xml", root.replace("&gt;", ">"), encoding=encoding)
                 for i, (root, encoding) in enumerate(reports)]
        out, js = Path(folder) / "out.xml", Path(folder) / "out.json"
        result = run_cli("run", *paths, "--no-rerun", "--no-flakybot", "-o", out, "--json", js, "--min-passes", str(min_passes))
        assert result.exit_code in (0, 1), result.stderr
        root = assert_rewrite_keeps_every_test_once(paths, out)
        report = json.loads(js.read_text())
        written = cases_of(root)
        assert sum(report["summary"].values()) == len(written)
        assert result.exit_code == int(any(category(c) in ("failure", "error") for c in written))
        # Each tracked test's element says what its verdict says.
        by_identity: Dict = {identity(c): c for c in written}
        expected = {"passed": {"passed"}, "flaky": {"flaky"}, "failed": {"failure", "error"}, "skipped": {"skipped"}}
        for test in report["tests"]:
            case = by_identity[(test["suite"], test["classname"], test["name"], test["file"])]
            assert category(case) in expected[test["verdict"]], (test, etree.tostring(case))
            if test["verdict"] == "flaky":
                failed = sum(a["outcome"] in ("failed", "error") for a in test["attempts"])
                assert len(case.findall("flakyFailure") + case.findall("flakyError")) == failed


# What XML 1.0 can hold; the writer turns everything else into visible text first (xml_safe).
XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(lambda c: c == xml_safe(c)))


@given(text=XML_TEXT, tail=XML_TEXT, value=XML_TEXT)
@settings(max_examples=200, deadline=None)
def test_an_element_written_reads_back_the_same(text: str, tail: str, value: str) -> None:
    element = Element("testcase", {"name": value})
    element.add("failure", text, message=value).tail = tail
    again = parse_element(element.to_xml())
    assert again.get("name") == value and again.find("failure").get("message") == value
    assert again.find("failure").text == text and again.find("failure").tail == tail


@pytest.mark.reruns
def test_a_suite_s_time_includes_the_reruns_of_its_tests(tmp_path: Path) -> None:
    # Jenkins takes a suite's duration from its time attribute; its rerun test's time holds the
    # reruns, so the suite's must too, or the suite took less time than one of its tests.
    project = Project(tmp_path)
    project.write("test_x.py", "import time\ndef test_flaky():\n    time.sleep(0.05)\n" + flaky_body("flaky", [1]) + "\ndef test_ok():\n    pass\n")
    report = project.pytest()
    result = project.junit_flaky("run", "result.xml", "--max-runs", "2", "-o", "out.xml")
    assert result.returncode == 0, result.stdout + result.stderr

    def times(root: etree._Element) -> List[float]:
        return [float(root.find("testsuite").get("time")), float(only_case(root, "test_flaky").get("time"))]

    (suite_before, case_before), (suite_after, case_after) = times(parse(report)), times(parse(tmp_path / "out.xml"))
    assert case_after > case_before
    assert suite_after == pytest.approx(suite_before + case_after - case_before, abs=0.0015)
