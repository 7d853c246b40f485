"""The annotation's Markdown: content, escaping, style, and the shrink into Buildkite's 1 MiB."""

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from junit_flaky.upload import annotation
from junit_flaky.model import Verdict
from junit_flaky.upload.annotation import MAX_BYTES, Detail, build, md
from junit_flaky.upload.reports import Report, load

SAMPLE = Path(__file__).parent / "data" / "upload-aggregated.xml"


_FILES = itertools.count()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


def report_of(folder: Path, *testcases: str) -> Report:
    path = folder / f"r{next(_FILES)}.xml"
    path.write_text(f"<testsuite name='s'>{''.join(testcases)}</testsuite>")
    return load(path)


def failed(name: str, message: str = "boom", trace: str = "Traceback", reruns: int = 0) -> str:
    rerun = f"<rerunFailure message='{message}' type='E'><stackTrace>{trace}</stackTrace></rerunFailure>"
    return (
        f"<testcase classname='c' name='{name}'><failure message='{message}' type='E'>{trace}</failure>"
        f"{rerun * reruns}</testcase>"
    )


def flaky(name: str, message: str = "boom") -> str:
    return f"<testcase classname='c' name='{name}'><flakyFailure message='{message}' type='E'/></testcase>"


def html(markdown: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark", {"html": True}).render(markdown)


def test_a_test_that_failed_every_run_lists_its_failures_without_claiming_their_run_order(run_cli, tmp_path: Path) -> None:
    """pytest-rerunfailures kept no details of the runs it reran; the written <failure> is the run
    that has them (the third), so the annotation does not number it as the first attempt."""
    report = Path(__file__).parent / "data" / "rerunfailures" / "pytest-9.2.0-rerunfailures-16.7.xml"
    run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", tmp_path / "out.xml")
    lines = build([(load(tmp_path / "out.xml"), None)]).markdown.splitlines()
    failures = [line for line in lines if line.startswith(("Failure ", "Attempt "))]
    assert failures[0].startswith("Failure 1: **AssertionError**: assert 1 == 2")
    assert [line.split(":")[0] for line in failures] == ["Failure 1", "Failure 2", "Failure 3"]


def test_the_sample_report():
    note = build([(load(SAMPLE), "artifact://reports/junit.xml")])
    assert note.style == "error"
    lines = note.markdown.splitlines()
    assert lines[0] == "**junit\\-flaky**: 1 failed, 2 flaky, 1 passed, 1 skipped (5 tests)"
    text = note.markdown
    assert "### Failed (1)" in text and "### Flaky (2)" in text
    assert text.index("### Failed") < text.index("### Flaky")
    link = ' · <a href="artifact://reports/junit.xml">report</a>'
    assert f"**tests\\.test\\_api\\:\\:test\\_broken**: 3 failed attempts{link}" in lines
    assert "Failure 1: **RuntimeError**: boom &lt;b&gt;" in lines
    assert "Failure 2: **RuntimeError**: boom again" in lines
    assert "Failure 3: **OSError**: teardown broke" in lines
    assert "<pre>Traceback: first\nRuntimeError: boom &lt;b&gt;</pre>" in text
    assert "<pre>Traceback: third</pre>" in text
    assert (
        "- **tests\\.test\\_api\\:\\:test\\_flaky\\[a\\-1\\]**: 1 failed attempt;"
        f" first: **AssertionError**: assert 1 == 2{link}"
    ) in lines
    assert (
        "- **tests\\.test\\_db\\:\\:test\\_conn**: 2 failed attempts;"
        f" first: **ConnectionError**: connection reset{link}"
    ) in lines
    assert "test_ok" not in text and "test_skip" not in text


def test_the_sample_renders_as_intended():
    rendered = html(build([(load(SAMPLE), None)]).markdown)
    assert "<strong>tests.test_api::test_flaky[a-1]</strong>" in rendered
    assert rendered.count("<details>") == 3
    assert "<pre>def test_flaky" not in rendered  # flaky tests stay one line
    assert "<pre>Traceback: first\nRuntimeError: boom &lt;b&gt;</pre>" in rendered


@pytest.mark.parametrize(
    "testcases, style",
    [
        ([failed("a"), flaky("b")], "error"),
        ([flaky("b"), "<testcase name='c'/>"], "warning"),
        (["<testcase name='c'/>", "<testcase name='d'><skipped/></testcase>"], "success"),
        ([], "success"),
    ],
)
def test_style(testcases, style, folder):
    assert build([(report_of(folder, *testcases), None)]).style == style


def test_no_link_without_an_artifact(folder):
    assert "<a href" not in build([(report_of(folder, failed("a"), flaky("b")), None)]).markdown


def test_names_and_messages_are_escaped(folder):
    name = "t[<script>alert(1)</script>] *bold* `code` |pipe| :rocket: &amp;"
    message = "line one\n\n# not a heading\n- not a list <img src=x>"
    testcase = (
        f"<testcase classname='c' name='{etree_escape(name)}'>"
        f"<flakyFailure message='{etree_escape(message)}' type='E'/></testcase>"
    )
    markdown = build([(report_of(folder, testcase), None)]).markdown
    rendered = html(markdown)
    assert "<script>" not in rendered and "<img" not in rendered
    assert "<em>" not in rendered and "<code>" not in rendered and "<h1>" not in rendered
    assert "t[&lt;script&gt;alert(1)&lt;/script&gt;] *bold* `code` |pipe|" in rendered
    assert "line one # not a heading - not a list &lt;img src=x&gt;" in rendered
    assert "&amp;amp;" in rendered  # the name's literal "&amp;" is shown, not decoded
    assert "\\:rocket\\:" in markdown  # Buildkite's :emoji: stays text


def test_a_trace_cannot_break_out_of_its_block(folder):
    trace = "line 1\n\n</pre></details># Heading\n\n<script>x</script>\n```\nend"
    rendered = html(build([(report_of(folder, failed("a", trace=etree_escape(trace))), None)]).markdown)
    assert "<h1>" not in rendered and "<script>" not in rendered
    assert "&lt;/pre&gt;&lt;/details&gt;# Heading\n\n&lt;script&gt;" in rendered
    assert rendered.count("</details>") == 1


def test_md_keeps_text_on_one_line():
    assert md("a\nb\t c") == "a b c"
    assert md("a_b*c") == "a\\_b\\*c"
    assert md("<&>") == "&lt;&amp;&gt;"


def test_long_traces_are_cut_first(folder):
    trace = "head\n" + "x" * 400_000 + "\ntail"
    tests = [failed(f"t{i}", trace=trace, reruns=1) for i in range(3)]
    markdown = build([(report_of(folder, *tests), None)]).markdown
    assert len(markdown.encode()) <= MAX_BYTES
    assert markdown.count("<details>") == 6
    assert markdown.count("characters cut") == 6
    assert "<pre>head\n" in markdown and "\ntail</pre>" in markdown


def test_then_traces_go(folder):
    trace = "y" * 3000
    tests = [failed(f"t{i}", message=f"m{i}", trace=trace, reruns=2) for i in range(200)]
    markdown = build([(report_of(folder, *tests), None)], limit=200_000).markdown
    assert len(markdown.encode()) <= 200_000
    assert "<details>" not in markdown
    # A failed test's failures are listed as the report lists them, not by run (see Failure N).
    assert "- **c\\:\\:t199**: 3 failed attempts; Failure 1: **E**: m199" in markdown


def test_then_only_names_then_n_more(folder):
    message = "z" * 250
    tests = [failed(f"t{i:05}", message=message) for i in range(20_000)] + [flaky(f"f{i}") for i in range(5)]
    markdown = build([(report_of(folder, *tests), None)], limit=100_000).markdown
    assert len(markdown.encode()) <= 100_000
    assert "- **c\\:\\:t00000**" in markdown and message not in markdown
    shown = markdown.count("\n- **c\\:\\:")
    assert markdown.rstrip().endswith(f"_…and {20_005 - shown} more tests not shown: see the report._")
    assert markdown.startswith("**junit\\-flaky**: 20000 failed, 5 flaky")


def test_a_huge_report_fits_one_mebibyte(tmp_path):
    """A realistic worst case, through a file: 30 000 failed tests with long traces."""
    trace = "\n".join(f"  at com.acme.Service.call{i}(Service.java:{i})" for i in range(60))
    body = "".join(failed(f"test_{i}[param-{i}]", message="expected:&lt;1&gt; but was:&lt;2&gt;", trace=trace) for i in range(30_000))
    path = tmp_path / "huge.xml"
    path.write_text(f"<testsuites><testsuite name='s'>{body}</testsuite></testsuites>")
    markdown = build([(load(path), "artifact://huge.xml")]).markdown
    assert path.stat().st_size > 50 * MAX_BYTES
    assert MAX_BYTES - 1000 < len(markdown.encode()) <= MAX_BYTES
    assert "more tests not shown" in markdown


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=30),
    limit=st.integers(min_value=400, max_value=6000),
)
def test_never_over_the_limit(names, limit, folder):
    tests = [failed(etree_escape(clean(name)), message=etree_escape(clean(name)), trace="t" * 500) for name in names]
    markdown = build([(report_of(folder, *tests), None)], limit=limit).markdown
    assert len(markdown.encode()) <= limit


def test_detail_levels_are_tried_from_the_most_possible(monkeypatch, folder):
    seen = []
    original = annotation._block

    def spy(test, detail):
        seen.append(detail)
        return original(test, detail)

    monkeypatch.setattr(annotation, "_block", spy)
    build([(report_of(folder, failed("a", trace="t" * 1150)), None)], limit=1200)
    assert seen == [Detail.FULL, Detail.CUT_TRACES, Detail.NO_TRACES]
    seen.clear()
    build([(report_of(folder, failed("a", trace="t" * 5000)), None)], limit=2000)
    assert seen == [Detail.NO_TRACES]  # no trace could fit, whole or cut: not even tried


def test_memory_stays_within_what_the_annotation_can_hold(folder):
    """Everything failed, with long traces: later traces are kept cut, then not at all, and past
    as many tests as names could fit, tests are only counted."""
    long_traces = [failed(f"long{i}", trace="x" * 10_000) for i in range(20)]
    short_traces = [failed(f"t{i}", trace="t") for i in range(12_000)]
    report = report_of(folder, *long_traces, *short_traces)
    kept = annotation._Kept(limit=60_000)
    for case in report.testcases():
        kept.add(case, None)
    tests = kept.tests[Verdict.FAILED]
    assert kept.counts[Verdict.FAILED] == 12_020 and len(tests) == 60_000 // 6 + 1
    assert kept.detail is Detail.NO_TRACES
    traces = [test.attempts[0].trace for test in tests]
    assert traces[:6] == ["x" * 10_000] * 6  # whole while whole ones could still fit
    assert all("characters cut" in trace for trace in traces[6:15])
    assert set(traces[15:]) == {""}
    markdown = build([(report, None)], limit=60_000).markdown
    assert markdown.rstrip().endswith("more tests not shown: see the report._")


def clean(text: str) -> str:
    """Text XML can hold."""
    return "".join(ch for ch in text if ch in "\t\n" or (" " <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd"))


def etree_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")


def test_the_note_run_writes_for_a_verdict_is_its_reason_not_a_failed_attempt(run_cli, tmp_path: Path) -> None:
    """``run`` writes why a test fails the build beside its runs, as a <failure> of its own type:
    too few passes, or a new test flaky on arrival. The annotation and GitHub's ``::error`` give
    that as the test's reason; counted as a failed attempt it made a test that failed 1 run of 3
    read "2 failed attempts", one of them "junit_flaky.FlakyFailsBuild"."""
    green = tmp_path / "green.xml"
    green.write_text("<testsuite name='s'><testcase classname='c' name='test_once' time='0.1'/></testsuite>")
    run_cli("run", green, "--no-rerun", "--no-flakybot", "--min-passes", "2", "-o", tmp_path / "out.xml")
    arrival = report_of(
        tmp_path,
        "<testcase classname='c' name='test_new'><flakyFailure message='boom' type='E'><stackTrace>T</stackTrace>"
        "</flakyFailure><failure message='junit-flaky: new test, flaky on arrival: failed 1 of 3 runs'"
        " type='junit_flaky.FlakyFailsBuild'/></testcase>",
    )
    reports = [load(tmp_path / "out.xml"), arrival]
    markdown = build([(report, None) for report in reports]).markdown
    assert "junit\\_flaky\\." not in markdown
    assert f"**c\\:\\:test\\_new**: 1 failed attempt · {md('junit-flaky: new test, flaky on arrival: failed 1 of 3 runs')}" in markdown
    assert f"**c\\:\\:test\\_once**: 0 failed attempts · {md('junit-flaky: passed 1 out of the required 2 times')}" in markdown
    assert markdown.count("Failure 1: **E**: boom") == 1 and "Failure 2" not in markdown
    from junit_flaky.upload import github

    _, notes = github.annotations(case for report in reports for case in report.testcases())
    assert sorted(note.message for note in notes) == [
        "failed (0 failed attempts; junit-flaky: passed 1 out of the required 2 times; needs 1 more run"
        " (reruns disabled by --no-rerun))",
        "failed (1 failed attempt; junit-flaky: new test, flaky on arrival: failed 1 of 3 runs): E: boom",
    ]


def test_a_quarantined_test_that_passed_too_few_times_says_so(run_cli, tmp_path: Path) -> None:
    green = tmp_path / "green.xml"
    green.write_text("<testsuite name='s'><testcase classname='c' name='test_once' time='0.1'/></testsuite>")
    rule = tmp_path / "rule.json"
    rule.write_text('{"flaky_tests": [{"test_name": "test_once", "class_name": "c", "quarantined": true, "min_passes": 2}]}')
    run_cli("run", green, "--no-rerun", "--no-flakybot", "--thresholds", rule, "-o", tmp_path / "out.xml")
    markdown = build([(load(tmp_path / "out.xml"), None)]).markdown
    why = md("quarantined: failed 0 of 1 run; passed 1 out of the required 2 times; needs 1 more run")
    assert f"**c\\:\\:test\\_once**: 0 failed attempts · {why}" in markdown
