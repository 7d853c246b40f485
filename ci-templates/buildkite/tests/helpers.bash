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
  use_plugin "$README_REFERENCE"
  export BUILDKITE_JOB_ID="job-1"
  export BUILDKITE_LABEL="tests"
  cd "$BUILDKITE_BUILD_CHECKOUT_PATH" || return 1
}

# The reference the README tells users to write: the plugin in this repository's subfolder.
README_REFERENCE="github.com/junit-flaky/junit-flaky/ci-templates/buildkite#v0.1.0"

# agent_plugin_name REFERENCE: the name the agent gives the plugin, ported from buildkite/agent
# agent/plugin/plugin.go: CreatePlugin (url.Parse; Location is host + path, the #fragment is the
# version) then Plugin.Name (the last path segment, leading dots trimmed, lower case, whitespace
# runs to one space, every character outside [a-zA-Z0-9] to "-", then "-buildkite-plugin-git" and
# "-buildkite-plugin" removed).
agent_plugin_name() {
  local location="${1%%#*}" name
  if [[ "$location" =~ ^[A-Za-z][A-Za-z0-9+.-]*://(.*)$ ]]; then
    location="${BASH_REMATCH[1]}"
    if [[ "${location%%/*}" == *@* ]]; then
      location="${location#*@}" # user info is Authentication, not Location
    fi
  fi
  location="${location//\\//}"
  while [[ "$location" == */ ]]; do
    location="${location%/}"
  done
  name="${location##*/}"
  while [[ "$name" == .* ]]; do
    name="${name#.}"
  done
  name="$(printf '%s' "${name,,}" | tr -s '[:space:]' ' ')"
  name="${name//[^a-zA-Z0-9]/-}"
  name="${name//-buildkite-plugin-git/}"
  name="${name//-buildkite-plugin/}"
  printf '%s' "$name"
}

# agent_env_key TEXT: the agent's formatEnvKey (plugin.go): upper case, "-" and whitespace to "_".
agent_env_key() {
  local key="${1^^}"
  printf '%s' "${key//[-[:space:]]/_}"
}

# use_plugin REFERENCE: the job's plugin is written as REFERENCE in the pipeline. As
# Plugin.ConfigurationToEnvironment does, BUILDKITE_PLUGIN_NAME holds the name, and options set
# with plugin_option below land under BUILDKITE_PLUGIN_<NAME>_.
use_plugin() {
  BUILDKITE_PLUGIN_NAME="$(agent_env_key "$(agent_plugin_name "$1")")"
  export BUILDKITE_PLUGIN_NAME
  PLUGIN_ENV_PREFIX="BUILDKITE_PLUGIN_${BUILDKITE_PLUGIN_NAME}"
}

# plugin_option KEY VALUE: an option as the agent flattens it (flattenConfigToEnvMap): a scalar
# under <PREFIX>_KEY, list item i under <PREFIX>_KEY_i (pass KEY_i).
plugin_option() {
  export "${PLUGIN_ENV_PREFIX}_$(agent_env_key "$1")=$2"
}

unset_plugin_option() {
  unset "${PLUGIN_ENV_PREFIX}_$(agent_env_key "$1")"
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

# assert_no_line_starts PREFIX FILE: no line of FILE starts with PREFIX. (A bare `! grep` would
# not fail a bats test: errexit ignores negated commands.)
assert_no_line_starts() {
  local line
  while IFS= read -r line; do
    if [[ "$line" == "$1"* ]]; then
      printf 'expected no line of %s to start with %s, found: %s\n' "$2" "$1" "$line" >&2
      return 1
    fi
  done <"$2"
}

assert_output_contains() {
  # shellcheck disable=SC2154 # bats' run sets $output
  if [[ "$output" != *"$1"* ]]; then
    printf 'expected the output to contain: %s\n--- output:\n%s\n' "$1" "$output" >&2
    return 1
  fi
}
