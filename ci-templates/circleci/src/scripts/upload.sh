#!/bin/bash
# The orb's `upload` command. Parameters arrive as PARAM_* variables (see commands/upload.yml).
#
# Uploads reports junit-flaky already wrote (for example one merged from several jobs) with
# `junit-flaky upload`, and exits with its exit code (3 when an upload failed and strict_upload
# is true).
set -euo pipefail

# copy_token CANONICAL SOURCE_NAME: see check.sh.
copy_token() {
  local canonical="$1" source_name="$2"
  if [[ "$source_name" != "$canonical" && -n "${!source_name:-}" ]]; then
    export "JUNIT_FLAKY_${canonical}=${!source_name}"
  fi
}

main() {
  local reports target upload_args
  read -r -d '' -a reports < <(printf '%s' "$PARAM_REPORTS") || true # split on spaces and line ends, as check.sh
  upload_args=(upload "${reports[@]}")
  for target in $PARAM_TO; do
    upload_args+=(--to "$target")
  done
  if [[ "$PARAM_STRICT_UPLOAD" == "true" ]]; then
    upload_args+=(--strict-upload)
  fi
  copy_token AVIATOR_API_TOKEN "$PARAM_AVIATOR_TOKEN_VAR"
  copy_token BUILDKITE_ANALYTICS_TOKEN "$PARAM_TEST_ENGINE_TOKEN_VAR"
  export JUNIT_FLAKY_CIRCLECI_DIR="$PARAM_RESULTS_DIR"
  echo "junit-flaky ${upload_args[*]}"
  junit-flaky "${upload_args[@]}"
}

main "$@"
