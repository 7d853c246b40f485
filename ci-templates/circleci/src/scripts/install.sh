#!/bin/bash
# The orb's `install` command. Parameters arrive as PARAM_* variables (see commands/install.yml).
#
# Installs PARAM_REQUIREMENT with pip into a virtualenv of its own and puts only the junit-flaky
# script on PATH, for every later step (through $BASH_ENV). Why a venv rather than
# `pip install --user`: --user mixes the tool's dependencies into the interpreter the tests use
# and is refused by "externally managed" system Pythons (PEP 668). Why only the script on PATH:
# the venv's bin/ would shadow the tests' own python and pip.
set -euo pipefail

readonly EXIT_BAD_INPUT=2
readonly INSTALL_DIR="${HOME}/.junit-flaky"

# Later steps source $BASH_ENV. The venv has neither pytest nor the project's dependencies, so
# check.sh reruns tests with the Python given here (unless rerun_command says otherwise).
put_on_path_for_later_steps() {
  mkdir -p "${INSTALL_DIR}/bin"
  ln -sf "${INSTALL_DIR}/venv/bin/junit-flaky" "${INSTALL_DIR}/bin/junit-flaky"
  {
    echo "export PATH=\"${INSTALL_DIR}/bin:\${PATH}\""
    printf 'export JUNIT_FLAKY_ORB_RERUN_PYTHON=%q\n' "$PARAM_PYTHON"
  } >>"$BASH_ENV"
}

main() {
  if command -v junit-flaky >/dev/null 2>&1; then
    echo "junit-flaky is on PATH: $(command -v junit-flaky)"
    return 0
  fi
  if ! command -v "$PARAM_PYTHON" >/dev/null 2>&1; then
    echo "junit-flaky orb: '${PARAM_PYTHON}' was not found; set the python parameter or use an" \
      "image with Python >= 3.9 (the orb's default executor has it)" >&2
    exit "$EXIT_BAD_INPUT"
  fi
  if ! "$PARAM_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    echo "junit-flaky orb: junit-flaky needs Python >= 3.9; '${PARAM_PYTHON}' is older" >&2
    exit "$EXIT_BAD_INPUT"
  fi
  echo "Installing ${PARAM_REQUIREMENT} into ${INSTALL_DIR}/venv"
  "$PARAM_PYTHON" -m venv "${INSTALL_DIR}/venv"
  "${INSTALL_DIR}/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$PARAM_REQUIREMENT"
  put_on_path_for_later_steps
}

main "$@"
