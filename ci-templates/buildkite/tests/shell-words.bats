#!/usr/bin/env bats
# BUILDKITE_SHELL is split into words as the agent splits it: buildkite/shellwords SplitPosix,
# whose own cases (posix_test.go, TestSplitPosix) these are.

load helpers

setup() {
  setup_job
  # shellcheck source-path=SCRIPTDIR/.. source=lib/plugin.bash
  . "${PLUGIN_DIR}/lib/plugin.bash"
}

# assert_words TEXT WORD...: split_shell_words TEXT gives exactly these words.
assert_words() {
  local text="$1"
  shift
  split_shell_words "$text"
  if [[ "${shell_words[*]@Q}" != "${*@Q}" ]]; then
    printf 'split %s\nexpected: %s\n     got: %s\n' "$text" "${*@Q}" "${shell_words[*]@Q}" >&2
    return 1
  fi
}

@test "words as shellwords.SplitPosix gives them" {
  assert_words 'true' true
  assert_words 'simple --string "quoted"' simple --string quoted
  assert_words "\\\\\\\"\"quoted\" llamas 'test\\''" '\"quoted' llamas "test'"
  assert_words '/usr/bin/bash -e -c "llamas are the \"best\" && echo '"'alpacas'"'"' \
    /usr/bin/bash -e -c "llamas are the \"best\" && echo 'alpacas'"
  assert_words '"/bin"/ba'"'sh'"' -c echo\ \\\\"fo real"' /bin/bash -c 'echo \\fo real'
  assert_words "echo 'abc'\\''abc'" echo "abc'abc"
  assert_words 'echo "abc"\""abc"' echo 'abc"abc'
}

@test "blanks: spaces, tabs and newlines separate; an empty quoted word is a word" {
  assert_words $' /bin/bash\t-e \n -c  ' /bin/bash -e -c
  assert_words '/bin/sh "" -c' /bin/sh "" -c
  split_shell_words ""
  [ "${#shell_words[@]}" -eq 0 ]
}

@test "an unclosed quote cannot be split" {
  run split_shell_words '/bin/bash "-c'
  [ "$status" -ne 0 ]
  run split_shell_words "/bin/bash 'it\\'s"
  [ "$status" -ne 0 ]
}
