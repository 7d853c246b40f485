#!/bin/bash
# Shared setup for the hook tests: a scratch checkout, stubs on a PATH that holds nothing else
# from this machine (a real junit-flaky installed here must not leak into the tests), and the
# plugin's configuration cleared.

PLUGIN_DIR="$(cd "$(dirname "${BATS_TEST_FILENAME}")/.." && pwd)"
export STUBS="${PLUGIN_DIR}/tests/stubs"

setup_job() {
  local name
  for name in $(compgen -e); do
    if [[ "$name" == BUILDKITE_* || "$name" == JUNIT_FLAKY_* ]]; then
      unset "$name"
    fi
  done
  export CALLS="${BATS_TEST_TMPDIR}/calls"
  export STUB_BIN="${BATS_TEST_TMPDIR}/bin"
  export BUILDKITE_BUILD_CHECKOUT_PATH="${BATS_TEST_TMPDIR}/checkout"
  mkdir -p "$CALLS" "$STUB_BIN" "$BUILDKITE_BUILD_CHECKOUT_PATH"
  # Copies, not links: a test may replace a stub in its own bin/ without touching the original.
  cp "${STUBS}/recorder" "${STUB_BIN}/buildkite-agent"
  cp "${STUBS}/python" "${STUB_BIN}/python3"
  export PATH="${STUB_BIN}:/usr/bin:/bin"
  export BUILDKITE_JOB_ID="job-1"
  export BUILDKITE_LABEL="tests"
  cd "$BUILDKITE_BUILD_CHECKOUT_PATH" || return 1
}

with_junit_flaky_on_path() {
  cp "${STUBS}/recorder" "${STUB_BIN}/junit-flaky"
}

# The step's command: tests that write one JUnit report, then exit with the given status.
REPORT_WRITING_COMMAND='mkdir -p test-results && echo "<testsuite/>" > test-results/junit.xml'
given_tests_that_write_a_report_and_exit() {
  export BUILDKITE_COMMAND="${REPORT_WRITING_COMMAND} && exit $1"
}

# assert_lines FILE LINE...: the file holds exactly these lines (one argv element each).
assert_lines() {
  local file="$1" expected actual
  shift
  expected="$(printf '%s\n' "$@")"
  actual="$(cat "$file")"
  if [[ "$actual" != "$expected" ]]; then
    printf 'expected %s to hold:\n%s\n--- but it holds:\n%s\n' "$file" "$expected" "$actual" >&2
    return 1
  fi
}

assert_output_contains() {
  # shellcheck disable=SC2154 # bats' run sets $output
  if [[ "$output" != *"$1"* ]]; then
    printf 'expected the output to contain: %s\n--- output:\n%s\n' "$1" "$output" >&2
    return 1
  fi
}
