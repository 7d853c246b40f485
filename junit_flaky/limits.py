"""Bounds of the thresholds, apart from the thresholds' code: the CLI's options take them on every
start, before any command runs, so this module imports nothing."""

# The most runs a test may get, first run included. Flakybot's thresholds and pytest-rerunfailures'
# --reruns live in single digits, and Datadog's early flake detection stops at 10 retries; every
# run costs the test's whole duration (100 runs of a one-minute test is most of two hours), and a
# test that needs more than 100 runs to pass is failing, not flaky. A larger value is a typo.
MAX_RUNS = 100
