"""CircleCI: the reports land in the folder the orb's store_test_results/store_artifacts read."""

import shutil
from pathlib import Path

import pytest

from junit_flaky.upload import upload

SAMPLE = Path(__file__).parent / "data" / "upload-aggregated.xml"
ENV = {"CIRCLECI": "true", "CIRCLE_JOB": "test"}


@pytest.fixture(autouse=True)
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_copies_into_the_default_folder(work):
    [outcome] = upload([SAMPLE], ["circleci"], ENV)
    assert outcome.ok
    assert (work / "test-results/junit-flaky/upload-aggregated.xml").read_bytes() == SAMPLE.read_bytes()
    assert outcome.message == (
        "copied 1 report to test-results/junit-flaky/ for the store_test_results and store_artifacts"
        " steps (CircleCI has no upload API inside a job)"
    )


def test_the_folder_from_the_environment(work):
    [outcome] = upload([SAMPLE], ["circleci"], {**ENV, "JUNIT_FLAKY_CIRCLECI_DIR": str(work / "out")})
    assert outcome.ok and (work / "out/upload-aggregated.xml").exists()


def test_reports_with_the_same_name_keep_apart(work):
    for folder in ("a", "b"):
        (work / folder).mkdir()
        shutil.copy(SAMPLE, work / folder / "report.xml")
    (work / "b/report.xml").write_text("<testsuite name='b'/>")
    [outcome] = upload([Path("a/report.xml"), Path("b/report.xml")], ["circleci"], ENV)
    assert outcome.ok
    folder = work / "test-results/junit-flaky"
    assert sorted(p.name for p in folder.iterdir()) == ["report-2.xml", "report.xml"]
    assert (folder / "report-2.xml").read_text() == "<testsuite name='b'/>"


def test_a_report_already_in_the_folder(work):
    folder = work / "test-results/junit-flaky"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "junit.xml")
    [outcome] = upload([folder / "junit.xml"], ["circleci"], ENV)
    assert outcome.ok and (folder / "junit.xml").read_bytes() == SAMPLE.read_bytes()


def test_a_folder_that_cannot_be_made(work):
    (work / "test-results").write_text("a file where the folder should be")
    [outcome] = upload([SAMPLE], ["circleci"], ENV)
    assert not outcome.ok
    assert outcome.message.startswith("cannot write to test-results/junit-flaky: ")
