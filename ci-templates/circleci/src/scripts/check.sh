#!/bin/bash
# The orb's `check` command. Parameters arrive as PARAM_* variables (see commands/check.yml).
#
# Optionally runs the tests (PARAM_TEST_COMMAND), then `junit-flaky run` on their reports, and
# exits with junit-flaky's exit code: 0 no failed verdict, 1 a failed verdict (or a test command
# that exited with neither 0 nor 1), 2 bad input, 3 a failed strict upload. Running the tests
# here is what lets a job whose only failures proved flaky pass: a separate failing test step
# would already have failed the job.
set -euo pipefail

readonly EXIT_BAD_INPUT=2

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

# copy_token CANONICAL SOURCE_NAME: junit-flaky reads its tokens from fixed names; the orb's
# env_var_name parameters let users keep the secret under another name, and its value is handed
# over as JUNIT_FLAKY_CANONICAL, junit-flaky's own name for it. As CANONICAL it would reach the
# tests in junit-flaky's reruns (they inherit its environment less the JUNIT_FLAKY_ tokens), and
# buildkite-test-collector, which pytest loads by itself, would upload with it.
copy_token() {
  local canonical="$1" source_name="$2"
  if [[ "$source_name" != "$canonical" && -n "${!source_name:-}" ]]; then
    export "JUNIT_FLAKY_${canonical}=${!source_name}"
  fi
}

# Integer parameters use 0 for "not given" (and -1 for max_reruns_total, where 0 means something).
add_number_option() {
  local flag="$1" value="$2" unset_value="$3"
  if [[ "$value" != "$unset_value" ]]; then
    run_args+=("$flag" "$value")
  fi
}

add_path_option() {
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

# build_run_args TEST_STATUS PATTERN...: fill the global array run_args with junit-flaky's command
# line. TEST_STATUS, the test command's exit status (empty when this step ran none), reaches
# junit-flaky, which fails the step on any but 0 and 1: the tests were interrupted or never
# collected, so their report may hold only part of them.
build_run_args() {
  local test_status="$1" target rerun_command=()
  shift
  run_args=(run "$@" --output "$PARAM_OUTPUT")
  if [[ -n "$test_status" ]]; then
    run_args+=(--test-exit-code "$test_status")
  fi
  add_path_option --thresholds "$PARAM_THRESHOLDS"
  add_number_option --min-passes "$PARAM_MIN_PASSES" 0
  add_number_option --max-runs "$PARAM_MAX_RUNS" 0
  add_path_option --json "$PARAM_JSON"
  add_path_option --rootdir "$PARAM_ROOTDIR"
  add_number_option --workers "$PARAM_WORKERS" 0
  add_number_option --rerun-timeout "$PARAM_RERUN_TIMEOUT" 0
  add_number_option --max-reruns-total "$PARAM_MAX_RERUNS_TOTAL" -1
  if [[ "$PARAM_RERUN" != "true" ]]; then
    run_args+=(--no-rerun)
  fi
  if [[ "$PARAM_FLAKYBOT" != "true" ]]; then
    run_args+=(--no-flakybot)
  fi
  add_switch --thresholds-from-history "$PARAM_THRESHOLDS_FROM_HISTORY"
  add_switch --record-history "$PARAM_RECORD_HISTORY"
  add_path_option --history-db "$PARAM_HISTORY_DB"
  add_path_option --quarantine-file "$PARAM_QUARANTINE_FILE"
  add_switch --auto-quarantine "$PARAM_AUTO_QUARANTINE"
  add_switch --fail-on-flake-regression "$PARAM_FAIL_ON_FLAKE_REGRESSION"
  add_number_option --new-test-runs "$PARAM_NEW_TEST_RUNS" 0
  add_path_option --new-test-budget "$PARAM_NEW_TEST_BUDGET"
  add_switch --allow-new-flaky "$PARAM_ALLOW_NEW_FLAKY"
  add_switch --fail-on-flaky "$PARAM_FAIL_ON_FLAKY"
  add_path_option --codeowners "$PARAM_CODEOWNERS"
  for target in $PARAM_UPLOAD; do
    run_args+=(--upload "$target")
  done
  add_switch --strict-upload "$PARAM_STRICT_UPLOAD"
  read -r -d '' -a rerun_command < <(printf '%s' "$PARAM_RERUN_COMMAND") || true # as the reports, below
  if [[ ${#rerun_command[@]} -eq 0 && -n "${JUNIT_FLAKY_ORB_RERUN_PYTHON:-}" ]]; then
    # Set by install.sh: junit-flaky sits in a venv without pytest or the project's dependencies,
    # so its default (its own interpreter's "-m pytest") cannot rerun; the install's Python can.
    rerun_command=("$JUNIT_FLAKY_ORB_RERUN_PYTHON" -m pytest)
  fi
  if [[ ${#rerun_command[@]} -gt 0 ]]; then
    run_args+=(-- "${rerun_command[@]}")
  fi
}

main() {
  # test_status stays empty without a test command: an earlier step ran the tests, and its exit
  # code is not known here.
  local report_patterns test_status="" verdict_status=0
  # Split on spaces and line ends (a YAML block gives one glob a line), no globbing; read stops
  # at a NUL, which never comes, so it fails at the end of the text it read whole.
  read -r -d '' -a report_patterns < <(printf '%s' "$PARAM_REPORTS") || true
  if [[ ${#report_patterns[@]} -eq 0 ]]; then
    echo "junit-flaky orb: the reports parameter is empty" >&2
    exit "$EXIT_BAD_INPUT"
  fi
  if ! command -v junit-flaky >/dev/null 2>&1; then
    echo "junit-flaky orb: junit-flaky is not on PATH; run the orb's install command first" >&2
    exit "$EXIT_BAD_INPUT"
  fi

  if [[ -n "$PARAM_TEST_COMMAND" ]]; then
    echo "Running the tests: ${PARAM_TEST_COMMAND}"
    test_status=0
    bash -eo pipefail -c "$PARAM_TEST_COMMAND" || test_status=$?
    echo "The test command exited ${test_status}"
  fi
  if ! any_report_exists "${report_patterns[@]}"; then
    if [[ "${test_status:-0}" -ne 0 ]]; then
      echo "junit-flaky orb: the test command exited ${test_status} and wrote no JUnit report" \
        "matching ${PARAM_REPORTS}; failing with the test command's exit code" >&2
      exit "$test_status"
    fi
    echo "junit-flaky orb: no JUnit report matches ${PARAM_REPORTS}; check the reports" \
      "parameter and that the tests write JUnit XML there" >&2
    exit "$EXIT_BAD_INPUT"
  fi

  copy_token AVIATOR_API_TOKEN "$PARAM_AVIATOR_TOKEN_VAR"
  copy_token BUILDKITE_ANALYTICS_TOKEN "$PARAM_TEST_ENGINE_TOKEN_VAR"
  export JUNIT_FLAKY_CIRCLECI_DIR="$PARAM_RESULTS_DIR"
  build_run_args "$test_status" "${report_patterns[@]}"
  echo "junit-flaky ${run_args[*]}"
  junit-flaky "${run_args[@]}" || verdict_status=$?
  exit "$verdict_status"
}

main "$@"
