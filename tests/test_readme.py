"""The README is the contract: every command, option and environment variable is documented there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
import typer

from junit_flaky import ci_env, cli, tokens
from junit_flaky.history import postgres
from junit_flaky.upload import test_engine
from junit_flaky.upload.buildkite_agent import literal_options

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


# Typer's click objects: click's own, or the copy newer typers carry; only their attributes are used.
def leaf_commands(group: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from leaf_commands(command, path + " ")
        else:
            yield path, command


COMMANDS: Dict[str, Any] = dict(leaf_commands(typer.main.get_command(cli.app)))


def section(path: str) -> str:
    """The README's text under the heading ``### `junit-flaky PATH ...``` up to the next heading."""
    match = re.search(rf"^### `junit-flaky {re.escape(path)}\b.*?(?=^##)", README, re.S | re.M)
    assert match, f"README has no section for 'junit-flaky {path}'"
    return match.group(0)


def test_the_command_tree_is_what_the_readme_lists() -> None:
    assert set(COMMANDS) == {
        "run", "upload", "merge", "thresholds show", "thresholds compute",
        "history record", "history import", "history prune", "history copy", "stats",
        "quarantine add", "quarantine remove", "quarantine list",
    }


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_option_of_a_command_is_in_its_section(path: str) -> None:
    text = section(path)
    options = [p.opts[0] for p in COMMANDS[path].params if p.param_type_name == "option" and p.opts[0] != "--help"]
    missing = [option for option in options if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text)]
    assert not missing, f"README's 'junit-flaky {path}' section does not mention {missing}"


def test_every_environment_variable_is_in_the_table() -> None:
    table = README.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    variables = {param.envvar for command in COMMANDS.values() for param in command.params if param.envvar}
    variables |= {"JUNIT_FLAKY_HISTORY_DB", "JUNIT_FLAKY_QUARANTINE_FILE", "JUNIT_FLAKY_DEBUG", tokens.AVIATOR, tokens.TEST_ENGINE, *tokens.OWN_VARS}  # read outside typer
    variables |= {postgres.CONNECT_TIMEOUT_ENV, postgres.STATEMENT_TIMEOUT_ENV}
    assert variables and {v for v in variables if v not in table} == set()


def test_every_pyproject_key_is_in_the_thresholds_section() -> None:
    # The section says any other key is an error, so a key it leaves out reads as one a user may not write.
    from junit_flaky import config

    text = README.split("\n## Thresholds\n", 1)[1].split("\n## ", 1)[0]
    missing = [key for key in sorted(config.KNOWN_KEYS) if not re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text)]
    assert not missing, f"README's Thresholds section does not name the [tool.junit-flaky] keys {missing}"


def test_the_readme_names_every_option_without_which_history_db_is_unused(run_cli, clean_env: Path) -> None:
    (clean_env / "r.xml").write_text('<testsuite name="s"><testcase classname="c" name="t"/></testsuite>')
    result = run_cli("run", "r.xml", "--no-rerun", "--no-flakybot", "--history-db", "h.sqlite")
    [warning] = [line for line in result.stderr.splitlines() if "is unused" in line]
    named = re.findall(r"--[a-z-]+", warning.split("is unused", 1)[1])
    [sentence] = [s for s in re.split(r"(?<=\.)\s", section("run")) if "`--history-db`" in s and "unused" in s]
    assert named and [option for option in named if f"`{option}`" not in sentence] == []


# One path for each thing that makes buildkite-agent read a path as globs (its zzglob syntax and
# path delimiter), as the README names it.
AGENT_GLOB_PATHS = {
    "`*`": "a*.xml", "`?`": "a?.xml", "`[`": "a[1].xml", "`{`": "a{1}.xml", "`@(`": "a@(1).xml",
    "`+(`": "a+(1).xml", "`!(`": "a!(1).xml", "`~`": "~a.xml", "`\\`": "a\\1.xml", "`;`": "a;1.xml",
}


def test_the_readme_names_every_path_the_artifact_upload_takes_literally() -> None:
    [row] = [line for line in README.splitlines() if line.startswith("| `buildkite-artifact` |")]
    assert all(literal_options(path, "/") for path in AGENT_GLOB_PATHS.values())
    assert not literal_options("test-results/junit-py3.11.xml", "/")
    assert [name for name in AGENT_GLOB_PATHS if name not in row] == []


@pytest.mark.parametrize("name, env", [
    ("Buildkite", {"BUILDKITE": "true", "BUILDKITE_BUILD_ID": "b", "BUILDKITE_MESSAGE": "from the CI"}),
    ("GitLab", {"GITLAB_CI": "true", "CI_PIPELINE_ID": "7", "CI_COMMIT_MESSAGE": "from the CI"}),
])
def test_the_readme_names_each_ci_that_gives_test_engine_its_own_commit_message(name: str, env: Dict[str, str]) -> None:
    env = {**env, "TEST_ANALYTICS_COMMIT_MESSAGE": "given"}
    assert test_engine.run_env(ci_env.detect(env), env)["run_env[message]"] == "from the CI"
    [row] = [line for line in README.splitlines() if line.startswith("| `TEST_ANALYTICS_COMMIT_MESSAGE` |")]
    assert name in row.split(" own)")[0].rsplit(";", 1)[-1]
