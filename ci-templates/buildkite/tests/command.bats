#!/usr/bin/env bats
# The command hook: runs the step's command, then junit-flaky with options built from the
# plugin's configuration, and exits with junit-flaky's exit code.

# Each @test runs in its own subshell, so its exports are meant to stay local:
# shellcheck disable=SC2030,SC2031

load helpers

setup() {
  setup_job
  with_junit_flaky_on_path
  plugin_option REPORTS "test-results/*.xml"
}

@test "runs the tests, then junit-flaky on their reports with the default output" {
  given_tests_that_write_a_report_and_exit 1

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_output_contains "The test command exited 1"
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 1
  [ ! -e "${CALLS}/buildkite-agent" ]
}

@test "passes every option, lists as repeated flags, the rerun command after --" {
  given_tests_that_write_a_report_and_exit 0
  unset_plugin_option REPORTS
  plugin_option REPORTS_0 "test-results/*.xml"
  plugin_option REPORTS_1 "other results/**/*.xml"
  plugin_option OUTPUT "out/flaky.xml"
  plugin_option THRESHOLDS "ci/thresholds.toml"
  plugin_option MIN_PASSES "2"
  plugin_option MAX_RUNS "5"
  plugin_option JSON "out/verdicts.json"
  plugin_option ROOTDIR "src"
  plugin_option WORKERS "4"
  plugin_option RERUN_TIMEOUT "120"
  plugin_option MAX_RERUNS_TOTAL "50"
  plugin_option RERUN "false"
  plugin_option FLAKYBOT "false"
  plugin_option THRESHOLDS_FROM_HISTORY "true"
  plugin_option RECORD_HISTORY "true"
  plugin_option HISTORY_DB "ci cache/history.sqlite"
  plugin_option QUARANTINE_FILE "ci/quarantine.toml"
  plugin_option AUTO_QUARANTINE "true"
  plugin_option FAIL_ON_FLAKE_REGRESSION "true"
  plugin_option NEW_TEST_RUNS "8"
  plugin_option NEW_TEST_BUDGET "120.5"
  plugin_option ALLOW_NEW_FLAKY "true"
  plugin_option FAIL_ON_FLAKY "true"
  plugin_option CODEOWNERS ".github/OWNERS"
  plugin_option UPLOAD_0 "buildkite-test-engine"
  plugin_option UPLOAD_1 "buildkite-annotation"
  plugin_option STRICT_UPLOAD "true"
  plugin_option RERUN_COMMAND_0 "python"
  plugin_option RERUN_COMMAND_1 "-m"
  plugin_option RERUN_COMMAND_2 "pytest"
  plugin_option RERUN_COMMAND_3 "-k not slow"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" "other results/**/*.xml" \
    --output out/flaky.xml --test-exit-code 0 --thresholds ci/thresholds.toml --min-passes 2 \
    --max-runs 5 --json out/verdicts.json --rootdir src --workers 4 --rerun-timeout 120 \
    --max-reruns-total 50 --no-rerun --no-flakybot \
    --thresholds-from-history --record-history --history-db "ci cache/history.sqlite" \
    --quarantine-file ci/quarantine.toml --auto-quarantine --fail-on-flake-regression --new-test-runs 8 --new-test-budget 120.5 \
    --allow-new-flaky --fail-on-flaky --codeowners .github/OWNERS \
    --upload buildkite-test-engine --upload buildkite-annotation --strict-upload \
    -- python -m pytest "-k not slow"
}

@test "a rerun command given as one string is split on whitespace; one upload as a string" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option RERUN_COMMAND "python  -m pytest -p no:cacheprovider"
  plugin_option UPLOAD "buildkite-artifact"
  plugin_option RERUN "true"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0 \
    --upload buildkite-artifact -- python -m pytest -p no:cacheprovider
}

@test "a rerun command string on several lines (a YAML block) is split on every line" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option RERUN_COMMAND $'.venv/bin/python -m pytest\n-p no:cacheprovider\n'

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0 \
    -- .venv/bin/python -m pytest -p no:cacheprovider
}

@test "history switches set to false pass nothing, leaving junit-flaky's own setting in force" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option THRESHOLDS_FROM_HISTORY "false"
  plugin_option RECORD_HISTORY "false"
  plugin_option ALLOW_NEW_FLAKY "false"
  plugin_option FAIL_ON_FLAKY "false"
  plugin_option AUTO_QUARANTINE "false"
  plugin_option FAIL_ON_FLAKE_REGRESSION "false"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0
}

@test "recording the history alone: no thresholds learned, the default database" {
  given_tests_that_write_a_report_and_exit 1
  plugin_option RECORD_HISTORY "true"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 1 \
    --record-history
}

@test "thresholds from a history database at a chosen path" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option THRESHOLDS_FROM_HISTORY "true"
  plugin_option HISTORY_DB ".junit-flaky/main.sqlite"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0 \
    --thresholds-from-history --history-db .junit-flaky/main.sqlite
}

@test "after the plugin installed junit-flaky, reruns use the Python it installed with" {
  given_tests_that_write_a_report_and_exit 0
  export JUNIT_FLAKY_PLUGIN_RERUN_PYTHON="python3.12"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0 \
    -- python3.12 -m pytest
}

@test "a configured rerun command wins over the installing Python" {
  given_tests_that_write_a_report_and_exit 0
  export JUNIT_FLAKY_PLUGIN_RERUN_PYTHON="python3.12"
  plugin_option RERUN_COMMAND ".venv/bin/python -m pytest"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0 \
    -- .venv/bin/python -m pytest
}

@test "each job of a parallel step writes its own output, so the merge step can fetch them all" {
  given_tests_that_write_a_report_and_exit 0
  export BUILDKITE_PARALLEL_JOB="3"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky-3.xml --test-exit-code 0
}

@test "exits with junit-flaky's exit code: 1 for a failed verdict although the tests passed" {
  given_tests_that_write_a_report_and_exit 0
  export STUB_JUNIT_FLAKY_EXIT=1

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 1 ]
}

@test "exits with junit-flaky's exit code: 0 when every failure proved flaky" {
  given_tests_that_write_a_report_and_exit 1
  export STUB_JUNIT_FLAKY_EXIT=0

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
}

@test "exits with junit-flaky's exit code: 3 for a failed strict upload" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option STRICT_UPLOAD "true"
  export STUB_JUNIT_FLAKY_EXIT=3

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 3 ]
}

@test "a test command that exits 2 hands junit-flaky its code, which fails a partial report" {
  # pytest's 2 is an interrupted run or a collection error: its report may hold only some tests.
  given_tests_that_write_a_report_and_exit 2
  export STUB_JUNIT_FLAKY_EXIT=1

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 1 ]
  assert_output_contains "The test command exited 2"
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 2
}

@test "a step without a command: junit-flaky reads the reports on disk, with no test exit code" {
  mkdir -p test-results
  echo "<testsuite/>" >test-results/junit.xml

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_output_contains "the step has no command"
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml
}

@test "no report from failing tests: fails with the test command's exit code and says why" {
  export BUILDKITE_COMMAND="echo collecting; exit 4"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 4 ]
  assert_output_contains "the test command exited 4 and wrote no JUnit report matching test-results/*.xml"
  [ ! -e "${CALLS}/junit-flaky" ]
  assert_lines "${CALLS}/buildkite-agent" annotate --style error --context junit-flaky-job-1 \
    "junit-flaky (tests): the test command exited 4 and wrote no JUnit report matching test-results/*.xml; failing with the test command's exit code"
}

@test "no report from passing tests: fails with 2, the reports option must be wrong" {
  export BUILDKITE_COMMAND="true"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "the test command passed but wrote no JUnit report matching test-results/*.xml"
  [ ! -e "${CALLS}/junit-flaky" ]
}

@test "a failing annotation does not change the exit code" {
  export BUILDKITE_COMMAND="exit 7"
  export STUB_BUILDKITE_AGENT_EXIT=1

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 7 ]
}

@test "a report in a nested folder matches a ** glob" {
  export BUILDKITE_COMMAND="mkdir -p 'out/a b/c' && echo '<testsuite/>' > 'out/a b/c/r.xml'"
  plugin_option REPORTS "out/**/*.xml"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "out/**/*.xml" --output junit-flaky.xml --test-exit-code 0
}

@test "runs the command with BUILDKITE_SHELL, as the agent would" {
  # With -u the unset variable stops the command before it writes a report.
  export BUILDKITE_SHELL="/bin/bash -e -u -c"
  export BUILDKITE_COMMAND="echo \"\$UNSET_VARIABLE\"; ${REPORT_WRITING_COMMAND}"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 1 ]
  assert_output_contains "UNSET_VARIABLE: unbound variable"
}

@test "the step's command runs in the checkout, and so does junit-flaky" {
  given_tests_that_write_a_report_and_exit 0

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  [ -f "${BUILDKITE_BUILD_CHECKOUT_PATH}/test-results/junit.xml" ]
  grep -qx "PWD=${BUILDKITE_BUILD_CHECKOUT_PATH}" "${CALLS}/junit-flaky.env"
}

@test "tokens kept under other names reach junit-flaky only under its own names" {
  # junit-flaky's reruns run in its environment and keep its own names from the tests; under the
  # standard names, a rerun would see the token (and buildkite-test-collector upload with it).
  given_tests_that_write_a_report_and_exit 0
  plugin_option AVIATOR_TOKEN_ENV "MY_AVIATOR_SECRET"
  plugin_option TEST_ENGINE_TOKEN_ENV "SUITE_TOKEN"
  export MY_AVIATOR_SECRET="av-123"
  export SUITE_TOKEN="bk-456"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky.env" AVIATOR_API_TOKEN= BUILDKITE_ANALYTICS_TOKEN= \
    "PWD=${BUILDKITE_BUILD_CHECKOUT_PATH}" JUNIT_FLAKY_AVIATOR_API_TOKEN=av-123 \
    JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN=bk-456
}

@test "tokens kept under other names never reach the test command" {
  # buildkite-test-collector, loaded by pytest, would upload with a token it sees, and the tests
  # have no business holding a secret they were not given.
  export BUILDKITE_COMMAND="env > test-env.txt; ${REPORT_WRITING_COMMAND}"
  plugin_option AVIATOR_TOKEN_ENV "MY_AVIATOR_SECRET"
  plugin_option TEST_ENGINE_TOKEN_ENV "SUITE_TOKEN"
  export MY_AVIATOR_SECRET="av-123"
  export SUITE_TOKEN="bk-456"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  grep -q "^SUITE_TOKEN=bk-456$" test-env.txt # the step's own variables are the tests' own
  assert_no_line_starts "BUILDKITE_ANALYTICS_TOKEN=" test-env.txt
  assert_no_line_starts "AVIATOR_API_TOKEN=" test-env.txt
  assert_no_line_starts "JUNIT_FLAKY_" test-env.txt
  grep -qx "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN=bk-456" "${CALLS}/junit-flaky.env"
}

@test "tokens under the default names are left alone" {
  given_tests_that_write_a_report_and_exit 0
  export AVIATOR_API_TOKEN="av-default"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  grep -qx "AVIATOR_API_TOKEN=av-default" "${CALLS}/junit-flaky.env"
  grep -qx "BUILDKITE_ANALYTICS_TOKEN=" "${CALLS}/junit-flaky.env"
}

@test "the annotation's context and scope reach junit-flaky, and buildkite-agent through it" {
  # junit-flaky passes the context with --context; the agent reads the scope from the environment
  # (clicommand/annotate.go), so an agent older than --scope is not handed an option it refuses.
  given_tests_that_write_a_report_and_exit 0
  plugin_option ANNOTATION_CONTEXT "unit-tests-py311"
  plugin_option ANNOTATION_SCOPE "job"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky.env" AVIATOR_API_TOKEN= BUILDKITE_ANALYTICS_TOKEN= \
    "PWD=${BUILDKITE_BUILD_CHECKOUT_PATH}" BUILDKITE_ANNOTATION_SCOPE=job \
    JUNIT_FLAKY_ANNOTATION_CONTEXT=unit-tests-py311
}

@test "an annotation scope other than build or job fails with 2 before the tests run" {
  export BUILDKITE_COMMAND="touch tests-ran"
  plugin_option ANNOTATION_SCOPE "step"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "annotation_scope must be build or job, got 'step'"
  [ ! -e tests-ran ]
}

@test "a token option that is not a variable name fails with 2 before the tests run" {
  export BUILDKITE_COMMAND="touch tests-ran"
  plugin_option AVIATOR_TOKEN_ENV "\$TOKEN"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "aviator_token_env must be an environment variable name"
  [ ! -e tests-ran ]
}

@test "without the reports option: fails with 2 before the tests run" {
  export BUILDKITE_COMMAND="touch tests-ran"
  unset_plugin_option REPORTS

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "the reports option is required"
  [ ! -e tests-ran ]
}

@test "without junit-flaky on PATH: fails with 2 before the tests run" {
  rm "${STUB_BIN}/junit-flaky"
  export BUILDKITE_COMMAND="touch tests-ran"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "junit-flaky is not on PATH"
  [ ! -e tests-ran ]
}

# The command phase as the agent runs it (buildkite/agent internal/job/executor.go,
# defaultCommandPhase).

# given_a_script PATH MODE: a script that writes the report, as a file of the checkout.
given_a_script() {
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/bash\n%s\n' "$REPORT_WRITING_COMMAND" >"$1"
  chmod "$2" "$1"
}

@test "a command that names a script runs that script, made executable as the agent does" {
  given_a_script ci/run-tests.sh 644
  export BUILDKITE_COMMAND="ci/run-tests.sh"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  [ -x ci/run-tests.sh ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0
}

@test "BUILDKITE_COMMAND_EVAL=false: a command that is not a script is refused with 2" {
  export BUILDKITE_COMMAND_EVAL=false
  export BUILDKITE_COMMAND="touch tests-ran"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "this agent is not allowed to evaluate console commands"
  [ ! -e tests-ran ]
  [ ! -e "${CALLS}/junit-flaky" ]
}

@test "BUILDKITE_COMMAND_EVAL=false: a script in the checkout runs, and is not made executable" {
  export BUILDKITE_COMMAND_EVAL=false
  given_a_script ci/run-tests.sh 755
  given_a_script ci/not-executable.sh 644
  export BUILDKITE_COMMAND="ci/run-tests.sh"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  [ -f test-results/junit.xml ]

  rm -r test-results
  export BUILDKITE_COMMAND="ci/not-executable.sh"
  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 126 ] # Permission denied, as under the agent
  [ ! -x ci/not-executable.sh ]
}

@test "BUILDKITE_COMMAND_EVAL=false: a script outside the checkout is refused with 2" {
  export BUILDKITE_COMMAND_EVAL=false
  given_a_script "${BATS_TEST_TMPDIR}/elsewhere.sh" 755
  export BUILDKITE_COMMAND="../elsewhere.sh"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "this agent is only allowed to run scripts within your repository"
}

@test "BUILDKITE_SHELL is split into words as a shell would: a quoted path with a space" {
  mkdir -p "${BATS_TEST_TMPDIR}/my shell"
  printf '#!/bin/bash\ntouch "%s/shell-ran"\nexec /bin/bash "$@"\n' "$BATS_TEST_TMPDIR" >"${BATS_TEST_TMPDIR}/my shell/run"
  chmod 755 "${BATS_TEST_TMPDIR}/my shell/run"
  export BUILDKITE_SHELL="'${BATS_TEST_TMPDIR}/my shell/run' -e -c"
  given_tests_that_write_a_report_and_exit 0

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  [ -e "${BATS_TEST_TMPDIR}/shell-ran" ]
}

@test "a BUILDKITE_SHELL that cannot be split fails with 2 before the tests run" {
  export BUILDKITE_SHELL='/bin/bash "-c'
  export BUILDKITE_COMMAND="touch tests-ran"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "cannot split BUILDKITE_SHELL"
  [ ! -e tests-ran ]
}

# min_tests: junit-flaky's --json summary counts the tests it read.

# given_a_summary_of PASSED FLAKY FAILED SKIPPED: the stub junit-flaky writes that --json summary.
given_a_summary_of() {
  rm "${STUB_BIN}/python3" # the summary is read with the machine's python3
  export STUB_JUNIT_FLAKY_JSON="{\"tests\": [], \"summary\": {\"passed\": $1, \"flaky\": $2, \"failed\": $3, \"skipped\": $4, \"quarantined\": 0}}"
}

@test "min_tests: fewer tests read than that fails the step with 1 and says why" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option MIN_TESTS 10
  given_a_summary_of 5 1 0 2

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 1 ]
  assert_output_contains "junit-flaky read 8 tests, fewer than min_tests (10)"
  grep -qx -- "--json" "${CALLS}/junit-flaky"
  summary="$(grep -A1 -x -- "--json" "${CALLS}/junit-flaky" | tail -1)"
  [ ! -e "$summary" ] # a file of the plugin's own, removed
}

@test "min_tests: as many tests as that keeps junit-flaky's exit code" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option MIN_TESTS 8
  plugin_option JSON "out/verdicts.json"
  given_a_summary_of 5 1 0 2

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0 \
    --json out/verdicts.json
}

@test "min_tests: a failed verdict stays 1, a failed strict upload stays 3" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option MIN_TESTS 100
  given_a_summary_of 1 0 0 0
  export STUB_JUNIT_FLAKY_EXIT=3

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 3 ]
  assert_output_contains "junit-flaky read 1 test, fewer than min_tests (100)"
}

@test "min_tests: without the python option's Python, jq reads the summary" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option MIN_TESTS 10
  plugin_option PYTHON no-such-python
  given_a_summary_of 5 1 0 2

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 1 ]
  assert_output_contains "junit-flaky read 8 tests, fewer than min_tests (10)"
}

@test "min_tests that is not a positive integer fails with 2 before the tests run" {
  export BUILDKITE_COMMAND="touch tests-ran"
  plugin_option MIN_TESTS "ten"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "min_tests must be a whole number of at least 1, got 'ten'"
  [ ! -e tests-ran ]
}

@test "debug: traces the hook, never a token's value, and junit-flaky shows tracebacks" {
  given_tests_that_write_a_report_and_exit 0
  plugin_option DEBUG true
  plugin_option TEST_ENGINE_TOKEN_ENV "SUITE_TOKEN"
  export SUITE_TOKEN="bk-secret-value-456"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_output_contains "+ run_test_command"
  [[ "$output" != *"bk-secret-value-456"* ]]
  grep -qx "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN=bk-secret-value-456" "${CALLS}/junit-flaky.env"
  grep -qx "JUNIT_FLAKY_DEBUG=1" "${CALLS}/junit-flaky.env"
}
