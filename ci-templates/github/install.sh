#!/bin/bash
# The action's install step. Inputs arrive as INPUT_* variables (see action.yml).
#
# Installs junit-flaky, when it is not on PATH already, into a virtualenv of its own and puts only
# the junit-flaky script on PATH for the later steps (through $GITHUB_PATH). Why a venv rather
# than `pip install --user`: --user mixes the tool's dependencies into the interpreter the tests
# use and is refused by "externally managed" system Pythons (PEP 668). Why only the script on
# PATH: the venv's bin/ would shadow the tests' own python and pip. check.sh then reruns tests
# with INPUT_PYTHON, which has pytest and the project's dependencies.
set -euo pipefail

readonly EXIT_BAD_INPUT=2

main() {
  local home="${RUNNER_TEMP:?}/junit-flaky-action" requirement="${INPUT_REQUIREMENT:-}"
  if command -v junit-flaky >/dev/null 2>&1; then
    echo "junit-flaky is on PATH: $(command -v junit-flaky)"
    return 0
  fi
  if [[ -z "$requirement" ]]; then
    # GitHub checks out the whole repository of the action at the ref in `uses:`, so the tool
    # installed is the one released with this action, never another version's.
    requirement="$(cd "${GITHUB_ACTION_PATH:?}/../.." && pwd)"
  fi
  if ! command -v "$INPUT_PYTHON" >/dev/null 2>&1; then
    echo "junit-flaky action: '${INPUT_PYTHON}' was not found; set the python input or run" \
      "actions/setup-python first" >&2
    exit "$EXIT_BAD_INPUT"
  fi
  if ! "$INPUT_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    echo "junit-flaky action: junit-flaky needs Python >= 3.9; '${INPUT_PYTHON}' is older" >&2
    exit "$EXIT_BAD_INPUT"
  fi
  echo "Installing ${requirement} into ${home}/venv"
  "$INPUT_PYTHON" -m venv "${home}/venv"
  "${home}/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
  mkdir -p "${home}/bin"
  ln -sf "${home}/venv/bin/junit-flaky" "${home}/bin/junit-flaky"
  echo "${home}/bin" >>"${GITHUB_PATH:?}"
}

main "$@"
