"""CircleCI: the reports written where the orb's ``store_test_results``/``store_artifacts`` read.

CircleCI has no API to upload test results from inside a job: only those two steps, which run
after ours (with ``when: always`` so a failing test step does not skip them). So this target
only writes the files into their folder: ``JUNIT_FLAKY_CIRCLECI_DIR``, default
``test-results/junit-flaky`` (relative to the working directory, as the steps' ``path`` is).

It writes each report's executions (``upload.executions``, as Test Engine gets them), not the
report as it is: Test Insights identifies flaky tests "as tests that failed and passed on the same
commit" (circleci-docs ``insights-tests.adoc``), and reads a Surefire flaky test, one passing
testcase with ``<flakyFailure>`` children, as a pass only. The failed attempts then show in the
job's Tests tab; the job's result does not change, since CircleCI takes it from the steps' exit
codes, not from stored test results. Only the executions go in the folder, not the report too:
``store_test_results`` reads every file under it and would count each test twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Set

from junit_flaky.errors import JunitFlakyError
from junit_flaky.files import atomic_write, why_not_written
from junit_flaky.upload.context import Context
from junit_flaky.upload.executions import split
from junit_flaky.upload.reports import Report
from junit_flaky.verdicts import plural

DIR_VAR = "JUNIT_FLAKY_CIRCLECI_DIR"
DEFAULT_DIR = "test-results/junit-flaky"
PER_FILE = 5000  # testcases per file written: bounds the memory one file takes


def upload(reports: Sequence[Report], ctx: Context) -> str:
    folder = Path(ctx.env.get(DIR_VAR) or DEFAULT_DIR)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JunitFlakyError(f"cannot write to {folder}: {why_not_written(exc)}") from None
    inside = folder.resolve()
    for report in reports:
        if inside in report.path.resolve().parents:  # store_test_results reads subfolders too
            raise JunitFlakyError(
                f"{report.path} is in {folder}/ already: store_test_results would count its tests twice;"
                " write the report elsewhere"
            )
    used: Set[str] = set()
    for report in reports:
        for part, (content, _) in enumerate(split([report], PER_FILE), 1):
            stem = report.path.stem if part == 1 else f"{report.path.stem}-part{part}"
            with atomic_write(folder / _unique(stem, report.path.suffix, used)) as out:
                out.write(content)
    return (
        f"wrote {plural(len(reports), 'report')} to {folder}/ with every attempt a testcase, for the"
        " store_test_results and store_artifacts steps (CircleCI has no upload API inside a job)"
    )


def _unique(stem: str, suffix: str, used: Set[str]) -> str:
    """``stem + suffix``, numbered when two reports share it (``report-2.xml``)."""
    name, number = stem + suffix, 1
    while name in used:
        number += 1
        name = f"{stem}-{number}{suffix}"
    used.add(name)
    return name
