"""docs/history.md: its CI recipes are valid configuration and its commands exist as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any, Dict, List, Set

import jsonschema
import pytest
import typer
import yaml

from junit_flaky.history import commands
from tests.vendored import load_schema

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "history.md").read_text(encoding="utf-8")
# The options of the cache plugin's configuration (buildkite-plugins/cache-buildkite-plugin).
CACHE_PLUGIN_OPTIONS = {
    "path", "restore", "save", "force", "compression", "soft-fail", "manifest", "backend", "key-extra",
    "keep-compressed-artifacts",
}


def yaml_blocks() -> List[Dict[str, Any]]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", DOC, re.S)]


def test_the_circleci_recipe_matches_circlecis_schema() -> None:
    (config,) = [b for b in yaml_blocks() if "workflows" in b]
    jsonschema.validate(config, load_schema("circleci-yaml-language-server/schema.json"))
    steps = config["jobs"]["test"]["steps"]
    save = next(s["save_cache"] for s in steps if isinstance(s, dict) and "save_cache" in s)
    restore = next(s["restore_cache"] for s in steps if isinstance(s, dict) and "restore_cache" in s)
    assert save["paths"] == [".junit-flaky"] and save["when"] == "always"
    assert all(save["key"].startswith(prefix) for prefix in restore["keys"])  # restore finds what save wrote


def test_the_buildkite_recipe_uses_only_the_cache_plugins_options() -> None:
    (pipeline,) = [b for b in yaml_blocks() if "steps" in b]
    caches = [
        config
        for step in pipeline["steps"]
        for plugin in step.get("plugins", [])
        for name, config in plugin.items()
        if name.startswith("cache#")
    ]
    assert caches and all(set(c) <= CACHE_PLUGIN_OPTIONS and c["path"] == ".junit-flaky" for c in caches)
    assert any(c.get("save") == "pipeline" and c.get("force") for c in caches)


def test_the_github_actions_recipe_saves_what_it_restores_even_after_a_red_build() -> None:
    (workflow,) = [b for b in yaml_blocks() if "jobs" in b and "workflows" not in b]
    steps = workflow["jobs"]["test"]["steps"]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore@"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save@"))
    assert steps.index(restore) < steps.index(save)
    assert restore["with"]["path"] == save["with"]["path"] == ".junit-flaky"
    assert save["with"]["key"] == f"${{{{ steps.{restore['id']}.outputs.cache-primary-key }}}}"
    assert all(restore["with"]["key"].startswith(prefix) for prefix in restore["with"]["restore-keys"].splitlines())
    assert save["if"] == "${{ !cancelled() }}"  # a red build's runs are the most telling ones


def _options(command: typer.models.CommandFunctionType) -> Set[str]:
    app = typer.Typer()
    app.command()(command)
    return {opt for param in typer.main.get_command(app).params for opt in param.opts}


COMMANDS = {
    "history record": commands.record_command,
    "history import": commands.import_command,
    "history prune": commands.prune_command,
    "thresholds compute": commands.compute_command,
    "stats": commands.stats_command,
}


def _documented_options(name: str) -> Set[str]:
    used = set()
    for line in re.findall(rf"{name}\b[^\n|`]*", DOC):
        words = (word.strip("[]").split("=")[0] for word in shlex.split(line, comments=True))
        used.update(word for word in words if word.startswith("--"))
    return used


@pytest.mark.parametrize("name", list(COMMANDS))
def test_documented_options_exist(name: str) -> None:
    assert _documented_options(name) <= _options(COMMANDS[name])


def test_the_option_check_sees_the_options() -> None:
    assert {"--commit", "--branch", "--job"} <= _documented_options("history record")
    assert {"--older-than", "--keep-runs"} <= _documented_options("history prune")


def test_the_buildkite_recipe_records_every_pass_of_the_run() -> None:
    # The report run writes holds one pass per test (Surefire's format has no pass count): a
    # recipe that records it with history record undercounts the passes of every rerun test.
    (pipeline,) = [b for b in yaml_blocks() if "steps" in b]
    commands = "\n".join(step.get("command", "") for step in pipeline["steps"])
    (run_line,) = [line for line in commands.splitlines() if line.startswith("junit-flaky run ")]
    assert "--record-history" in run_line
    assert "junit-flaky history record" not in commands


def test_the_cache_recipes_keep_a_history_for_each_job() -> None:
    # Two test jobs of a workflow (unit and integration tests) under one key restore each
    # other's history, where their own tests are missing and count as new.
    (circleci,) = [b for b in yaml_blocks() if "workflows" in b]
    steps = circleci["jobs"]["test"]["steps"]
    save = next(s["save_cache"] for s in steps if isinstance(s, dict) and "save_cache" in s)
    restore = next(s["restore_cache"] for s in steps if isinstance(s, dict) and "restore_cache" in s)
    assert all("{{ .Environment.CIRCLE_JOB }}" in key for key in [save["key"], *restore["keys"]])
    (github,) = [b for b in yaml_blocks() if "jobs" in b and "workflows" not in b]
    restore = next(s for s in github["jobs"]["test"]["steps"] if s.get("uses", "").startswith("actions/cache/restore@"))
    keys = [restore["with"]["key"], *restore["with"]["restore-keys"].splitlines()]
    assert all("${{ github.job }}" in key for key in keys)


def test_the_github_actions_recipe_saves_a_rerun_attempt_under_a_key_of_its_own() -> None:
    # A cache key cannot be saved twice: re-running the jobs of a run under the first attempt's
    # key would fail to save the re-run's history.
    (workflow,) = [b for b in yaml_blocks() if "jobs" in b and "workflows" not in b]
    restore = next(s for s in workflow["jobs"]["test"]["steps"] if s.get("uses", "").startswith("actions/cache/restore@"))
    assert restore["with"]["key"].endswith("${{ github.run_id }}-${{ github.run_attempt }}")


def test_the_record_command_defaults_to_every_ci_the_readme_names() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [named] = re.findall(r"Commit, branch and job default to the detected CI's \(([^)]*)\)", readme)
    [row] = [line for line in DOC.splitlines() if line.startswith("| `history record ")]
    assert [ci for ci in named.split(", ") if ci not in row] == []
