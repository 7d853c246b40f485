#!/usr/bin/env bats
# The pre-command hook: installs junit-flaky into a virtualenv when it is not on PATH.

# Each @test runs in its own subshell, so its exports are meant to stay local:
# shellcheck disable=SC2030,SC2031

load helpers

setup() {
  setup_job
  VENV="${BUILDKITE_BUILD_CHECKOUT_PATH}/.junit-flaky-plugin/venv"
}

@test "junit-flaky already on PATH: installs nothing" {
  with_junit_flaky_on_path

  run "${PLUGIN_DIR}/hooks/pre-command"

  [ "$status" -eq 0 ]
  assert_output_contains "junit-flaky is on PATH: ${STUB_BIN}/junit-flaky"
  [ ! -e "${CALLS}/python" ]
}

@test "junit-flaky missing: pip-installs the default requirement into a venv in the checkout" {
  run "${PLUGIN_DIR}/hooks/pre-command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/python" \
    "-c import sys; sys.exit(sys.version_info < (3, 9))" \
    "-m venv ${VENV}" \
    "-m pip install --quiet --disable-pip-version-check junit-flaky~=0.1.0"
  assert_lines "${CALLS}/pip" -m pip install --quiet --disable-pip-version-check "junit-flaky~=0.1.0"
  # Only the tool is linked onto PATH, never the venv's python or pip.
  [ -x "${BUILDKITE_BUILD_CHECKOUT_PATH}/.junit-flaky-plugin/bin/junit-flaky" ]
  [ "$(ls "${BUILDKITE_BUILD_CHECKOUT_PATH}/.junit-flaky-plugin/bin")" = "junit-flaky" ]
}

@test "installs the configured requirement with the configured python" {
  cp "${STUBS}/python" "${STUB_BIN}/python3.12"
  plugin_option PYTHON "python3.12"
  plugin_option PIP_REQUIREMENT "junit-flaky @ git+https://example.org/junit-flaky@main"

  run "${PLUGIN_DIR}/hooks/pre-command"

  [ "$status" -eq 0 ]
  assert_lines "${CALLS}/pip" -m pip install --quiet --disable-pip-version-check \
    "junit-flaky @ git+https://example.org/junit-flaky@main"
}

@test "the command hook finds the tool the pre-command hook installed" {
  plugin_option REPORTS "test-results/*.xml"
  given_tests_that_write_a_report_and_exit 1

  # The agent sources each hook and carries its exported environment into the next one.
  run bash -c '. "$1/hooks/pre-command" && "$1/hooks/command"' _ "$PLUGIN_DIR"

  [ "$status" -eq 0 ]
  # The venv has no pytest: the reruns use the Python the plugin installed with.
  assert_lines "${CALLS}/junit-flaky" run "test-results/*.xml" --output junit-flaky.xml \
    --test-exit-code 1 -- python3 -m pytest
}

@test "a python older than 3.9 fails with 2 and says so" {
  export STUB_PYTHON_TOO_OLD=1

  run "${PLUGIN_DIR}/hooks/pre-command"

  [ "$status" -eq 2 ]
  assert_output_contains "junit-flaky needs Python >= 3.9; 'python3' is older"
  [ ! -e "$VENV" ]
}

@test "no python to install with fails with 2 and says what to do" {
  plugin_option PYTHON "no-such-python"

  run "${PLUGIN_DIR}/hooks/pre-command"

  [ "$status" -eq 2 ]
  assert_output_contains "'no-such-python' was not found to install it"
}

@test "a failing pip install fails the hook" {
  # A venv whose pip fails: the stub copies itself, so point venv creation at a failing python.
  cat >"${STUB_BIN}/python3" <<'STUB'
#!/bin/bash
case "$1 ${2:-}" in
  "-c "*) exit 0 ;;
  "-m venv") mkdir -p "$3/bin" && printf '#!/bin/bash\necho "no matching distribution" >&2\nexit 1\n' >"$3/bin/python" && chmod +x "$3/bin/python" ;;
esac
STUB
  chmod +x "${STUB_BIN}/python3"

  run "${PLUGIN_DIR}/hooks/pre-command"

  [ "$status" -eq 1 ]
  assert_output_contains "no matching distribution"
  [ ! -e "${BUILDKITE_BUILD_CHECKOUT_PATH}/.junit-flaky-plugin/bin/junit-flaky" ]
}

@test "debug: the pre-command hook is traced too" {
  with_junit_flaky_on_path
  plugin_option DEBUG true

  run "${PLUGIN_DIR}/hooks/pre-command"

  [ "$status" -eq 0 ]
  assert_output_contains "+ command -v junit-flaky"
}
