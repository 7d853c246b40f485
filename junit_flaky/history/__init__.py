"""Test history: an embedded store of every attempt, flake rates learned from it, thresholds
chosen from those, and the stats. What other stages call is exported here."""

from junit_flaky.history.learn import Settings, thresholds_from_history
from junit_flaky.history.location import resolve_db_path
from junit_flaky.history.record import record_run
from junit_flaky.history.reports import untracked_testcases

__all__ = ["Settings", "record_run", "resolve_db_path", "thresholds_from_history", "untracked_testcases"]
