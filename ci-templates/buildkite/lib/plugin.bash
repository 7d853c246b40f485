#!/bin/bash
# Shared by the hooks: read the plugin's configuration, build the junit-flaky command line,
# install the tool. Only functions and constants here; the hooks decide what runs.

# junit-flaky's exit code for bad input or usage (its contract: 0 ok, 1 failed verdict, 2 bad input,
# 3 strict upload failed); the hooks use it for their own configuration errors too.
readonly EXIT_BAD_INPUT=2

# The agent sets each option as BUILDKITE_PLUGIN_<NAME>_<KEY> (a list as ..._KEY_0, ..._KEY_1), where
# NAME comes from how the pipeline refers to the plugin, not from plugin.yml: the last segment of
# the reference, "-buildkite-plugin" dropped (buildkite/agent agent/plugin/plugin.go, Plugin.Name).
# This plugin, kept in a subfolder, is "buildkite" as github.com/OWNER/junit-flaky/ci-templates/buildkite,
# "junit-flaky-git" as a .git URL of a repository of its own. The agent hands the name over in
# BUILDKITE_PLUGIN_NAME, built with the prefix in one place (Plugin.ConfigurationToEnvironment,
# agent v3.28.1 and later), so the prefix is read from there, never guessed.
if [[ ! "${BUILDKITE_PLUGIN_NAME:-}" =~ ^[A-Z0-9_]+$ ]]; then
  echo "junit-flaky plugin: BUILDKITE_PLUGIN_NAME is not set (or not a name the agent makes):" \
    "run the plugin from buildkite-agent v3.28.1 or later" >&2
  exit "$EXIT_BAD_INPUT"
fi
readonly PLUGIN_PREFIX="BUILDKITE_PLUGIN_${BUILDKITE_PLUGIN_NAME}"

# The plugin and the tool are released together, so v0.1.x of the plugin installs 0.1.x of the tool.
readonly DEFAULT_PIP_REQUIREMENT="junit-flaky~=0.1.0"

# explain MESSAGE...: to the log, and as an annotation, since a job that fails before any test
# report exists shows nothing else on the build page. Best effort: the exit code matters more.
explain() {
  echo "junit-flaky plugin: $*" >&2
  buildkite-agent annotate --style error --context "junit-flaky-${BUILDKITE_JOB_ID:-job}" \
    "junit-flaky (${BUILDKITE_LABEL:-this job}): $*" || true
}

# plugin_config KEY [DEFAULT]: the scalar value of a config key, or DEFAULT when it is not set.
plugin_config() {
  local name="${PLUGIN_PREFIX}_$1"
  printf '%s' "${!name:-${2:-}}"
}

# plugin_config_is_true KEY DEFAULT: YAML booleans reach us as the strings "true" and "false".
plugin_config_is_true() {
  [[ "$(plugin_config "$1" "$2")" == "true" ]]
}

# plugin_config_list KEY: one line per item; a key given as a single string is a list of one.
plugin_config_list() {
  local name="${PLUGIN_PREFIX}_$1" index=0 item
  if [[ -n "${!name+set}" ]]; then
    printf '%s\n' "${!name}"
    return
  fi
  item="${name}_${index}"
  while [[ -n "${!item+set}" ]]; do
    printf '%s\n' "${!item}"
    index=$((index + 1))
    item="${name}_${index}"
  done
}

# plugin_config_words KEY: like plugin_config_list, but a single string is split on whitespace,
# line ends included (a YAML block), so `rerun_command: python -m pytest` works; the list form
# keeps arguments that contain spaces.
plugin_config_words() {
  local name="${PLUGIN_PREFIX}_$1" words
  if [[ -n "${!name+set}" ]]; then
    read -r -d '' -a words <<<"${!name}" || true # no NUL comes: read to the end, then fail
    if [[ ${#words[@]} -gt 0 ]]; then
      printf '%s\n' "${words[@]}"
    fi
    return
  fi
  plugin_config_list "$1"
}

# any_report_exists PATTERN...: true if a glob matches at least one file. junit-flaky expands the
# globs itself; this check only tells "the tests wrote no report" apart from everything else.
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

# default_output_path: in a parallel step every shard uploads its own aggregated report, and the
# merge step downloads them all into one folder, so their names must differ per shard.
default_output_path() {
  if [[ -n "${BUILDKITE_PARALLEL_JOB:-}" ]]; then
    printf 'junit-flaky-%s.xml' "$BUILDKITE_PARALLEL_JOB"
  else
    printf 'junit-flaky.xml'
  fi
}

# add_option FLAG KEY: append "FLAG value" to run_args when the key is set.
add_option() {
  local value
  value="$(plugin_config "$2")"
  if [[ -n "$value" ]]; then
    run_args+=("$1" "$value")
  fi
}

# add_switch FLAG KEY: append FLAG when the key is true. False passes nothing, so JUNIT_FLAKY_* or
# pyproject.toml can still turn the switch on.
add_switch() {
  if plugin_config_is_true "$2" false; then
    run_args+=("$1")
  fi
}

# build_run_args [TEST_STATUS]: fill the global array run_args with
# `run REPORT... [options] [-- COMMAND...]`, and summary_json with where the --json summary goes
# (empty when none is written). TEST_STATUS, the test command's exit status (empty when
# the step ran none), reaches junit-flaky, which fails the step on any but 0 and 1: the tests were
# interrupted or never collected, so their report may hold only part of them.
build_run_args() {
  local test_status="${1:-}" item rerun_command=()
  run_args=(run)
  while IFS= read -r item; do
    run_args+=("$item")
  done < <(plugin_config_list REPORTS)

  run_args+=(--output "$(plugin_config OUTPUT "$(default_output_path)")")
  if [[ -n "$test_status" ]]; then
    run_args+=(--test-exit-code "$test_status")
  fi
  add_option --thresholds THRESHOLDS
  add_option --min-passes MIN_PASSES
  add_option --max-runs MAX_RUNS
  add_option --json JSON
  summary_json="$(plugin_config JSON)"
  if [[ -n "$(plugin_config MIN_TESTS)" && -z "$summary_json" ]]; then
    # min_tests needs the summary; junit-flaky replaces this empty file when it writes one.
    summary_json="$(mktemp "${TMPDIR:-/tmp}/junit-flaky-summary.XXXXXX")"
    run_args+=(--json "$summary_json")
  fi
  add_option --rootdir ROOTDIR
  add_option --workers WORKERS
  add_option --rerun-timeout RERUN_TIMEOUT
  add_option --max-reruns-total MAX_RERUNS_TOTAL
  if ! plugin_config_is_true RERUN true; then
    run_args+=(--no-rerun)
  fi
  if ! plugin_config_is_true FLAKYBOT true; then
    run_args+=(--no-flakybot)
  fi
  add_switch --thresholds-from-history THRESHOLDS_FROM_HISTORY
  add_switch --record-history RECORD_HISTORY
  add_option --history-db HISTORY_DB
  add_option --quarantine-file QUARANTINE_FILE
  add_switch --auto-quarantine AUTO_QUARANTINE
  add_switch --fail-on-flake-regression FAIL_ON_FLAKE_REGRESSION
  add_option --new-test-runs NEW_TEST_RUNS
  add_option --new-test-budget NEW_TEST_BUDGET
  add_switch --allow-new-flaky ALLOW_NEW_FLAKY
  add_switch --fail-on-flaky FAIL_ON_FLAKY
  add_option --codeowners CODEOWNERS
  while IFS= read -r item; do
    run_args+=(--upload "$item")
  done < <(plugin_config_list UPLOAD)
  add_switch --strict-upload STRICT_UPLOAD

  while IFS= read -r item; do
    rerun_command+=("$item")
  done < <(plugin_config_words RERUN_COMMAND)
  if [[ ${#rerun_command[@]} -eq 0 && -n "${JUNIT_FLAKY_PLUGIN_RERUN_PYTHON:-}" ]]; then
    # The plugin's venv has neither pytest nor the project's dependencies, so junit-flaky's
    # default (its own interpreter's "-m pytest") cannot rerun; the configured Python can.
    rerun_command=("$JUNIT_FLAKY_PLUGIN_RERUN_PYTHON" -m pytest)
  fi
  if [[ ${#rerun_command[@]} -gt 0 ]]; then
    run_args+=(-- "${rerun_command[@]}")
  fi
}

# add_token_env CANONICAL KEY: junit-flaky reads its tokens from fixed variable names; a user who
# keeps the secret under another name (the KEY option) says which one, and its value is added to
# junit_flaky_env as JUNIT_FLAKY_CANONICAL=value, for junit-flaky's own process only
# (run_junit_flaky). Under CANONICAL it would reach the tests, before them or in junit-flaky's
# reruns (which inherit its environment less the JUNIT_FLAKY_ tokens), and
# buildkite-test-collector, which pytest loads by itself, would upload with it too.
# Called before the tests, so a bad option costs no test run.
add_token_env() {
  local canonical="$1" source_name tracing
  source_name="$(plugin_config "$2" "$canonical")"
  if [[ ! "$source_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "junit-flaky plugin: ${2,,} must be an environment variable name, got '${source_name}'" >&2
    return "$EXIT_BAD_INPUT"
  fi
  # The value is a secret: never traced, even with the debug option on.
  { tracing="$-" && set +x; } 2>/dev/null
  if [[ "$source_name" != "$canonical" && -n "${!source_name:-}" ]]; then
    junit_flaky_env+=("JUNIT_FLAKY_${canonical}=${!source_name}")
  fi
  if [[ "$tracing" == *x* ]]; then
    set -x
  fi
}

# add_annotation_env: the annotation's options, as variables of junit-flaky's environment.
# junit-flaky passes the context to `buildkite-agent annotate --context`; the scope reaches the
# agent as BUILDKITE_ANNOTATION_SCOPE, which `annotate` reads in place of --scope
# (clicommand/annotate.go, v3.112.0 and later; older agents ignore it, where --scope would be
# refused and the annotation lost).
add_annotation_env() {
  local context scope
  context="$(plugin_config ANNOTATION_CONTEXT)"
  scope="$(plugin_config ANNOTATION_SCOPE)"
  if [[ -n "$scope" && "$scope" != "build" && "$scope" != "job" ]]; then
    echo "junit-flaky plugin: annotation_scope must be build or job, got '${scope}'" >&2
    return "$EXIT_BAD_INPUT"
  fi
  if [[ -n "$context" ]]; then
    junit_flaky_env+=("JUNIT_FLAKY_ANNOTATION_CONTEXT=${context}")
  fi
  if [[ -n "$scope" ]]; then
    junit_flaky_env+=("BUILDKITE_ANNOTATION_SCOPE=${scope}")
  fi
}

# run_junit_flaky ARG...: junit-flaky with junit_flaky_env added to its environment. In a
# subshell with `export`, a builtin: as arguments of `env`, the tokens would be visible in the
# process list. Untraced from here on, and junit-flaky's command line is printed before.
run_junit_flaky() (
  { set +x; } 2>/dev/null # the tokens' values are never traced
  if [[ ${#junit_flaky_env[@]} -gt 0 ]]; then
    export "${junit_flaky_env[@]}"
  fi
  exec junit-flaky "$@"
)

# trace_if_debug: the debug option traces the hooks (set -x), as other plugins' debug options do,
# and makes junit-flaky print the traceback of an internal error (JUNIT_FLAKY_DEBUG).
trace_if_debug() {
  if plugin_config_is_true DEBUG false; then
    junit_flaky_env+=(JUNIT_FLAKY_DEBUG=1)
    set -x
  fi
}

# check_min_tests: the min_tests option is a whole number, and there is a way to read
# junit-flaky's --json summary: python3 (the python option) or jq.
check_min_tests() {
  local minimum
  minimum="$(plugin_config MIN_TESTS)"
  if [[ -z "$minimum" ]]; then
    return 0
  fi
  if [[ ! "$minimum" =~ ^[1-9][0-9]*$ ]]; then
    echo "junit-flaky plugin: min_tests must be a whole number of at least 1, got '${minimum}'" >&2
    return "$EXIT_BAD_INPUT"
  fi
  if ! command -v "$(plugin_config PYTHON python3)" >/dev/null 2>&1 && ! command -v jq >/dev/null 2>&1; then
    echo "junit-flaky plugin: min_tests reads junit-flaky's --json summary with" \
      "$(plugin_config PYTHON python3) or jq, and neither is on PATH" >&2
    return "$EXIT_BAD_INPUT"
  fi
}

# tests_read SUMMARY: how many tests junit-flaky read, from its --json summary (every verdict
# counted, skipped ones too).
tests_read() {
  local python
  python="$(plugin_config PYTHON python3)"
  if command -v "$python" >/dev/null 2>&1; then
    "$python" -c 'import json, sys; print(sum(json.load(open(sys.argv[1]))["summary"].values()))' "$1"
  else
    jq '.summary | add' "$1"
  fi
}

# enough_tests_read SUMMARY: false, saying why, when min_tests is set and junit-flaky read fewer
# tests: a suite that lost tests (a module no longer collected, a shard split gone wrong) would
# otherwise pass on what is left. No summary means junit-flaky stopped first and its exit says so.
enough_tests_read() {
  local minimum count
  minimum="$(plugin_config MIN_TESTS)"
  if [[ -z "$minimum" || ! -s "$1" ]]; then
    return 0
  fi
  if ! count="$(tests_read "$1")" || [[ ! "$count" =~ ^[0-9]+$ ]]; then
    explain "cannot read the number of tests from junit-flaky's summary $1"
    return 1
  fi
  if [[ "$count" -lt "$minimum" ]]; then
    explain "junit-flaky read ${count} test$([[ "$count" -eq 1 ]] || echo s), fewer than min_tests (${minimum}):" \
      "check that the tests were all collected and that reports matches every report"
    return 1
  fi
}

# run_test_command: run the step's command as the agent's default command phase would have, had
# no plugin taken over the phase (buildkite/agent internal/job/executor.go, defaultCommandPhase):
# - a command that, newlines removed, names an existing path under the checkout runs as that
#   script, "./<path>", made executable first (only when the agent may eval commands);
# - BUILDKITE_COMMAND_EVAL=false (the agent's --no-command-eval) allows only such scripts, and
#   only inside the checkout;
# - BUILDKITE_SHELL (default "/bin/bash -e -c") is split into words as shellwords.Split does.
# Returns the command's status; exits with 2 where the agent would have refused to run it.
# (The agent's CMD.EXE branch, for Windows, is not ported: the hooks are bash.)
run_test_command() {
  local script_name="${BUILDKITE_COMMAND//$'\n'/}" script_path to_run
  # filepath.Join(wd, name) then Abs: even an absolute name is taken under the checkout.
  script_path="$(clean_path "${PWD}/${script_name}")"
  if [[ "${BUILDKITE_COMMAND_EVAL:-true}" == "false" ]]; then
    if [[ ! -e "$script_path" ]]; then
      explain "no such file: \"${script_name}\"; this agent is not allowed to evaluate console" \
        "commands (--no-command-eval): make the step's command a script within your repository"
      exit "$EXIT_BAD_INPUT"
    fi
    if [[ "$script_path" != "${PWD}/"* ]]; then
      explain "this agent is only allowed to run scripts within your repository" \
        "(--no-command-eval), not ${script_name}"
      exit "$EXIT_BAD_INPUT"
    fi
  fi
  if ! split_shell_words "${BUILDKITE_SHELL:-/bin/bash -e -c}" || [[ ${#shell_words[@]} -eq 0 ]]; then
    explain "cannot split BUILDKITE_SHELL (${BUILDKITE_SHELL:-}) into words"
    exit "$EXIT_BAD_INPUT"
  fi
  if [[ -e "$script_path" ]]; then
    if [[ "${BUILDKITE_COMMAND_EVAL:-true}" != "false" ]] && ! chmod u+x "$script_path"; then
      explain "cannot make ${script_name} executable"
      exit "$EXIT_BAD_INPUT"
    fi
    # The agent passes it relative to the checkout; outside it (only with eval), this is the same file.
    if [[ "$script_path" == "${PWD}/"* ]]; then
      to_run="./${script_path#"${PWD}"/}"
    else
      to_run="$script_path"
    fi
  else
    to_run="$BUILDKITE_COMMAND"
  fi
  "${shell_words[@]}" "$to_run"
}

# split_shell_words TEXT: TEXT's words into the array shell_words, as the agent splits
# BUILDKITE_SHELL (buildkite/shellwords, SplitPosix and parser.go's Parse): spaces, tabs and
# newlines separate words; single and double quotes group, and inside either a backslash takes the
# next character as it is; outside, a backslash does too; "" is an empty word; nothing is
# expanded. Fails on a quote left open.
split_shell_words() {
  local text="$1" i=0 char quote word="" quoted=false
  shell_words=()
  while ((i < ${#text})); do
    char="${text:i:1}"
    i=$((i + 1))
    case "$char" in
      \\)
        word+="${text:i:1}"
        i=$((i + 1))
        ;;
      \' | \")
        quote="$char"
        quoted=true
        while :; do
          if ((i >= ${#text})); then
            return 1
          fi
          char="${text:i:1}"
          i=$((i + 1))
          if [[ "$char" == "\\" ]]; then
            if ((i < ${#text})); then
              word+="${text:i:1}"
              i=$((i + 1))
            fi
          elif [[ "$char" == "$quote" ]]; then
            break
          else
            word+="$char"
          fi
        done
        ;;
      " " | $'\t' | $'\n')
        if [[ -n "$word" || "$quoted" == true ]]; then
          shell_words+=("$word")
        fi
        word=""
        quoted=false
        ;;
      *) word+="$char" ;;
    esac
  done
  if [[ -n "$word" || "$quoted" == true ]]; then
    shell_words+=("$word")
  fi
}

# clean_path PATH: an absolute PATH with ".", ".." and repeated slashes resolved by its text
# alone, without following links, as Go's filepath.Clean does.
clean_path() {
  local part parts kept=()
  IFS=/ read -r -a parts <<<"$1"
  for part in "${parts[@]}"; do
    case "$part" in
      "" | .) ;;
      ..) if [[ ${#kept[@]} -gt 0 ]]; then unset 'kept[${#kept[@]}-1]'; fi ;;
      *) kept+=("$part") ;;
    esac
  done
  if [[ ${#kept[@]} -eq 0 ]]; then
    printf '/'
  else
    printf '/%s' "${kept[@]}"
  fi
}

# install_junit_flaky: pip-install the configured requirement into a virtualenv of its own, then
# put only the junit-flaky script on PATH. Why a venv and not `pip install --user`: --user mixes
# the tool's dependencies into the interpreter the tests run with, is refused by "externally
# managed" system Pythons (PEP 668), and needs ~/.local/bin on PATH. Why only a link to the
# script: putting the venv's bin/ on PATH would shadow the tests' own python and pip.
# The reruns then need the tests' Python, not the venv's: build_run_args takes care of that.
# The venv sits in the checkout, so concurrent agents never share it and the agent's default
# `git clean -ffxdq` removes it: every build installs the requirement it asks for.
install_junit_flaky() {
  local python requirement home
  python="$(plugin_config PYTHON python3)"
  requirement="$(plugin_config PIP_REQUIREMENT "$DEFAULT_PIP_REQUIREMENT")"
  home="${BUILDKITE_BUILD_CHECKOUT_PATH:-$PWD}/.junit-flaky-plugin"

  if ! command -v "$python" >/dev/null 2>&1; then
    echo "junit-flaky plugin: junit-flaky is not on PATH and '${python}' was not found to install it;" \
      "set the plugin's python option, or install junit-flaky on the agent" >&2
    return "$EXIT_BAD_INPUT"
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    echo "junit-flaky plugin: junit-flaky needs Python >= 3.9; '${python}' is older" >&2
    return "$EXIT_BAD_INPUT"
  fi

  echo "--- :python: Installing ${requirement} into ${home}/venv"
  "$python" -m venv "${home}/venv"
  "${home}/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
  mkdir -p "${home}/bin"
  ln -sf "${home}/venv/bin/junit-flaky" "${home}/bin/junit-flaky"
  export PATH="${home}/bin:${PATH}"
  export JUNIT_FLAKY_PLUGIN_RERUN_PYTHON="$python" # see build_run_args
}
