"""The Buildkite plugin in ci-templates/buildkite: plugin.yml against the plugin linter's schema,
every README example against the plugin's `configuration` (as the linter does) and the pipeline
schema, and the configuration, hooks and README agreeing with each other.

The hooks themselves are tested by bats (test_ci_templates_shell.py runs them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import jsonschema
import pytest
import yaml

from tests.vendored import load_schema

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "ci-templates" / "buildkite"
# How the README refers to the plugin: this repository's subfolder, at a release tag.
PLUGIN_LOCATION = "github.com/junit-flaky/junit-flaky/ci-templates/buildkite"
PLUGIN_REF = re.compile(rf"^{re.escape(PLUGIN_LOCATION)}#v(\d+)\.(\d+)\.(\d+)$")


def plugin_yml() -> Dict[str, Any]:
    return yaml.safe_load((PLUGIN / "plugin.yml").read_text(encoding="utf-8"))


def readme() -> str:
    return (PLUGIN / "README.md").read_text(encoding="utf-8")


def readme_pipelines() -> List[Tuple[str, Any]]:
    """Each ```yaml block of the README, parsed, with the heading it stands under."""
    blocks, heading = [], ""
    for match in re.finditer(r"^(#+ [^\n]*)$|^```yaml\n(.*?)^```", readme(), re.M | re.S):
        if match.group(1):
            heading = match.group(1).lstrip("# ").strip()
        else:
            blocks.append((heading, yaml.safe_load(match.group(2))))
    return blocks


def readme_plugin_configs() -> List[Tuple[str, str, Dict[str, Any]]]:
    """(heading, plugin reference, configuration) of every use of this plugin in the README."""
    found = []
    for heading, pipeline in readme_pipelines():
        for step in pipeline.get("steps", []):
            for plugin in step.get("plugins", []) if isinstance(step, dict) else []:
                for ref, config in plugin.items():
                    if ref.startswith(PLUGIN_LOCATION + "#"):
                        found.append((heading, ref, config))
    return found


def package_version() -> Tuple[int, int]:
    init = (REPO / "junit_flaky" / "__init__.py").read_text(encoding="utf-8")
    major, minor = re.search(r'__version__ = "(\d+)\.(\d+)\.', init).groups()
    return int(major), int(minor)


def test_plugin_yml_passes_the_plugin_linters_schema():
    jsonschema.validate(plugin_yml(), load_schema("plugin-yaml-schema.yml"))


def test_configuration_is_a_strict_json_schema():
    configuration = plugin_yml()["configuration"]
    jsonschema.Draft7Validator.check_schema(configuration)
    assert configuration["additionalProperties"] is False
    assert configuration["required"] == ["reports"]


@pytest.mark.parametrize(
    "config, problem",
    [
        ({}, "'reports' is a required property"),
        ({"reports": "r.xml", "max-runs": 3}, "Additional properties are not allowed"),
        ({"reports": "r.xml", "upload": ["circleci"]}, "is not valid under any of the given schemas"),
        ({"reports": "r.xml", "min_passes": 0}, "less than the minimum of 1"),
        ({"reports": "r.xml", "aviator_token_env": "$TOKEN"}, "does not match"),
        ({"reports": "r.xml", "strict_upload": "yes"}, "is not of type 'boolean'"),
        ({"reports": "r.xml", "record_history": "yes"}, "is not of type 'boolean'"),
        ({"reports": "r.xml", "thresholds_from_history": 1}, "is not of type 'boolean'"),
        ({"reports": "r.xml", "history_db": ""}, "should be non-empty"),
        ({"reports": "r.xml", "annotation_context": "c" * 101}, "is too long"),
        ({"reports": "r.xml", "annotation_scope": "step"}, "is not one of ['build', 'job']"),
        ({"reports": "r.xml", "min_tests": 0}, "less than the minimum of 1"),
        ({"reports": "r.xml", "debug": "yes"}, "is not of type 'boolean'"),
        ({"reports": "r.xml", "fail_on_flaky": "yes"}, "is not of type 'boolean'"),
        ({"reports": "r.xml", "auto_quarantine": "yes"}, "is not of type 'boolean'"),
        ({"reports": "r.xml", "fail_on_flake_regression": 1}, "is not of type 'boolean'"),
        ({"reports": "r.xml", "allow_new_flaky": 1}, "is not of type 'boolean'"),
        ({"reports": "r.xml", "new_test_runs": 101}, "greater than the maximum of 100"),
        ({"reports": "r.xml", "new_test_budget": -1}, "less than the minimum of 0"),
        ({"reports": "r.xml", "codeowners": ""}, "should be non-empty"),
        ({"reports": "r.xml", "quarantine_file": ""}, "should be non-empty"),
    ],
)
def test_configuration_rejects_mistakes(config, problem):
    errors = [
        error.message
        for error in jsonschema.Draft7Validator(plugin_yml()["configuration"]).iter_errors(config)
    ]
    assert errors, f"{config} was accepted"
    assert any(problem in message for message in errors), errors


def test_readme_has_an_example_for_each_use():
    configs = readme_plugin_configs()
    headings = " / ".join(heading for heading, _, _ in configs).lower()
    for use in ("simple", "thresholds", "test engine", "parallelism", "history"):
        assert use in headings, f"no README example under a heading about {use!r}: {headings}"
    assert any("thresholds" in config for _, _, config in configs)
    assert any("buildkite-test-engine" in str(config.get("upload")) for _, _, config in configs)
    merge_steps = [
        step
        for _, pipeline in readme_pipelines()
        for step in pipeline["steps"]
        if isinstance(step, dict) and "junit-flaky merge" in step.get("command", "")
    ]
    assert merge_steps, "the parallelism example needs the final `junit-flaky merge` step"
    assert "buildkite-agent artifact download" in merge_steps[0]["command"]


def readme_steps_plugins() -> Iterator[Tuple[str, Dict[str, Any], Dict[str, Any]]]:
    """Each step of the README's pipelines: its section's heading, its plugins by reference, and
    junit-flaky's configuration among them (empty without it)."""
    for heading, pipeline in readme_pipelines():
        for step in pipeline["steps"]:
            plugins: Dict[str, Any] = {}
            for plugin in step.get("plugins", []) if isinstance(step, dict) else []:
                plugins.update(plugin)
            yield heading, plugins, next((c for ref, c in plugins.items() if ref.startswith(PLUGIN_LOCATION + "#")), {})


def test_readme_history_example_keeps_the_database_in_the_cache():
    """The history example restores and saves, with the cache plugin, the folder that holds the
    database junit-flaky reads and writes; the cache plugin runs on the same step."""
    found = []
    for heading, plugins, ours in readme_steps_plugins():
        if not (ours.get("thresholds_from_history") or ours.get("record_history")):
            continue
        cache = next((c for ref, c in plugins.items() if ref.startswith("cache#")), None)
        assert cache is not None, f"{heading}: the history needs the cache plugin on the step"
        database = Path(ours.get("history_db", ".junit-flaky/history.sqlite"))
        assert Path(cache["path"]) in database.parents, f"{heading}: {database} is not cached"
        if ours.get("record_history"):
            assert cache["force"] is True  # the key stays the same while the history grows
        found.append(heading)
    assert found, "no README example turns the history on"
    assert "saves only when the step exits 0" in readme()


class CachePlugin:
    """The cache plugin's levels (buildkite-plugins/cache-buildkite-plugin, lib/shared.bash
    build_key and hooks/pre-command): a cache saved at a level is keyed by the step's label
    (step), the branch (branch), the pipeline (pipeline) or the organization (all); a restore
    tries the levels from the most specific up to ``restore`` and takes the first it finds."""

    LEVELS = ("file", "step", "branch", "pipeline", "all")

    def __init__(self) -> None:
        self.saved: Dict[str, str] = {}

    @staticmethod
    def key(level: str, job: Dict[str, str]) -> str:
        return {"step": "pipeline/" + job["label"], "branch": "pipeline@" + job["branch"],
                "pipeline": "pipeline", "all": "organization"}[level]  # fmt: skip

    def save(self, config: Dict[str, Any], job: Dict[str, str], content: str) -> None:
        levels = config["save"] if isinstance(config["save"], list) else [config["save"]]
        for level in levels:
            if config.get("force") or self.key(level, job) not in self.saved:
                self.saved[self.key(level, job)] = content

    def restore(self, config: Dict[str, Any], job: Dict[str, str]) -> Any:
        for level in self.LEVELS[1 : self.LEVELS.index(config["restore"]) + 1]:  # no manifest: no file level
            if self.key(level, job) in self.saved:
                return self.saved[self.key(level, job)]
        return None


def test_readme_history_example_keeps_a_history_for_each_step():
    """Two steps of one pipeline set up as the README's history example (unit and integration
    tests, or a matrix) must each get back the history they saved. Kept at the pipeline's
    level, each restored the history the other saved last, where its own tests were missing:
    junit-flaky took them for new tests, ran each again, and learnt no thresholds for them."""
    configs = [
        plugins["cache#v1.10.0"] for _, plugins, ours in readme_steps_plugins()
        if ours.get("record_history") and "cache#v1.10.0" in plugins
    ]
    assert configs
    for config in configs:
        cache = CachePlugin()
        for build, labels in ((1, ("unit", "integration")), (2, ("integration", "unit"))):
            for label in labels:
                job = {"label": label, "branch": "main"}
                restored = cache.restore(config, job)
                if build == 2:
                    assert restored == f"{label} history of build 1"
                cache.save(config, job, f"{label} history of build {build}")


@pytest.mark.parametrize(
    "heading, ref, config", [pytest.param(*use, id=use[0]) for use in readme_plugin_configs()]
)
def test_readme_examples_match_the_configuration(heading, ref, config):
    assert PLUGIN_REF.match(ref), f"{heading}: use a released version, as in {PLUGIN_LOCATION}#v0.1.0: {ref}"
    jsonschema.validate(config, plugin_yml()["configuration"])


@pytest.mark.parametrize(
    "heading, pipeline", [pytest.param(*block, id=block[0]) for block in readme_pipelines()]
)
def test_readme_examples_are_valid_pipelines(heading, pipeline):
    jsonschema.validate(pipeline, load_schema("schema.json"))


def test_the_hook_tests_run_under_the_readme_reference():
    helpers = (PLUGIN / "tests" / "helpers.bash").read_text(encoding="utf-8")
    reference = re.search(r'^README_REFERENCE="([^"]+)"$', helpers, re.M).group(1)
    assert PLUGIN_REF.match(reference), reference
    assert {ref for _, ref, _ in readme_plugin_configs()} == {reference}


def test_readme_examples_use_the_version_released_with_the_tool():
    # The plugin and the tool are released together: v0.1.x of the plugin installs 0.1.x.
    for heading, ref, _ in readme_plugin_configs():
        major, minor, _patch = PLUGIN_REF.match(ref).groups()
        assert (int(major), int(minor)) == package_version(), f"{heading}: {ref}"
    lib = (PLUGIN / "lib" / "plugin.bash").read_text(encoding="utf-8")
    requirement = re.search(r'DEFAULT_PIP_REQUIREMENT="junit-flaky~=(\d+)\.(\d+)\.0"', lib)
    assert requirement, "DEFAULT_PIP_REQUIREMENT should be junit-flaky~=X.Y.0"
    assert tuple(map(int, requirement.groups())) == package_version()


def test_every_option_is_read_by_the_hooks_and_documented():
    shell = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [*(PLUGIN / "hooks").iterdir(), *(PLUGIN / "lib").iterdir()]
    )
    table = readme()
    for option in plugin_yml()["configuration"]["properties"]:
        key = option.upper()
        assert re.search(rf"\b(plugin_config\w*|add_(?:option|switch) [-\w]+|add_token_env \w+) {key}\b", shell), (
            f"no hook reads the {option} option (BUILDKITE_PLUGIN_<NAME>_{key})"
        )
        assert f"| `{option}`" in table, f"{option} is missing from the README's option table"


def test_every_hook_is_executable_and_strict():
    hooks = sorted((PLUGIN / "hooks").iterdir())
    assert [hook.name for hook in hooks] == ["command", "pre-command"]
    for hook in hooks:
        assert hook.stat().st_mode & 0o111, f"{hook} is not executable"
        assert "set -euo pipefail" in hook.read_text(encoding="utf-8")
