"""junit-flaky: decide flaky tests from JUnit XML, rerun only what is still open, write one report."""

__version__ = "0.1.0"
