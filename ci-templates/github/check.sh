#!/bin/bash
# The action's main step. Inputs arrive as INPUT_* variables (see action.yml), never pasted into
# the script's text, so no input can inject shell.
#
# Optionally runs the tests (INPUT_TEST_COMMAND), then `junit-flaky run` on their reports, and
# exits with junit-flaky's exit code: 0 no failed verdict, 1 a failed verdict (or a test step that
# exited with neither 0 nor 1), 2 bad input, 3 a failed strict upload. The job summary, the
# annotations and the outputs come from junit-flaky's github-actions upload target.
set -euo pipefail

readonly EXIT_BAD_INPUT=2

# words VALUE: the value split on spaces, tabs and newlines, one word a line, no glob expansion.
words() {
  local list=()
  read -r -d '' -a list < <(printf '%s' "$1") || true
  if [[ ${#list[@]} -gt 0 ]]; then
    printf '%s\n' "${list[@]}"
  fi
}

# any_report_exists PATTERN...: true if a glob matches a file. junit-flaky expands the globs
# itself; this only tells "the tests wrote no report" apart from everything else.
any_report_exists() (
  shopt -s nullglob globstar
  local IFS='' pattern file # empty IFS: expand the glob, but do not split paths on spaces
  for pattern in "$@"; do
    # shellcheck disable=SC2086 # unquoted on purpose, to expand the glob
    for file in $pattern; do
      if [[ -f "$file" ]]; then
        return 0
      fi
    done
  done
  return 1
)

add_option() {
  if [[ -n "$2" ]]; then
    run_args+=("$1" "$2")
  fi
}

# add_switch FLAG VALUE: append FLAG when VALUE is true. False passes nothing, so JUNIT_FLAKY_* or
# pyproject.toml can still turn the switch on.
add_switch() {
  if [[ "$2" == "true" ]]; then
    run_args+=("$1")
  fi
}

# build_run_args TEST_STATUS PATTERN...: fill the global array run_args with junit-flaky's
# command line.
build_run_args() {
  local test_status="$1" target rerun_command=()
  shift
  run_args=(run "$@" --output "$INPUT_OUTPUT")
  add_option --test-exit-code "$test_status"
  add_option --thresholds "$INPUT_THRESHOLDS"
  add_option --min-passes "$INPUT_MIN_PASSES"
  add_option --max-runs "$INPUT_MAX_RUNS"
  add_option --json "$INPUT_JSON"
  add_option --rootdir "$INPUT_ROOTDIR"
  add_option --workers "$INPUT_WORKERS"
  add_option --rerun-timeout "$INPUT_RERUN_TIMEOUT"
  add_option --max-reruns-total "$INPUT_MAX_RERUNS_TOTAL"
  if [[ "$INPUT_RERUN" == "false" ]]; then
    run_args+=(--no-rerun)
  fi
  if [[ "$INPUT_FLAKYBOT" == "false" ]]; then
    run_args+=(--no-flakybot)
  fi
  add_switch --thresholds-from-history "$INPUT_THRESHOLDS_FROM_HISTORY"
  add_switch --record-history "$INPUT_RECORD_HISTORY"
  add_option --history-db "$INPUT_HISTORY_DB"
  add_option --quarantine-file "$INPUT_QUARANTINE_FILE"
  add_switch --auto-quarantine "$INPUT_AUTO_QUARANTINE"
  add_switch --fail-on-flake-regression "$INPUT_FAIL_ON_FLAKE_REGRESSION"
  add_option --new-test-runs "$INPUT_NEW_TEST_RUNS"
  add_option --new-test-budget "$INPUT_NEW_TEST_BUDGET"
  add_switch --allow-new-flaky "$INPUT_ALLOW_NEW_FLAKY"
  add_switch --fail-on-flaky "$INPUT_FAIL_ON_FLAKY"
  add_option --codeowners "$INPUT_CODEOWNERS"
  while IFS= read -r target; do
    run_args+=(--upload "$target")
  done < <(words "$INPUT_UPLOAD")
  add_switch --strict-upload "$INPUT_STRICT_UPLOAD"
  while IFS= read -r target; do
    rerun_command+=("$target")
  done < <(words "$INPUT_RERUN_COMMAND")
  if [[ ${#rerun_command[@]} -eq 0 && "$(command -v junit-flaky)" == "${RUNNER_TEMP:-}/junit-flaky-action/bin/junit-flaky" ]]; then
    # install.sh's venv has neither pytest nor the project's dependencies, so junit-flaky's
    # default (its own interpreter's "-m pytest") cannot rerun; the tests' Python can.
    rerun_command=("$INPUT_PYTHON" -m pytest)
  fi
  if [[ ${#rerun_command[@]} -gt 0 ]]; then
    run_args+=(-- "${rerun_command[@]}")
  fi
}

main() {
  local report_patterns=() pattern test_status="${INPUT_TEST_EXIT_CODE:-}" verdict_status=0
  # The token inputs leave the environment before anything else runs: the test command and
  # junit-flaky's reruns inherit it, and would find them as INPUT_*. Unexported copies stay here.
  local aviator_token="${INPUT_AVIATOR_API_TOKEN:-}" test_engine_token="${INPUT_BUILDKITE_ANALYTICS_TOKEN:-}"
  unset INPUT_AVIATOR_API_TOKEN INPUT_BUILDKITE_ANALYTICS_TOKEN
  while IFS= read -r pattern; do
    report_patterns+=("$pattern")
  done < <(words "$INPUT_REPORTS")
  if [[ ${#report_patterns[@]} -eq 0 ]]; then
    echo "junit-flaky action: the reports input is empty" >&2
    exit "$EXIT_BAD_INPUT"
  fi
  if [[ -n "$INPUT_TEST_COMMAND" && -n "$test_status" ]]; then
    echo "junit-flaky action: give test-command or test-exit-code, not both" >&2
    exit "$EXIT_BAD_INPUT"
  fi
  if ! command -v junit-flaky >/dev/null 2>&1; then
    echo "junit-flaky action: junit-flaky is not on PATH" >&2
    exit "$EXIT_BAD_INPUT"
  fi

  if [[ -n "$INPUT_TEST_COMMAND" ]]; then
    echo "Running the tests: ${INPUT_TEST_COMMAND}"
    test_status=0
    bash -eo pipefail -c "$INPUT_TEST_COMMAND" || test_status=$?
    echo "The test command exited ${test_status}"
  fi
  if ! any_report_exists "${report_patterns[@]}"; then
    if [[ "${test_status:-0}" =~ ^[0-9]+$ && "${test_status:-0}" -ne 0 ]]; then
      echo "junit-flaky action: the tests exited ${test_status} and wrote no JUnit report" \
        "matching ${INPUT_REPORTS}; failing with their exit code" >&2
      exit "$test_status"
    fi
    echo "junit-flaky action: no JUnit report matches ${INPUT_REPORTS}; check the reports" \
      "input and that the tests write JUnit XML there" >&2
    exit "$EXIT_BAD_INPUT"
  fi

  # A token given as an input goes to junit-flaky alone, under its own name, which it reads
  # before the job's env and keeps from its reruns: the tests never saw the input, and under the
  # standard name buildkite-test-collector in a rerun would upload with it.
  if [[ -n "$aviator_token" ]]; then
    export JUNIT_FLAKY_AVIATOR_API_TOKEN="$aviator_token"
  fi
  if [[ -n "$test_engine_token" ]]; then
    export JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN="$test_engine_token"
  fi
  build_run_args "$test_status" "${report_patterns[@]}"
  echo "junit-flaky ${run_args[*]}"
  junit-flaky "${run_args[@]}" || verdict_status=$?
  exit "$verdict_status"
}

main "$@"
