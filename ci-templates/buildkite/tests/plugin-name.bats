#!/usr/bin/env bats
# The plugin reads its options under whatever name the agent derived from the pipeline's
# reference to it (buildkite/agent agent/plugin/plugin.go, Plugin.Name).

# Each @test runs in its own subshell, so its exports are meant to stay local:
# shellcheck disable=SC2030,SC2031

load helpers

setup() {
  setup_job
  with_junit_flaky_on_path
  given_tests_that_write_a_report_and_exit 0
}

@test "the ported naming rule gives the names the agent's own tests expect" {
  # Cases from TestPluginNameParsedFromLocation (agent/plugin/plugin_test.go).
  [ "$(agent_plugin_name github.com/buildkite-plugins/docker-compose-buildkite-plugin.git)" = docker-compose ]
  [ "$(agent_plugin_name github.com/my-org/docker-compose-buildkite-plugin)" = docker-compose ]
  [ "$(agent_plugin_name github.com/buildkite/plugins/docker-compose)" = docker-compose ]
  [ "$(agent_plugin_name "/home/dev/plugins/UPPER     CASE_party")" = upper-case-party ]
  [ "$(agent_plugin_name "vendor/src/vendored-with-two-slash//")" = vendored-with-two-slash ]
  [ "$(agent_plugin_name '.\.buildkite\plugins\docker-compose')" = docker-compose ]
  [ "$(agent_env_key "upper-case party")" = UPPER_CASE_PARTY ]
}

# runs_with_reference REFERENCE NAME: under REFERENCE the agent names the plugin NAME, and the
# command hook reads its options from there.
runs_with_reference() {
  rm -f "${CALLS}/junit-flaky"
  use_plugin "$1"
  [ "$BUILDKITE_PLUGIN_NAME" = "$2" ]
  plugin_option REPORTS_0 "test-results/*.xml"
  plugin_option MAX_RUNS 3

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml \
    --test-exit-code 0 --max-runs 3
}

@test "this repository's subfolder, as the README writes it: named buildkite" {
  runs_with_reference "$README_REFERENCE" BUILDKITE
}

@test "this repository's subfolder through a .git URL: named buildkite" {
  runs_with_reference "https://github.com/junit-flaky/junit-flaky.git/ci-templates/buildkite#v0.1.0" BUILDKITE
  runs_with_reference "ssh://git@github.com/junit-flaky/junit-flaky.git/ci-templates/buildkite#v0.1.0" BUILDKITE
}

@test "a repository of its own named with a .git URL: named junit-flaky-git" {
  runs_with_reference "https://github.com/acme/junit-flaky.git#v0.1.0" JUNIT_FLAKY_GIT
}

@test "a plugin repository with the usual suffix, or a short name: named junit-flaky" {
  runs_with_reference "github.com/acme/junit-flaky-buildkite-plugin#v0.1.0" JUNIT_FLAKY
  runs_with_reference "https://github.com/acme/junit-flaky-buildkite-plugin.git#v0.1.0" JUNIT_FLAKY
  runs_with_reference "junit-flaky#v0.1.0" JUNIT_FLAKY
}

@test "a copy vendored in the checkout: named after its folder" {
  runs_with_reference "./ci-templates/buildkite" BUILDKITE
  runs_with_reference "./.buildkite/plugins/junit.flaky" JUNIT_FLAKY
}

@test "the options of another plugin on the step are not read" {
  use_plugin "docker#v5.0.0"
  plugin_option REPORTS "other-plugin/*.xml"
  use_plugin "$README_REFERENCE"
  plugin_option REPORTS "test-results/*.xml"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml --test-exit-code 0
}

@test "without BUILDKITE_PLUGIN_NAME (an agent older than v3.28.1): fails with 2 and says why" {
  plugin_option REPORTS "test-results/*.xml"
  unset BUILDKITE_PLUGIN_NAME
  export BUILDKITE_COMMAND="touch tests-ran"

  run "${PLUGIN_DIR}/hooks/command"

  [ "$status" -eq 2 ]
  assert_output_contains "BUILDKITE_PLUGIN_NAME is not set"
  [ ! -e tests-ran ]
}
