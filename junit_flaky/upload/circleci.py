"""CircleCI: the report(s) copied where the orb's ``store_test_results``/``store_artifacts`` read.

CircleCI has no API to upload test results from inside a job: only those two steps, which run
after ours (with ``when: always`` so a failing test step does not skip them). So this target
only puts the files in their folder: ``JUNIT_FLAKY_CIRCLECI_DIR``, default
``test-results/junit-flaky`` (relative to the working directory, as the steps' ``path`` is).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Sequence, Set

from junit_flaky.errors import JunitFlakyError
from junit_flaky.upload.context import Context
from junit_flaky.upload.reports import Report
from junit_flaky.verdicts import plural

DIR_VAR = "JUNIT_FLAKY_CIRCLECI_DIR"
DEFAULT_DIR = "test-results/junit-flaky"


def upload(reports: Sequence[Report], ctx: Context) -> str:
    folder = Path(ctx.env.get(DIR_VAR) or DEFAULT_DIR)
    used: Set[str] = set()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for report in reports:
            target = folder / _unique(report.path, used)
            if not (target.exists() and os.path.samefile(target, report.path)):
                shutil.copyfile(report.path, target)
    except OSError as exc:
        raise JunitFlakyError(f"cannot write to {folder}: {exc.strerror}") from None
    return (
        f"copied {plural(len(reports), 'report')} to {folder}/ for the store_test_results and"
        " store_artifacts steps (CircleCI has no upload API inside a job)"
    )


def _unique(path: Path, used: Set[str]) -> str:
    """The report's own name, numbered when two reports share it (``report-2.xml``)."""
    name, number = path.name, 1
    while name in used:
        number += 1
        name = f"{path.stem}-{number}{path.suffix}"
    used.add(name)
    return name
