"""The human report and the rerun progress: what a person reads on the console."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from junit_flaky import progress, report
from junit_flaky.model import Attempt, Outcome, TestId, TestResult, Thresholds
from junit_flaky.verdicts import decide
from tests import junit_builders as jb


def test_the_console_names_an_exception_type_as_the_xml_does(run_cli, tmp_path: Path) -> None:
    report = jb.write(tmp_path / "r.xml", jb.pytest_report(
        jb.testcase("test_x", "failed", message="boom", type="RuntimeError"),
    ))
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "--output", tmp_path / "out.xml")
    assert result.exit_code == 1
    assert "RuntimeError: boom" in result.stdout
    assert "<class" not in result.stdout
    assert 'type="RuntimeError"' in (tmp_path / "out.xml").read_text()


def _result(name: str) -> TestResult:
    limits = Thresholds(min_passes=1, max_runs=2)
    outcomes = [Outcome.FAILED, Outcome.PASSED]
    attempts = [Attempt(Outcome.FAILED), Attempt(Outcome.PASSED, rerun=True)]
    return TestResult(TestId("test_mod", name), limits, attempts, decide(outcomes, limits))


def test_the_terminal_progress_counts_each_test_as_it_is_decided(monkeypatch) -> None:
    # Reruns often decide several tests between two of rich's timed redraws: each is drawn anyway.
    monkeypatch.setenv("TERM", "xterm-256color")  # a terminal that can redraw, whatever runs the tests
    console = Console(record=True, force_terminal=True, width=120)
    bar = progress.RichProgress(console)
    bar.begin(2)
    seen = []
    for name in ("test_a", "test_b"):
        bar.decided(_result(name), f"test_mod::{name}")
        seen.append(console.export_text(clear=False).splitlines()[-1])
    bar.end()
    assert "1/2" in seen[0] and "2/2" in seen[1]


def test_a_suite_with_two_failures_of_its_own_says_so_in_english(run_cli, tmp_path: Path) -> None:
    errors = '<error message="setUpClass failed">trace</error><failure message="and again">trace</failure>'
    path = jb.write(tmp_path / "TEST-org.Foo.xml", jb.testsuite(errors, name="org.Foo", tests="0", errors="1"))
    result = run_cli("run", path, "--no-rerun", "--no-flakybot")
    assert result.exit_code == 1
    assert "testsuite 'org.Foo' records 2 failures or errors outside any test" in result.stdout


def test_the_one_test_past_the_reports_limit_is_counted_in_english() -> None:
    console = Console(record=True, width=200)
    results = [_result("test_a"), _result("test_b")]
    report.print_report(console, results, report.summarize(results, 0, 0), limit=1)
    assert "... and 1 more flaky, failed or rerun test (see --json or the XML)" in console.export_text()


def test_a_quarantined_test_that_passed_in_the_end_reads_the_same_in_every_output(run_cli, tmp_path: Path) -> None:
    # It fails no build whatever it is called; the console, --json and the XML must still agree.
    import json

    from junit_flaky import junit_read
    from junit_flaky.junit_attempts import recorded_verdict

    thresholds = tmp_path / "thresholds.json"
    entry = {"test_name": "test_q", "class_name": "", "min_passes": 1, "max_runs": 3, "quarantined": True}
    thresholds.write_text(json.dumps({"flaky_tests": [entry]}))
    report_xml = jb.write(tmp_path / "in.xml", jb.testsuite(jb.testcase("test_q", "error"), jb.testcase("test_q")))
    out, js = tmp_path / "out.xml", tmp_path / "out.json"
    result = run_cli("run", report_xml, "--no-rerun", "--no-flakybot", "--thresholds", thresholds, "-o", out, "--json", js)
    assert result.exit_code == 0, result.stderr
    [case] = list(junit_read.testcases(out))
    [test] = json.loads(js.read_text())["tests"]
    assert test["verdict"] == recorded_verdict(case.element).value == "flaky"
    assert "FLAKY" in result.stdout and "QUARANTINED" not in result.stdout


def test_a_printed_name_another_test_makes_with_a_different_split_is_told_apart_by_suite() -> None:
    # "a::b::c" is both classname "a" with name "b::c" and classname "a::b" with name "c"; the
    # second passed, so it is not printed, yet the first must still say which one it is.
    limits = Thresholds()
    failed = TestResult(TestId("a", "b::c", suite="s1"), limits, [Attempt(Outcome.FAILED)], decide([Outcome.FAILED], limits))
    passed = TestResult(TestId("a::b", "c", suite="s2"), limits, [Attempt(Outcome.PASSED)], decide([Outcome.PASSED], limits))
    alone = TestResult(TestId("x", "y", suite="s1"), limits, [Attempt(Outcome.FAILED)], decide([Outcome.FAILED], limits))
    console = Console(record=True, width=200)
    results = [failed, passed, alone]
    report.print_report(console, results, report.summarize(results, 0, 0))
    text = console.export_text()
    assert "a::b::c (suite s1)" in text
    assert "x::y (suite" not in text and "x::y" in text


def test_reruns_on_a_terminal_show_the_bar_and_end(tmp_path: Path) -> None:
    # The bar redirected sys.stdout and sys.stderr into its console, whose file writes to
    # sys.stdout: every line printed while it ran went round that loop, and run never ended.
    import os
    import pty
    import select
    import signal
    import subprocess
    import sys
    import time

    from tests.projects import Project, flaky_body

    project = Project(tmp_path)
    project.write("test_mod.py", f"def test_x():\n{flaky_body('x', [1])}")
    report = project.pytest()
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "junit_flaky", "run", str(report), "--max-runs", "2", "--no-flakybot"]
    env = project.env({"TERM": "xterm-256color", "COLUMNS": "120"})
    process = subprocess.Popen(
        command, cwd=project.root, env=env, stdin=follower, stdout=follower, stderr=follower, start_new_session=True
    )
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 60  # a hang, not a speed: the run takes about a second
    while process.poll() is None and time.monotonic() < deadline:
        if select.select([leader], [], [], 0.2)[0]:
            try:
                shown += os.read(leader, 65536)
            except OSError:  # the terminal's other side is closed: the process is exiting
                pass
    ended = process.poll() is not None
    if not ended:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    os.close(leader)
    assert ended, shown.decode(errors="replace")[-2000:]
    text = shown.decode(errors="replace")
    assert process.returncode == 0, text
    assert "junit-flaky: rerun test_mod::test_x: flaky after 1 rerun" in text
    assert "1 flaky" in text and "Traceback" not in text


def test_a_rerun_process_that_crashes_in_every_round_is_one_note_in_the_report_and_the_json(tmp_path: Path) -> None:
    # Each round's pytest crashed the same way and each round added its line: the report said
    # "exited with code 3" twice, which reads as two problems where there is one.
    import json

    from tests.projects import Project

    project = Project(tmp_path)
    project.write("test_mod.py", "import os\nfrom counters import run_number\n\ndef test_crash():\n"
                  "    if run_number('crash') > 1:\n        os._exit(3)\n    assert False\n")
    report = project.pytest()
    done = project.junit_flaky("run", str(report), "--max-runs", "3", "--json", "out.json")
    assert done.returncode == 1, done.stderr
    assert "attempt 3: ERROR" in done.stdout, done.stdout  # the second round crashed too
    note = "the rerun process exited with code 3 (internal error)"
    assert done.stdout.count(note) == 1, done.stdout
    assert json.loads((tmp_path / "out.json").read_text())["notes"] == [note]


def test_past_the_reports_limit_a_flaky_test_that_fails_the_build_is_still_shown() -> None:
    # A new test flaky on arrival (or --fail-on-flaky) turns the build red as a failed test does:
    # among hundreds of flaky tests it was counted in "... and N more", and the red build's
    # report showed no test to blame.
    import dataclasses

    results = [_result(f"test_{i}") for i in range(5)]
    culprit = results[-1]
    results[-1] = dataclasses.replace(culprit, thresholds=dataclasses.replace(culprit.thresholds, flaky_fails_build=True))
    assert results[-1].fails_build
    console = Console(record=True, width=200)
    report.print_report(console, results, report.summarize(results, 0, 0), limit=2)
    text = console.export_text()
    assert "test_4: FLAKY - passed 1 out of the required 1 time; failed 1 time (this flaky verdict fails the build)" in text, text
    assert "... and 3 more flaky, failed or rerun tests" in text


def test_a_message_one_line_past_the_three_shown_says_so_in_english(run_cli, tmp_path: Path) -> None:
    path = jb.write(tmp_path / "r.xml", jb.testsuite(jb.testcase("test_x", "failed", message="one\ntwo\nthree\nfour")))
    result = run_cli("run", path, "--no-rerun", "--no-flakybot")
    assert "three [... 1 more line]" in result.stdout, result.stdout


def test_the_terminal_progress_shows_a_test_name_that_looks_like_markup_as_it_is(monkeypatch) -> None:
    # pytest names a parameter by its value: test_read[/tmp/x] was read as rich's closing tag, and
    # the bar's redraw raised MarkupError: a traceback and exit 2 on every terminal.
    monkeypatch.setenv("TERM", "xterm-256color")
    console = Console(record=True, force_terminal=True, width=120)
    bar = progress.RichProgress(console)
    bar.begin(1)
    bar.running("test_mod::test_read[/tmp/x] [bold]", 1)
    bar.decided(_result("test_read"), "test_mod::test_read")
    shown = console.export_text(clear=False)
    bar.end()
    assert "test_mod::test_read[/tmp/x] [bold] (rerun 1)" in shown, shown


def test_a_build_that_fails_with_no_failed_test_says_in_its_note_that_the_build_fails(run_cli, tmp_path: Path) -> None:
    # "2 tests: 2 passed, 0 failed" and exit 1: the note is the only line that can say why, and it
    # must say that the build fails, as the --fail-on-flaky and flaky-on-arrival notes do.
    green = jb.write(tmp_path / "green.xml", jb.testsuite(jb.testcase("test_a"), jb.testcase("test_b")))
    empty = jb.write(tmp_path / "empty.xml", jb.testsuite())
    own = jb.write(tmp_path / "own.xml", jb.testsuite(jb.testcase("test_a"), '<error message="setUpClass failed"/>', name="org.Foo"))
    for path, option in ((green, "137"), (empty, "0"), (own, None)):
        result = run_cli("run", path, "--no-rerun", "--no-flakybot", *(("--test-exit-code", option) if option else ()))
        assert result.exit_code == 1 and "0 failed" in result.stdout
        [note] = [line for line in result.stdout.splitlines() if line and line[0].islower() and "tests:" not in line]
        assert note.endswith(("so the build fails", "which fails the build")), note


def test_a_terminal_that_cannot_show_unicode_gets_the_plain_progress_lines(monkeypatch) -> None:
    # Under LANG=C the bar's ellipsis and a name such as test_ünï come out escaped (\u2026), longer
    # than rich measured them: each redraw wrapped and was left on the screen, a pile of bars.
    import io

    monkeypatch.setenv("TERM", "xterm-256color")
    class AsciiTerminal(io.TextIOWrapper):
        def isatty(self) -> bool:  # a terminal indeed, so that only its encoding keeps the bar off
            return True

    raw = io.BytesIO()
    out = AsciiTerminal(raw, encoding="ascii", errors="backslashreplace")
    sink = progress.for_console(Console(file=out, force_terminal=True, width=60, highlight=False))
    sink.begin(1)
    sink.running("test_mod::test_ünï[" + "x" * 80 + "]", 1)
    sink.decided(_result("test_ünï"), "test_mod::test_ünï")
    sink.end()
    out.flush()
    shown = raw.getvalue().decode("ascii")
    assert "junit-flaky: rerunning 1 open test with pytest" in shown, shown
    assert "\x1b[2K" not in shown and "\\u2026" not in shown, shown  # no line erased to redraw it, no cut name


def test_force_color_in_a_ci_log_prints_plain_lines_and_draws_no_bar(monkeypatch) -> None:
    # FORCE_COLOR asks for colour (many CI set it), yet rich then takes the log for a terminal:
    # the bar redrew into the log ten times a second, each redraw kept as a line of its own.
    import io

    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    log = io.StringIO()
    sink = progress.for_console(Console(file=log, highlight=False, soft_wrap=True))  # as the consoles are
    sink.begin(1)
    sink.running("test_mod::test_a", 1)
    sink.decided(_result("test_a"), "test_mod::test_a")
    sink.end()
    assert log.getvalue() == (
        "junit-flaky: rerunning 1 open test with pytest\n"
        "junit-flaky: rerun test_mod::test_a: flaky after 1 rerun (passed 1 out of the required 1 time; failed 1 time)\n"
    )
