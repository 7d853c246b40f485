"""CircleCI: the reports land in the folder the orb's store_test_results/store_artifacts read."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from junit_flaky.upload import upload

SAMPLE = Path(__file__).parent / "data" / "upload-aggregated.xml"
ENV = {"CIRCLECI": "true", "CIRCLE_JOB": "test"}


@pytest.fixture(autouse=True)
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def runs(root, name):
    return [
        "failure" if case.find("failure") is not None else "error" if case.find("error") is not None
        else "skipped" if case.find("skipped") is not None else "pass"
        for case in root.xpath("//testcase[@name=$name]", name=name)
    ]


def test_writes_every_attempt_into_the_default_folder(work):
    # Test Insights calls a test flaky when it failed and passed on one commit: it must see both.
    [outcome] = upload([SAMPLE], ["circleci"], ENV)
    assert outcome.ok
    root = etree.parse(str(work / "test-results/junit-flaky/upload-aggregated.xml")).getroot()
    assert runs(root, "test_flaky[a-1]") == ["failure", "pass"]
    assert runs(root, "test_broken") == ["failure", "failure", "error"]
    assert runs(root, "test_ok") == ["pass"]
    assert root.find(".//flakyFailure") is None and root.find(".//rerunFailure") is None
    assert outcome.message == (
        "wrote 1 report to test-results/junit-flaky/ with every attempt a testcase, for the"
        " store_test_results and store_artifacts steps (CircleCI has no upload API inside a job)"
    )


def test_a_flaky_run_still_passes_with_its_failed_attempt_stored(work):
    # CircleCI takes a job's result from its steps' exit codes, not from stored test results:
    # the failed attempt in the folder must not change junit-flaky's exit code either.
    report = work / "raw.xml"
    report.write_text(
        "<testsuite name='s'><testcase classname='c' name='t'><failure message='m'>boom</failure></testcase>"
        "<testcase classname='c' name='t'/></testsuite>"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work), **ENV}
    command = [sys.executable, "-m", "junit_flaky", "run", str(report), "--no-rerun", "--output", "final.xml", "--upload", "circleci"]
    result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    root = etree.parse(str(work / "test-results/junit-flaky/final.xml")).getroot()
    assert runs(root, "t") == ["failure", "pass"]
    assert etree.parse(str(work / "final.xml")).getroot().find(".//flakyFailure") is not None  # untouched


def test_a_large_report_goes_in_several_files(work):
    path = work / "big.xml"
    case = "<testcase classname='c' name='t{i}'><flakyFailure message='m'/></testcase>"
    path.write_text(f"<testsuite name='s'>{''.join(case.format(i=i) for i in range(3000))}</testsuite>")
    [outcome] = upload([path], ["circleci"], ENV)
    assert outcome.ok, outcome
    folder = work / "test-results/junit-flaky"
    assert sorted(p.name for p in folder.iterdir()) == ["big-part2.xml", "big.xml"]
    counts = [len(etree.parse(str(folder / name)).getroot().findall(".//testcase")) for name in ("big.xml", "big-part2.xml")]
    assert counts == [5000, 1000]


def test_the_folder_from_the_environment(work):
    [outcome] = upload([SAMPLE], ["circleci"], {**ENV, "JUNIT_FLAKY_CIRCLECI_DIR": str(work / "out")})
    assert outcome.ok and (work / "out/upload-aggregated.xml").exists()


def test_reports_with_the_same_name_keep_apart(work):
    for folder in ("a", "b"):
        (work / folder).mkdir()
        shutil.copy(SAMPLE, work / folder / "report.xml")
    (work / "b/report.xml").write_text("<testsuite name='b'><testcase classname='c' name='only_b'/></testsuite>")
    [outcome] = upload([Path("a/report.xml"), Path("b/report.xml")], ["circleci"], ENV)
    assert outcome.ok
    folder = work / "test-results/junit-flaky"
    assert sorted(p.name for p in folder.iterdir()) == ["report-2.xml", "report.xml"]
    assert runs(etree.parse(str(folder / "report-2.xml")).getroot(), "only_b") == ["pass"]


def test_a_report_already_in_the_folder_is_refused(work):
    # store_test_results would read it besides its copy and count every test twice.
    folder = work / "test-results/junit-flaky"
    (folder / "in").mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "in/junit.xml")
    [outcome] = upload([Path("test-results/junit-flaky/in/junit.xml")], ["circleci"], ENV)
    assert (outcome.ok, outcome.message) == (
        False, "test-results/junit-flaky/in/junit.xml is in test-results/junit-flaky/ already: store_test_results"
        " would count its tests twice; write the report elsewhere"
    )
    assert (folder / "in/junit.xml").read_bytes() == SAMPLE.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == ["in"]


def test_a_folder_that_cannot_be_made(work):
    (work / "test-results").write_text("a file where the folder should be")
    [outcome] = upload([SAMPLE], ["circleci"], ENV)
    assert not outcome.ok
    assert outcome.message.startswith("cannot write to test-results/junit-flaky: ")
