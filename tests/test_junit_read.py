"""Reading untrusted JUnit XML: attacks and broken files rejected in one line, every quirk of a
real report (shards, roots, nesting, encodings, odd attribute values) read and written back whole."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import List

import pytest

from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_attempts import read
from junit_flaky.junit_read import expand, scan
from tests import junit_builders as jb
from tests.junit_checks import assert_rewrite_keeps_every_test_once, category

SECRET = "s3cr3t-from-the-runner-do-not-leak"


@pytest.fixture
def rewrite(run_cli, tmp_path: Path):
    """Run --no-rerun over reports; return (result, output root) after the whole-report checks."""

    def invoke(*reports: Path, expect: int = 0):
        out = tmp_path / "out.xml"
        result = run_cli("run", *reports, "--no-rerun", "--no-flakybot", "-o", out, "--json", tmp_path / "out.json")
        assert result.exit_code == expect, result.stderr
        return result, assert_rewrite_keeps_every_test_once(reports, out)

    return invoke


@pytest.fixture
def rejected(run_cli, tmp_path: Path):
    """Run over a bad input: exit 2, one line on stderr naming what is wrong, nothing written."""

    def invoke(*reports, words: List[str] = ()) -> str:
        out = tmp_path / "out" / "final.xml"
        result = run_cli("run", *reports, "--no-rerun", "--no-flakybot", "-o", out)
        assert result.exit_code == 2, result.stdout
        assert result.stderr.startswith("junit-flaky: error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert not out.parent.exists()
        for word in words:
            assert word in result.stderr
        return result.stderr

    return invoke


def by_name(root) -> dict:
    return {case.get("name"): case for case in root.iter("testcase")}


# -- attacks ----------------------------------------------------------------------------------------

REPORT_BODY = '<testsuite name="s"><testcase classname="c" name="t"><failure message="{payload}"/></testcase></testsuite>'


def hostile(tmp_path: Path, doctype: str, payload: str) -> Path:
    path = tmp_path / "hostile.xml"
    path.write_text(f'<?xml version="1.0"?>\n{doctype}\n' + REPORT_BODY.format(payload=payload))
    return path


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def test_external_entity_to_a_local_file_is_rejected_and_never_read(run_cli, tmp_path: Path, secret_file: Path, rejected) -> None:
    report = hostile(tmp_path, f'<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>', "&xxe;")
    message = rejected(report, words=[f"{report}:2:", "DOCTYPE is not allowed"])
    assert SECRET not in message


def test_parameter_entity_is_rejected(tmp_path: Path, secret_file: Path, rejected) -> None:
    doctype = f'<!DOCTYPE testsuite [<!ENTITY % p SYSTEM "{secret_file.as_uri()}"> %p;]>'
    assert SECRET not in rejected(hostile(tmp_path, doctype, "x"), words=["DOCTYPE"])


def test_entity_bomb_is_rejected_fast(tmp_path: Path, rejected) -> None:
    levels = ['<!ENTITY lol0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)
    ]
    report = hostile(tmp_path, f"<!DOCTYPE testsuite [{''.join(levels)}]>", "&lol9;")
    started = time.monotonic()
    rejected(report, words=["DOCTYPE"])
    assert time.monotonic() - started < 5  # a loose bound: expanding it would take minutes and GBs


def test_external_dtd_is_rejected_without_fetching_it(tmp_path: Path, rejected, httpserver) -> None:
    httpserver.expect_request("/x.dtd").respond_with_data('<!ENTITY leak "x">')
    report = hostile(tmp_path, f'<!DOCTYPE testsuite SYSTEM "{httpserver.url_for("/x.dtd")}">', "&leak;")
    rejected(report, words=["DOCTYPE"])
    assert httpserver.log == []


def test_one_hostile_shard_rejects_the_whole_run(tmp_path: Path, secret_file: Path, rejected) -> None:
    good = jb.write(tmp_path / "shard-1.xml", jb.pytest_report(jb.testcase("test_a")))
    bad = hostile(tmp_path, f'<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>', "&xxe;")
    rejected(good, bad, words=[str(bad)])


# -- broken inputs ----------------------------------------------------------------------------------

VALID = jb.document(jb.pytest_report(jb.testcase("test_a", "failed"), jb.testcase("test_b")))


@pytest.mark.parametrize(
    "content, words",
    [
        (VALID[: len(VALID) // 2], [":1:", "malformed XML"]),  # truncated mid-way, as a killed run leaves it
        (VALID[:-30], ["malformed XML"]),
        (b"", [":1:1: malformed XML: no element found"]),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), [":1:1: malformed XML"]),
        (b"collected 3 items\n3 passed in 0.1s\n", [":1:1: malformed XML"]),
        (b'<?xml version="1.0"?><html><body>502</body></html>', ["not a JUnit report", "<html>"]),
        ('<?xml version="1.0" encoding="UTF-16"?><testsuite/>'.encode("utf-16"), ["UTF-16"]),
        (b'<?xml version="1.0" encoding="no-such-codec"?><testsuite/>', ["unknown encoding"]),
        (b'<testsuite><testcase name="a"/></testsuite><testsuite/>', [":1:44: malformed XML: junk after document element"]),
    ],
    ids=["truncated-half", "truncated-end", "empty", "binary", "plain-text", "not-junit", "utf-16", "bad-codec", "two-roots"],
)
def test_broken_report_is_rejected_in_one_line_naming_the_file(tmp_path: Path, rejected, content: bytes, words: List[str]) -> None:
    path = tmp_path / "report.xml"
    path.write_bytes(content)
    rejected(path, words=[str(path)] + words)


def test_truncated_report_names_line_and_column(tmp_path: Path, rejected) -> None:
    path = tmp_path / "report.xml"
    path.write_bytes(VALID[:-30])
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: malformed XML", rejected(path))


@pytest.mark.parametrize(
    "argument, words",
    [
        ("missing.xml", ["missing.xml: no such file"]),
        ("a-directory", ["a-directory: is a folder, not a report (a glob such as 'a-directory/**/*.xml' names those in it)"]),
        ("a-pipe", ["a-pipe: is not a file (a pipe or a device): junit-flaky reads a report more than once; save it to a file first"]),
        ("reports/**/*.xml", ["reports/**/*.xml: no file matches this pattern"]),
        ("", ["a REPORT argument is empty (a variable that is not set?)"]),  # run "$REPORTS"
    ],
)
def test_what_is_not_a_report_file_is_rejected_in_one_line(tmp_path: Path, rejected, argument: str, words: List[str]) -> None:
    (tmp_path / "a-directory").mkdir()
    os.mkfifo(tmp_path / "a-pipe")  # what `run <(curl ...)` names
    rejected(argument, words=words)


def test_a_broken_shard_rejects_the_run_even_after_good_ones(tmp_path: Path, rejected) -> None:
    good = jb.write(tmp_path / "shard-1.xml", jb.pytest_report(jb.testcase("test_a")))
    broken = tmp_path / "shard-2.xml"
    broken.write_bytes(VALID[:-30])
    rejected(good, broken, words=[str(broken)])


# -- shapes of reports ------------------------------------------------------------------------------


def test_shards_merge_into_one_report_and_a_test_failing_in_one_passing_in_another_is_flaky(tmp_path: Path, rewrite) -> None:
    shard = lambda i, *cases: jb.write(tmp_path / f"shard-{i}" / "junit.xml", jb.pytest_report(*cases))  # noqa: E731
    shard(1, jb.testcase("test_a"), jb.testcase("test_flaky", "failed"))
    shard(2, jb.testcase("test_b"), jb.testcase("test_flaky"))
    shard(3, jb.testcase("test_c", "skipped"), jb.testcase("test_a"))  # overlapping shards repeat a test
    result, root = rewrite(*sorted(tmp_path.glob("shard-*/junit.xml")))
    assert root.tag == "testsuites"
    assert {name: category(case) for name, case in by_name(root).items()} == {
        "test_a": "passed", "test_b": "passed", "test_c": "skipped", "test_flaky": "flaky",
    }
    assert "4 tests: 2 passed, 1 flaky, 0 failed, 1 skipped" in result.stdout


def test_testcases_straight_in_differently_named_shard_roots_merge_into_one_test(tmp_path: Path, rewrite) -> None:
    # The merged report has one <testsuites> root; the shards' root names cannot tell tests apart.
    failed = jb.write(tmp_path / "a.xml", jb.testsuites(jb.testcase("test_x", "failed"), name="shard A"))
    passed = jb.write(tmp_path / "b.xml", jb.testsuites(jb.testcase("test_x"), jb.testcase("test_y"), name="shard B"))
    result, root = rewrite(failed, passed)
    assert {name: category(case) for name, case in by_name(root).items()} == {"test_x": "flaky", "test_y": "passed"}


def test_a_glob_of_shards_reads_each_file_once(tmp_path: Path, run_cli) -> None:
    for i in range(3):
        jb.write(tmp_path / "results" / f"s{i}" / "junit.xml", jb.pytest_report(jb.testcase(f"test_{i}")))
    result = run_cli("run", "results/**/*.xml", "results/s0/junit.xml", "--no-rerun", "--no-flakybot")
    assert result.exit_code == 0
    assert "3 tests: 3 passed" in result.stdout


def test_expand_keeps_the_order_given_and_drops_repeats(tmp_path: Path, clean_env) -> None:
    for name in ("b.xml", "a.xml", "c.xml"):
        (tmp_path / name).write_text("<testsuite/>")
    assert [p.name for p in expand(["c.xml", "*.xml", "./c.xml"])] == ["c.xml", "a.xml", "b.xml"]


def test_expand_resolves_each_file_once_however_many_there_are(tmp_path: Path, clean_env, monkeypatch) -> None:
    # Surefire writes a file per test class: a glob can match thousands, and comparing each with
    # every one before it took most of a minute for 2000.
    for index in range(300):
        (tmp_path / f"TEST-{index}.xml").write_text("<testsuite/>")
    resolved = []
    real_resolve = Path.resolve
    monkeypatch.setattr(Path, "resolve", lambda self, *args: resolved.append(self) or real_resolve(self, *args))
    assert len(expand(["*.xml", "TEST-0.xml"])) == 300
    assert len(resolved) == 301


def test_bare_testsuite_root(tmp_path: Path, rewrite) -> None:
    report = jb.write(tmp_path / "TEST-Foo.xml", jb.testsuite(
        jb.testcase("testA", "failed", classname="org.Foo"), jb.testcase("testA", classname="org.Foo"),
        name="org.Foo", tests="2", failures="1", errors="0", skipped="0",
    ))
    _, root = rewrite(report)
    assert root.tag == "testsuite" and (root.get("tests"), root.get("failures")) == ("1", "0")


@pytest.mark.parametrize("outcome", ["failed", "passed"])
def test_testcase_roots_merge(tmp_path: Path, rewrite, outcome: str) -> None:
    # No suite at all: still a test, and merging must not cut its element short.
    first = jb.write(tmp_path / "a.xml", jb.testcase("test_x", outcome, classname="c"))
    second = jb.write(tmp_path / "b.xml", jb.testcase("test_x", classname="c"))
    _, root = rewrite(first, second)
    assert category(by_name(root)["test_x"]) == ("flaky" if outcome == "failed" else "passed")


def test_nested_suites_five_deep_are_counted_at_every_level(tmp_path: Path, rewrite) -> None:
    # flakes="0" as Surefire writes it: replaced, where it is never added (junit_write.suite_start_tag).
    inner = jb.testsuite(jb.testcase("test_deep", "failed"), jb.testcase("test_deep"), jb.testcase("test_skip", "skipped"), name="5", flakes="0")
    for level in "4321":
        inner = jb.testsuite(inner, jb.testcase(f"test_at_{level}", "error" if level == "2" else "passed"), name=level, flakes="0")
    _, root = rewrite(jb.write(tmp_path / "nested.xml", jb.testsuites(inner)), expect=1)
    counts = [(s.get("name"), s.get("tests"), s.get("errors"), s.get("skipped"), s.get("flakes")) for s in root.iter("testsuite")]
    assert counts == [("1", "6", "1", "1", "1"), ("2", "5", "1", "1", "1"), ("3", "4", "0", "1", "1"),
                      ("4", "3", "0", "1", "1"), ("5", "2", "0", "1", "1")]


def test_same_name_in_another_suite_or_file_is_another_test(tmp_path: Path, rewrite) -> None:
    # jest reuses (classname, name) across files, each file its own suite; Gradle and xunit1 set file.
    suites = [jb.testsuite(jb.testcase("renders", classname="App"), name=name) for name in ("a.test.js", "b.test.js")]
    files = [jb.testcase("test_x", file=f"tests/{f}.py") for f in ("one", "two")]
    _, root = rewrite(jb.write(tmp_path / "r.xml", jb.testsuites(*suites, jb.testsuite(*files))))
    assert len(root.findall(".//testcase")) == 4


def test_bom_and_crlf_are_read_and_kept(tmp_path: Path, rewrite) -> None:
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(jb.testcase("test_a", "failed"), jb.testcase("test_a")), bom=True, newline="\r\n")
    rewrite(report)
    data = (tmp_path / "out.xml").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf<?xml") and b"\r\n" in data


LATIN = dict(classname="tests.r\xe9sum\xe9", stdout="caf\xe9 \xa9")


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252"])
def test_single_byte_encoded_report_stays_readable_and_well_formed(tmp_path: Path, rewrite, encoding: str) -> None:
    cases = [jb.testcase("test_\xfc", "failed", message="erwartet \xe4", **LATIN), jb.testcase("test_\xfc", **LATIN),
             jb.testcase("test_ok", **LATIN), jb.testcase("test_ok2", **LATIN)]
    report = jb.write(tmp_path / "r.xml", jb.testsuites(jb.testsuite(*cases, name="su\xefte")), encoding=encoding)
    _, root = rewrite(report)
    assert root.find("testsuite").get("name") == "su\xefte"
    flaky = by_name(root)["test_\xfc"]
    assert flaky.get("classname") == "tests.r\xe9sum\xe9"
    assert flaky.find("flakyFailure").get("message") == "erwartet \xe4"
    assert by_name(root)["test_ok"].findtext("system-out") == "caf\xe9 \xa9"


def test_single_byte_encoded_shard_merges_with_a_utf8_one(tmp_path: Path, rewrite) -> None:
    latin = jb.write(tmp_path / "a.xml", jb.pytest_report(jb.testcase("test_\xe9", "failed"), jb.testcase("test_\xe9")), encoding="ISO-8859-1")
    utf8 = jb.write(tmp_path / "b.xml", jb.pytest_report(jb.testcase("test_\u20ac")))
    _, root = rewrite(latin, utf8)
    assert set(by_name(root)) == {"test_\xe9", "test_\u20ac"}


@pytest.mark.parametrize("value", ['a > b', 'x/>y', "it's \"quoted\" />", "<&>"])
def test_attribute_values_with_angle_brackets_and_slashes(tmp_path: Path, rewrite, value: str) -> None:
    # The writer finds tags by bytes; a raw ">" or "/>" inside a value must not end a tag there.
    cases = [jb.testcase("test_a", "failed", note=value, message=value), jb.testcase("test_a", note=value),
             jb.testcase("test_b", note=value), jb.testcase("test_b", note=value)]
    raw = jb.testsuites(jb.testsuite(*cases, label=value)).replace("&gt;", ">")
    _, root = rewrite(jb.write(tmp_path / "r.xml", raw))
    assert root.find("testsuite").get("label") == value
    assert [case.get("note") for case in root.iter("testcase")] == [value, value]
    assert by_name(root)["test_a"].find("flakyFailure").get("message") == value


def test_comments_properties_and_unknown_content_are_kept(tmp_path: Path, rewrite) -> None:
    props = '<properties><property name="seed" value="42"/></properties>'
    case = jb.testcase("test_a", "failed", children="<extra x='1'/><!-- in the test --><?tool v?>", **{"data-x": "y"})
    raw = jb.testsuites(f"<!-- run 7 -->{jb.testsuite(props, case, jb.testcase('test_a'), jb.testcase('test_b', stdout='hi'))}<?pi x?>", extra="kept")
    _, root = rewrite(jb.write(tmp_path / "r.xml", raw))
    text = (tmp_path / "out.xml").read_text()
    assert "<!-- run 7 -->" in text and "<?pi x?>" in text and '<property name="seed" value="42"/>' in text
    assert "<!-- in the test --><?tool v?>" in text  # inside a rewritten testcase too
    assert root.get("extra") == "kept"
    assert by_name(root)["test_a"].get("data-x") == "y"
    assert by_name(root)["test_b"].findtext("system-out") == "hi"


def test_namespaced_attributes_survive_a_rewrite(tmp_path: Path, rewrite) -> None:
    raw = (
        '<testsuites xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><testsuite name="s">'
        + jb.testcase("test_a", "failed", **{"xsi:type": "t"}) + jb.testcase("test_a") + "</testsuite></testsuites>"
    )
    _, root = rewrite(jb.write(tmp_path / "r.xml", raw))
    assert by_name(root)["test_a"].get("{http://www.w3.org/2001/XMLSchema-instance}type") == "t"


def test_prefixes_declared_on_a_shard_root_stay_declared_after_the_merge(tmp_path: Path, rewrite) -> None:
    # The merge replaces each shard's <testsuites> root by one of its own.
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    cases = [jb.testcase("test_a", "failed", **{"xsi:type": "t"}), jb.testcase("test_a"), jb.testcase("test_b", **{"xsi:type": "u"})]
    first = jb.write(tmp_path / "a.xml", jb.testsuites(jb.testsuite(*cases, **{"xsi:schemaLocation": "x.xsd"}), **{"xmlns:xsi": xsi}))
    second = jb.write(tmp_path / "b.xml", jb.pytest_report(jb.testcase("test_c")))
    _, root = rewrite(first, second)
    assert root.find("testsuite").get(f"{{{xsi}}}schemaLocation") == "x.xsd"
    assert [case.get(f"{{{xsi}}}type") for case in root.iter("testcase")] == ["t", "u", None]


def test_a_default_namespace_hides_no_failure(tmp_path: Path, rewrite) -> None:
    # XSLT-converted reports (NUnit, TRX) may put everything in a namespace of their own.
    cases = [jb.testcase("test_fail", "failed"), jb.testcase("test_flaky", "failed"), jb.testcase("test_flaky")]
    raw = jb.testsuites(jb.testsuite(*cases), xmlns="urn:example:junit")
    result, root = rewrite(jb.write(tmp_path / "r.xml", raw), expect=1)
    ns = "{urn:example:junit}"
    cats = {case.get("name"): category(case) for case in root.iter(f"{ns}testcase")}
    assert cats == {"test_fail": "failure", "test_flaky": "flaky"}
    assert root.find(f".//{ns}flakyFailure/{ns}stackTrace") is not None  # ours are in it too
    assert "1 failed" in result.stdout


# -- what the scan keeps ----------------------------------------------------------------------------


def test_scan_tracks_only_tests_that_need_a_decision(tmp_path: Path) -> None:
    # Memory stays small for a million passing tests: only failures, repeats and reruns are kept.
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(
        jb.testcase("test_pass"), jb.testcase("test_skip", "skipped"), jb.testcase("test_fail", "failed"),
        jb.testcase("test_twice"), jb.testcase("test_twice"),
        jb.testcase("test_surefire", children=jb.interim("flakyFailure", "boom")),
    ))
    result = scan([report])
    assert sorted(t.name for t in result.tracked) == ["test_fail", "test_surefire", "test_twice"]
    assert (result.untracked_passed, result.untracked_skipped, result.testcases) == (1, 1, 6)
    assert [len(o) for t, o in result.tracked.items() if t.name == "test_twice"] == [2]


def test_thousands_of_different_tests_stay_untracked_and_a_pass_before_a_failure_is_found(tmp_path: Path) -> None:
    # Repeats are found by a filter of identity hashes that says "maybe seen before": with this
    # many tests some different ones share a bit of it, and must still count as one run each.
    cases = [jb.testcase(f"test_{i}") for i in range(30000)]
    cases.insert(10, jb.testcase("test_later_failing"))
    cases.append(jb.testcase("test_later_failing", "failed"))
    result = scan([jb.write(tmp_path / "r.xml", jb.pytest_report(*cases))])
    assert [(t.name, len(o)) for t, o in result.tracked.items()] == [("test_later_failing", 2)]
    assert (result.untracked_passed, result.testcases) == (30000, 30002)


def test_reading_a_report_holds_nothing_per_passing_testcase_once_done(tmp_path: Path) -> None:
    # The scan's arrays and repeat filter take ~30 bytes per testcase while it reads: a million
    # passing testcases must not keep ~40 MB held through the rerun and the writing.
    cases = [jb.testcase(f"test_{i}") for i in range(50000)] + [jb.testcase("test_failing", "failed")]
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(*cases))
    tracemalloc.start()
    try:
        reading = read([report])
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [test.name for test in reading.tracked] == ["test_failing"]
    assert held < 200_000 < peak


def test_scan_error_is_our_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_bytes(VALID[:-30])
    with pytest.raises(JunitFlakyError):
        scan([path])


def test_json_report_lists_every_attempt_of_a_merged_test(tmp_path: Path, rewrite) -> None:
    a = jb.write(tmp_path / "a.xml", jb.pytest_report(jb.testcase("test_x", "error", message="boom", time="1.5")))
    b = jb.write(tmp_path / "b.xml", jb.pytest_report(jb.testcase("test_x", time="0.5")))
    rewrite(a, b)
    [test] = json.loads((tmp_path / "out.json").read_text())["tests"]
    assert [(x["outcome"], x["time"], x["message"]) for x in test["attempts"]] == [("error", 1.5, "boom"), ("passed", 0.5, "")]


@pytest.mark.parametrize("where", ["testcase", "failure"])
def test_a_default_namespace_declared_on_a_testcase_or_its_failure_hides_no_failure(tmp_path: Path, rewrite, where: str) -> None:
    failure = '<failure xmlns="urn:x" message="boom"/>' if where == "failure" else '<failure message="boom"/>'
    case = f'<testcase{" xmlns=" + chr(34) + "urn:x" + chr(34) if where == "testcase" else ""} classname="c" name="t">{failure}</testcase>'
    result, root = rewrite(jb.write(tmp_path / "r.xml", jb.testsuite(case)), expect=1)
    assert "1 failed" in result.stdout


# -- reports expat accepts that are hard to read back ------------------------------------------------


def test_a_namespace_prefix_declared_on_a_wrapper_element_is_read(tmp_path: Path, rewrite) -> None:
    case = jb.testcase("test_a", "failed", children='<x:extra x:y="1"/>')
    raw = jb.testsuite(f'<wrapper xmlns:x="urn:x">{case}{jb.testcase("test_a")}</wrapper>')
    result, root = rewrite(jb.write(tmp_path / "r.xml", raw))
    assert "1 flaky" in result.stdout
    assert root.find(".//{urn:x}extra").get("{urn:x}y") == "1"


@pytest.mark.parametrize("declaration", ['xmlns:x=""', 'xmlns:xml="urn:not-xml"', 'xmlns:x="urn:a b"'])
def test_an_invalid_namespace_declaration_is_read(tmp_path: Path, run_cli, declaration: str) -> None:
    # expat accepts these; so does the rest of the reading, which resolves no namespace.
    raw = jb.testsuite(f'<testcase {declaration} classname="c" name="t"><failure message="m"/></testcase>')
    report = jb.write(tmp_path / "r.xml", raw)
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", tmp_path / "out.xml")
    assert result.exit_code == 1 and "1 failed" in result.stdout, result.stderr


def test_a_failing_testcase_nested_deeper_than_lxml_allows_is_read(tmp_path: Path, run_cli) -> None:
    deep = "<d>" * 3000 + "</d>" * 3000
    case = jb.testcase("test_a", "failed", children=deep)
    report, out = jb.write(tmp_path / "r.xml", jb.testsuite(case, jb.testcase("test_a"))), tmp_path / "out.xml"
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", out)
    assert result.exit_code == 0 and "1 flaky" in result.stdout, result.stderr
    assert out.read_text().count("<d") == 3000  # kept whole; lxml cannot read it back (depth 2048)


def test_whitespace_of_more_than_4_kib_inside_an_end_tag_is_read(tmp_path: Path, rewrite) -> None:
    case = jb.testcase("test_a", "failed").replace("</testcase>", "</testcase" + " " * 5000 + ">")
    result, root = rewrite(jb.write(tmp_path / "r.xml", jb.testsuite(case, jb.testcase("test_a"))))
    assert "1 flaky" in result.stdout


def test_passing_tests_repeated_in_shards_with_long_tags_and_output_merge_into_one_run_each(tmp_path: Path, rewrite) -> None:
    # Repeats that passed are merged from what the scan recorded: a start tag longer than one
    # read (with a raw ">" in a value), and an output longer than the reader's 1 MiB chunk.
    note = "a > b " * 2000
    output = "line of captured output\n" * 60000
    cases = [jb.testcase("test_long_tag", note=note), jb.testcase("test_long_output", stdout=output, note="/>")]
    raw = jb.testsuites(jb.testsuite(*cases)).replace("&gt;", ">")
    first, second = (jb.write(tmp_path / f"shard-{i}.xml", raw) for i in (1, 2))
    result, root = rewrite(first, second)
    assert "2 tests: 2 passed" in result.stdout
    long_tag, long_output = by_name(root)["test_long_tag"], by_name(root)["test_long_output"]
    assert long_tag.get("note") == note and long_tag.get("time") == "0.020" and len(long_tag) == 0
    assert long_output.findtext("system-out") == output and long_output.get("time") == "0.020"


def test_thousands_of_tests_repeated_in_shards_of_different_encodings_merge_into_one_each(tmp_path: Path, rewrite) -> None:
    # Repeats are confirmed in batches of start tags, each batch read from one file in its encoding.
    cases = [jb.testcase(f"test_\xe9_{i}", "skipped" if i % 7 == 0 else "passed") for i in range(5000)]
    latin = jb.write(tmp_path / "a.xml", jb.pytest_report(*cases), encoding="ISO-8859-1")
    utf8 = jb.write(tmp_path / "b.xml", jb.pytest_report(*cases[::-1]))
    result, root = rewrite(latin, utf8)
    merged = by_name(root)
    assert len(merged) == 5000 and {case.get("time") for case in merged.values()} == {"0.020"}
    assert sum(case.find("skipped") is not None for case in merged.values()) == 715
    assert "5000 tests: 4285 passed, 0 flaky, 0 failed, 715 skipped" in result.stdout


@pytest.mark.parametrize("failing_shard", [0, 1, 2])
def test_thousands_of_tests_passing_in_two_shards_and_failing_in_a_third_are_flaky_with_every_run(
    tmp_path: Path, rewrite, failing_shard: int
) -> None:
    # A later pass is held flat (no element) and the failure makes each a tracked test: the
    # first testcase of each, whichever shard holds it, is the one written back, with all runs.
    names = [f"test_{i}" for i in range(3000)]
    shards = [jb.write(tmp_path / f"pass-{n}.xml", jb.pytest_report(*map(jb.testcase, names))) for n in (1, 2)]
    failing = jb.write(tmp_path / "fail.xml", jb.pytest_report(*(jb.testcase(name, "failed") for name in names)))
    shards.insert(failing_shard, failing)
    result, root = rewrite(*shards)
    merged = by_name(root)
    assert len(merged) == 3000 and "3000 tests: 0 passed, 3000 flaky" in result.stdout
    assert {case.get("time") for case in merged.values()} == {"0.030"}
    assert all(len(case.findall("flakyFailure")) == 1 and case.find("failure") is None for case in merged.values())


@pytest.mark.parametrize("encoding", ["Shift_JIS", "EUC-JP", "ISO-2022-JP"])
def test_a_multi_byte_or_stateful_encoding_is_refused_in_one_line(tmp_path: Path, rejected, encoding: str) -> None:
    # expat reads UTF-8 and single-byte encodings only, and the writer edits bytes in place:
    # ISO-2022-JP's escape sequences would make a copied byte range mean something else.
    raw = jb.testsuite(jb.testcase("test_\u65e5\u672c", "failed", message="\u5931\u6557"), jb.testcase("test_\u65e5\u672c"))
    report = jb.write(tmp_path / "r.xml", raw, encoding=encoding)
    rejected(report, words=[f"encoding {encoding} is not supported (multi-byte or stateful); write UTF-8"])


def test_a_report_whose_tags_carry_a_prefix_is_read_and_written_back_well_formed(tmp_path: Path, rewrite) -> None:
    case = '<j:testcase classname="c" name="t">{}</j:testcase>'
    raw = (
        '<j:testsuites xmlns:j="urn:j"><j:testsuite name="s" tests="9">'
        + case.format('<j:failure message="m"/>') + case.format("") + '<j:testcase classname="c" name="u"/>'
        + "</j:testsuite></j:testsuites>"
    )
    result, root = rewrite(jb.write(tmp_path / "r.xml", raw))
    assert "1 flaky" in result.stdout
    assert root.find("{urn:j}testsuite").get("tests") == "2"


@pytest.mark.parametrize(
    "declared, words",
    [
        ("UTF\x00-8", ["unknown encoding"]),  # a null byte in the name
        ("rot13", ["unknown encoding"]),  # a codec of Python's that is no character encoding
        ("base64", ["unknown encoding"]),
        ("undefined", ["unknown encoding"]),
        ("idna", ["unknown encoding"]),
        ("unicode_escape", ["not supported (multi-byte or stateful)"]),  # "\\xe9" would be one character
    ],
)
def test_an_encoding_name_python_knows_but_no_report_can_use_is_refused_in_one_line(
    tmp_path: Path, rejected, declared: str, words: List[str]
) -> None:
    report = tmp_path / "r.xml"
    report.write_bytes(f"<?xml version='1.0' encoding='{declared}'?>".encode("latin-1") + VALID.split(b"?>", 1)[-1])
    rejected(report, words=words)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")
def test_more_shards_than_the_process_may_open_files_are_read_merged_and_written(tmp_path: Path) -> None:
    # macOS allows 256 open files by default and Linux 1024; Surefire writes a file per class.
    import resource

    shards = [
        jb.write(tmp_path / f"TEST-{index}.xml", jb.testsuite(jb.testcase(f"test_{index}", "failed"), jb.testcase("test_shared"), name=f"s{index}"))
        for index in range(300)
    ]
    limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))  # noqa: E731
    for command in (["run", "--no-rerun", "--no-flakybot"], ["merge"]):
        out = tmp_path / f"{command[0]}.xml"
        result = subprocess.run(
            [sys.executable, "-m", "junit_flaky", command[0], *map(str, shards), *command[1:], "-o", str(out)],
            capture_output=True, text=True, preexec_fn=limit, cwd=tmp_path,
        )
        assert result.returncode == 1, result.stderr
        assert_rewrite_keeps_every_test_once(shards, out)


def test_a_failure_s_output_is_kept_where_written_though_its_attempts_are_read_without_it(tmp_path: Path, rewrite) -> None:
    # Attempts are read from a testcase without its <system-out>/<system-err> content; the
    # failure's location and type still come from its trace, and every output reaches the report:
    # copied as it was, or read again for a test rewritten from two shards.
    output = '<![CDATA[<failure message="in the output"/>]]> &amp; <j:x xmlns:j="urn:j">a<b/></j:x><!-- c -->'
    case = (
        '<testcase classname="c" name="test_{name}" time="0.5"><system-out note="a&gt;b">{output}</system-out>'
        '<failure message="assert 1 == 2">def test():\nt/test_x.py:7: AssertionError</failure>'
        '<j:system-err xmlns:j="urn:j">err &lt;{name}&gt;</j:system-err><system-out/><system-err a="/>"></system-err></testcase>'
    )
    report = jb.write(tmp_path / "r.xml", f'<testsuite name="s">{case.format(name="one", output=output)}</testsuite>')
    shards = [jb.write(tmp_path / f"shard-{n}.xml", f'<testsuite name="s">{case.format(name="two", output=output)}</testsuite>') for n in (1, 2)]
    for test in read([report, *shards]).tracked.values():
        assert [(a.outcome.value, a.type, a.location, a.message) for a in test.attempts[:1]] == [
            ("failed", "AssertionError", "t/test_x.py:7", "assert 1 == 2")
        ]
    result, root = rewrite(report, *shards, expect=1)
    cases = by_name(root)
    for name in ("one", "two"):
        texts = ["".join(child.itertext()) for child in cases[f"test_{name}"] if child.tag.split("}")[-1].startswith("system-")]
        assert texts[:2] == ['<failure message="in the output"/> & a', f"err <{name}>"]
    assert [child.tag.split("}")[-1] for child in cases["test_two"]].count("rerunFailure") == 1


def test_a_repeated_pass_with_megabytes_of_output_is_not_read_whole_to_see_if_it_is_blank(tmp_path: Path, monkeypatch) -> None:
    """Whether a repeated pass holds only blanks (and merges) is decided without reading a long
    testcase: its captured output may be any size. It stays a tracked test with both runs."""
    from junit_flaky import junit_read

    reads: List[int] = []
    original = junit_read.Snippets.read
    monkeypatch.setattr(junit_read.Snippets, "read", lambda self, file, offset, size: reads.append(size) or original(self, file, offset, size))
    big = jb.testcase("test_noisy", stdout="x" * 3_000_000)
    paths = [jb.write(tmp_path / f"{n}.xml", jb.testsuites(jb.testsuite(big if n == 2 else jb.testcase("test_noisy")))) for n in (1, 2)]
    found = scan(paths)
    assert [test.name for test in found.tracked] == ["test_noisy"] and not found.passed_repeats
    assert max(reads) < 1 << 20


def test_a_failure_with_a_huge_captured_output_is_decided_without_holding_the_output(tmp_path: Path) -> None:
    """Reading a failing test back for its verdict and its failure's message skips its
    <system-out>: 80 MB of captured output never sits in memory (the written testcase is copied
    from the input as it is)."""
    report = tmp_path / "r.xml"
    with open(report, "w") as out:
        out.write('<testsuite name="s"><testcase classname="c" name="test_loud" time="1"><failure message="boom">trace</failure><system-out>')
        for _ in range(80):
            out.write("x" * 1_000_000)
        out.write("</system-out></testcase></testsuite>")
    # The process's own peak (VmHWM: ru_maxrss would count the memory of the process it forked from).
    script = (
        "import re, sys; from junit_flaky.entry import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as done:\n"
        "    peak = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "    print(int(peak) // 1024, file=sys.stderr); raise\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "run", str(report), "--no-rerun", "--no-flakybot", "-o", str(tmp_path / "out.xml")],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "boom" in done.stdout
    assert (tmp_path / "out.xml").stat().st_size > 80_000_000  # the output kept
    assert int(done.stderr.split()[-1]) < 70  # MB: far below the output's 80


def test_a_glob_takes_the_files_it_matches_and_leaves_out_folders(tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # results/* with a folder beside the reports (an attachments folder, a shard's own folder)
    monkeypatch.chdir(tmp_path)
    jb.write(tmp_path / "results" / "junit.xml", jb.pytest_report(jb.testcase("test_a")))
    (tmp_path / "results" / "attachments").mkdir()
    result = run_cli("run", "results/*", "--no-rerun", "--no-flakybot")
    assert result.exit_code == 0, result.stderr
    assert "1 test: 1 passed" in result.stdout
