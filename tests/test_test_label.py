"""A test is named the same way in every message: CLASSNAME::NAME, or NAME alone when its report
gives no classname (a "::test_x" in one place and "test_x" in another would be two tests to a
reader, and to whoever greps the log)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from junit_flaky import report
from junit_flaky.history import auto_quarantine, stats
from junit_flaky.history.estimate import Evidence
from junit_flaky.history.learn import TestHistory
from junit_flaky.history.regression import Alarm, FlakeRegression
from junit_flaky.history.store import QuarantineRow
from junit_flaky.model import TestId, Thresholds
from junit_flaky.thresholds import Resolver, ThresholdTable


def labels(classname: str, name: str) -> list:
    """The test's name as each message that names it shows it."""
    row = QuarantineRow(1, classname, name, "flaky", 0.0)
    history = TestHistory(classname, name, Evidence(3, 1), 0.5, 1, 0, 0.0, ())
    found = FlakeRegression(classname, name, 0.5, Alarm(1, 0.0, 0.0, 3, 2)).describe()
    shown = io.StringIO()
    resolver = Resolver(Thresholds(), [], [ThresholdTable(auto_quarantine.threshold_entries([row], "history h"))])
    report.print_thresholds(Console(file=shown, width=200), resolver)
    quarantined = shown.getvalue().splitlines()[-1]
    return [
        str(TestId(classname, name)),
        auto_quarantine.label(row),
        stats.test_label(history),
        found.split("flake-rate regression: ", 1)[1].split(" failed ", 1)[0],
        quarantined.split("history h: ", 1)[1].split(": quarantined", 1)[0],
    ]


@pytest.mark.parametrize("classname, name, label", [("", "test_x", "test_x"), ("pkg.mod", "test_x[1]", "pkg.mod::test_x[1]")])
def test_every_message_names_a_test_alike(classname: str, name: str, label: str) -> None:
    assert labels(classname, name) == [label] * 5
