"""The CircleCI orb in ci-templates/circleci: each source file and the packed orb against
CircleCI's schemas, orb-tools' review rules, orb.yml kept in sync with src/, parameters wired
through to the scripts, and the packed commands run the way CircleCI would run them (parameters
substituted, the step's environment set) with a stub junit-flaky that records its argv.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import jsonschema
import pytest
import yaml

from tests.vendored import load_schema

REPO = Path(__file__).resolve().parents[1]
ORB = REPO / "ci-templates" / "circleci"
SRC = ORB / "src"
FOLDERS = ("commands", "jobs", "executors", "examples")
PARAMETER = re.compile(r"<<\s*parameters\.(\w+)\s*>>")
INCLUDE = re.compile(r"^<<\s*include\(([^()]+)\)\s*>>$")
ORB_REF = re.compile(r"^junit-flaky/junit-flaky@(\d+)\.(\d+)\.(\d+)$")
# Keys of a job invocation in a workflow that are CircleCI's, not the job's parameters.
WORKFLOW_JOB_KEYS = {"name", "context", "requires", "filters", "matrix", "pre-steps", "post-steps", "type"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def official_schema() -> Dict[str, Any]:
    return load_schema("circleci-yaml-language-server/schema.json")


def components() -> List[Tuple[str, str, Path]]:
    return [(folder, path.stem, path) for folder in FOLDERS for path in sorted((SRC / folder).glob("*.yml"))]


def component_params():
    return [pytest.param(folder, name, path, id=f"{folder}/{name}") for folder, name, path in components()]


def packed_orb() -> Dict[str, Any]:
    return load_yaml(ORB / "orb.yml")


def pack_module():
    spec = importlib.util.spec_from_file_location("orb_pack", ORB / "pack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def package_version() -> Tuple[int, int]:
    init = (REPO / "junit_flaky" / "__init__.py").read_text(encoding="utf-8")
    major, minor = re.search(r'__version__ = "(\d+)\.(\d+)\.', init).groups()
    return int(major), int(minor)


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def run_steps(component: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every `run` step of a command or job, nested ones (when/unless) included."""
    return [
        node["run"] for node in walk(component.get("steps", [])) if isinstance(node, dict) and "run" in node
    ]


# --- the packed orb -------------------------------------------------------------------------


def test_packed_orb_is_up_to_date():
    assert (ORB / "orb.yml").read_text(encoding="utf-8") == pack_module().pack(), (
        "ci-templates/circleci/orb.yml is stale: run `python ci-templates/circleci/pack.py`"
    )


def test_packed_orb_inlines_the_scripts():
    orb = packed_orb()
    assert (
        orb["commands"]["check"]["steps"][0]["run"]["command"] == (SRC / "scripts" / "check.sh").read_text()
    )
    assert "<<include(" not in (ORB / "orb.yml").read_text(encoding="utf-8")


def test_packer_escapes_heredocs_and_rejects_partial_includes(tmp_path):
    pack = pack_module()
    (tmp_path / "commands").mkdir()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "@orb.yml").write_text("version: 2.1\ndescription: d\n")
    (tmp_path / "scripts" / "x.sh").write_text("cat <<EOF\nhi\nEOF\n")
    (tmp_path / "commands" / "x.yml").write_text(
        "description: d\nsteps:\n  - run:\n      name: x\n      command: << include(scripts/x.sh) >>\n"
    )
    packed = yaml.safe_load(pack.pack(tmp_path))
    assert packed["commands"]["x"]["steps"][0]["run"]["command"] == "cat \\<<EOF\nhi\nEOF\n"

    (tmp_path / "commands" / "x.yml").write_text(
        "description: d\nsteps:\n  - run: echo <<include(scripts/x.sh)>>\n"
    )
    with pytest.raises(pack.PackError, match="must be the whole value"):
        pack.pack(tmp_path)


@pytest.mark.parametrize(
    "schema_name",
    [
        "circleci-yaml-language-server/schema.json",
        "schemastore-circleciconfig-pre-2025-06/circleciconfig.json",
    ],
)
def test_packed_orb_matches_circleci_schemas(schema_name):
    jsonschema.validate(packed_orb(), load_schema(schema_name))


def test_the_schema_catches_a_broken_orb():
    """The validation above has teeth: the official schema rejects the mistakes it should."""
    validator = jsonschema.Draft7Validator(official_schema())
    broken = packed_orb()
    broken["commands"]["check"]["steps"][0]["run"]["when"] = "sometimes"
    del broken["commands"]["store"]["steps"]
    broken["commands"]["install"]["parameters"]["python"]["type"] = "text"
    assert len(list(validator.iter_errors(broken))) >= 3


# --- each source file -----------------------------------------------------------------------


def test_orb_yml_source_matches_the_official_schema():
    jsonschema.validate(load_yaml(SRC / "@orb.yml"), official_schema())


@pytest.mark.parametrize("folder, name, path", component_params())
def test_component_matches_the_official_schema(folder, name, path):
    # A component file is the value under its folder's key in a config: validate it there.
    jsonschema.validate({"version": 2.1, folder: {name: load_yaml(path)}}, official_schema())


@pytest.mark.parametrize("folder, name, path", [p for p in component_params() if p.values[0] == "examples"])
def test_example_usage_is_a_valid_config(folder, name, path):
    usage = load_yaml(path)["usage"]
    jsonschema.validate(usage, official_schema())
    major, minor, _ = ORB_REF.match(usage["orbs"]["junit-flaky"]).groups()
    assert (int(major), int(minor)) == package_version(), "examples use the orb released with the tool"


@pytest.mark.parametrize("folder, name, path", [p for p in component_params() if p.values[0] == "examples"])
def test_example_calls_only_what_the_orb_has(folder, name, path):
    """Compile the example's orb references by hand: names exist, parameters are declared, and
    the required ones are given."""
    orb, usage = packed_orb(), load_yaml(path)["usage"]
    calls = []
    for workflow in usage.get("workflows", {}).values():
        for item in workflow.get("jobs", []) if isinstance(workflow, dict) else []:
            calls.append(("jobs", *_invocation(item)))
    for node in walk(usage):
        if isinstance(node, dict) and isinstance(node.get("steps"), list):
            calls.extend(("commands", *_invocation(step)) for step in node["steps"])
    calls = [(kind, ref, args) for kind, ref, args in calls if ref.startswith("junit-flaky/")]
    assert calls, f"{path.name} does not use the orb"
    for kind, ref, args in calls:
        component = orb[kind].get(ref[len("junit-flaky/") :])
        assert component is not None, f"{path.name}: the orb has no {kind[:-1]} {ref}"
        given = set(args) - (WORKFLOW_JOB_KEYS if kind == "jobs" else set())
        _assert_arguments_fit(f"{path.name}: {ref}", component, given)


def _invocation(item: Any) -> Tuple[str, Dict[str, Any]]:
    """A job or step as written: "name", or {"name": {arguments}}."""
    if isinstance(item, str):
        return item, {}
    ref, args = next(iter(item.items()))
    return ref, args if isinstance(args, dict) else {}


def _assert_arguments_fit(where: str, component: Dict[str, Any], given: set) -> None:
    declared = component.get("parameters", {})
    assert not given - set(declared), f"{where}: undeclared parameters {sorted(given - set(declared))}"
    required = {name for name, spec in declared.items() if "default" not in spec}
    assert required <= given, f"{where}: missing required parameters {sorted(required - given)}"


def test_jobs_call_the_orbs_commands_with_fitting_arguments():
    orb = packed_orb()
    for job_name, job in orb["jobs"].items():
        for step in job["steps"]:
            name, args = (step, {}) if isinstance(step, str) else next(iter(step.items()))
            if name in orb["commands"]:
                _assert_arguments_fit(f"job {job_name}: {name}", orb["commands"][name], set(args or {}))


# --- orb-tools review rules (src/scripts/review.bats in CircleCI-Public/orb-tools-orb) --------


def test_rc001_display_source_url():
    display = load_yaml(SRC / "@orb.yml").get("display", {})
    assert display.get("source_url", "").startswith("https://")
    assert display.get("home_url", "").startswith("https://")


@pytest.mark.parametrize("folder, name, path", component_params())
def test_rc002_every_component_has_a_description(folder, name, path):
    assert str(load_yaml(path).get("description") or "").strip(), f"{folder}/{name} has no description"


def test_rc003_at_least_one_usage_example():
    assert list((SRC / "examples").glob("*.yml"))


def test_rc004_example_names_are_descriptive():
    for path in (SRC / "examples").glob("*.yml"):
        assert "example" not in path.name


def test_rc005_orb_description_is_detailed():
    assert len(load_yaml(SRC / "@orb.yml")["description"].strip()) >= 64


# RC006 and RC007 fetch the source and home URLs: they need the network, so they are not here.


@pytest.mark.parametrize(
    "folder, name, path", [p for p in component_params() if p.values[0] in ("commands", "jobs")]
)
def test_rc008_every_run_step_has_a_name(folder, name, path):
    for run in run_steps(load_yaml(path)):
        assert isinstance(run, dict) and str(run.get("name") or "").strip(), f"{folder}/{name}: {run!r}"


@pytest.mark.parametrize(
    "folder, name, path", [p for p in component_params() if p.values[0] in ("commands", "jobs")]
)
def test_rc009_long_commands_are_included_scripts(folder, name, path):
    for run in run_steps(load_yaml(path)):
        command = run["command"] if isinstance(run, dict) else run
        assert len(command) <= 64 or INCLUDE.match(command.strip()), f"{folder}/{name}: inline {command!r}"


@pytest.mark.parametrize("folder, name, path", component_params())
def test_rc010_snake_case_names_and_parameters(folder, name, path):
    assert "-" not in path.name
    for parameter in load_yaml(path).get("parameters") or {}:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", parameter), f"{folder}/{name}: parameter {parameter}"


def test_rc011_examples_show_one_current_version():
    refs = {load_yaml(path)["usage"]["orbs"]["junit-flaky"] for path in (SRC / "examples").glob("*.yml")}
    assert len(refs) == 1, f"examples disagree on the orb version: {sorted(refs)}"


@pytest.mark.parametrize("folder, name, path", component_params())
def test_rc012_no_environment_variables_as_parameter_defaults(folder, name, path):
    for parameter, spec in (load_yaml(path).get("parameters") or {}).items():
        assert "$" not in str(spec.get("default", "")), f"{folder}/{name}: {parameter} defaults to an env var"


# --- parameters reach the scripts -----------------------------------------------------------


@pytest.mark.parametrize("folder, name, path", [p for p in component_params() if p.values[0] != "examples"])
def test_every_parameter_is_used_and_every_reference_declared(folder, name, path):
    component = load_yaml(path)
    declared = set(component.get("parameters") or {})
    text = path.read_text(encoding="utf-8")
    used = set(PARAMETER.findall(text))
    assert used == declared, (
        f"{folder}/{name}: unused {sorted(declared - used)}, undeclared {sorted(used - declared)}"
    )


@pytest.mark.parametrize("folder, name, path", [p for p in component_params() if p.values[0] == "commands"])
def test_included_scripts_read_exactly_the_step_environment(folder, name, path):
    for run in run_steps(load_yaml(path)):
        include = INCLUDE.match(run["command"].strip())
        if not include:
            continue
        script = (SRC / include.group(1)).read_text(encoding="utf-8")
        read = set(re.findall(r"\bPARAM_\w+", script))
        given = {key for key in run.get("environment", {}) if key.startswith("PARAM_")}
        assert read == given, (
            f"{folder}/{name}: script reads {sorted(read - given)} not set, ignores {sorted(given - read)}"
        )


def test_every_script_is_included():
    included = {
        INCLUDE.match(run["command"].strip()).group(1)
        for _, _, path in components()
        for run in run_steps(load_yaml(path))
        if INCLUDE.match(str(run.get("command", "")).strip())
    }
    assert included == {f"scripts/{path.name}" for path in (SRC / "scripts").glob("*.sh")}


def test_the_job_passes_parameters_with_the_commands_types_and_defaults():
    orb = packed_orb()
    job = orb["jobs"]["test"]
    for step in job["steps"]:
        if not isinstance(step, dict) or next(iter(step)) not in orb["commands"]:
            continue
        command_name, args = next(iter(step.items()))
        command_params = orb["commands"][command_name]["parameters"]
        for arg, value in args.items():
            source = PARAMETER.fullmatch(value.strip()).group(1)
            job_param, command_param = job["parameters"][source], command_params[arg]
            assert job_param.get("type") == command_param.get("type"), f"{command_name}.{arg}"
            if "default" in job_param:  # the job may require what the command leaves optional
                assert job_param["default"] == command_param.get("default"), f"{command_name}.{arg}"


def test_results_dir_default_agrees_with_the_cli():
    # junit-flaky's circleci target writes to $JUNIT_FLAKY_CIRCLECI_DIR, default test-results/junit-flaky.
    orb = packed_orb()
    defaults = {
        orb[kind][name]["parameters"]["results_dir"]["default"]
        for kind in ("commands", "jobs")
        for name in orb[kind]
        if "results_dir" in orb[kind][name].get("parameters", {})
    }
    assert defaults == {"test-results/junit-flaky"}


@pytest.mark.parametrize("command", ["install", "check", "upload"])
def test_commands_run_after_a_failed_step(command):
    # A failed test step skips later steps unless they say `when: always`; check must still run,
    # and so must the install it needs.
    for run in run_steps(packed_orb()["commands"][command]):
        assert run["when"] == "always"


# --- the packed commands, run as CircleCI would ----------------------------------------------


def compile_run_steps(kind: str, name: str, arguments: Dict[str, Any]) -> List[Tuple[Dict[str, str], str]]:
    """The component's run steps as CircleCI compiles them: (environment, command) with every
    ``<< parameters.x >>`` replaced (booleans as true/false) and ``\\<<`` unescaped."""
    component = packed_orb()[kind][name]
    values = {key: spec.get("default") for key, spec in component.get("parameters", {}).items()}
    unknown = set(arguments) - set(values)
    assert not unknown, f"{name} has no parameters {unknown}"
    values.update(arguments)
    missing = [key for key, value in values.items() if value is None]
    assert not missing, f"{name} needs {missing}"

    def render(text: Any) -> str:
        def value(match: re.Match) -> str:
            found = values[match.group(1)]
            return str(found).lower() if isinstance(found, bool) else str(found)

        return PARAMETER.sub(value, str(text)).replace("\\<<", "<<")

    return [
        ({key: render(value) for key, value in run.get("environment", {}).items()}, render(run["command"]))
        for run in run_steps(component)
    ]


STUB_JUNIT_FLAKY = """#!/bin/bash
printf '%s\\n' "$@" >"$CALLS/junit-flaky"
env | grep -E '^(JUNIT_FLAKY_)?(AVIATOR_API_TOKEN|BUILDKITE_ANALYTICS_TOKEN)=|^JUNIT_FLAKY_(CIRCLECI_DIR|TEST_EXIT_CODE)=' \\
  | sort >"$CALLS/junit-flaky.env"
exit "${STUB_EXIT:-0}"
"""

STUB_PYTHON = """#!/bin/bash
printf '%s\\n' "$*" >>"$CALLS/python"
case "$1 ${2:-}" in
  "-c "*) exit "${STUB_PYTHON_TOO_OLD:-0}" ;;
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
  "-m pip") printf '%s\\n' "$@" >"$CALLS/pip" && printf '#!/bin/bash\\n' >"$(dirname "$0")/junit-flaky" ;;
esac
"""


class Job:
    """A scratch CircleCI job: a working directory, a home with $BASH_ENV, stubs on PATH."""

    def __init__(self, root: Path):
        self.workdir, self.home, self.bin, self.calls = (
            root / "project",
            root / "home",
            root / "bin",
            root / "calls",
        )
        for folder in (self.workdir, self.home, self.bin, self.calls):
            folder.mkdir()
        self.bash_env = self.home / ".bash_env"
        self.bash_env.touch()

    def stub(self, name: str, text: str) -> None:
        (self.bin / name).write_text(text)
        (self.bin / name).chmod(0o755)

    def run(self, kind: str, name: str, arguments: Dict[str, Any], env: Optional[Dict[str, str]] = None):
        result = None
        for step_env, command in compile_run_steps(kind, name, arguments):
            result = self.run_step(command, {**(env or {}), **step_env})
        return result

    def run_step(self, command: str, env: Optional[Dict[str, str]] = None):
        """One run step, in CircleCI's default shell, which sources $BASH_ENV first."""
        environment = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.home),
            "BASH_ENV": str(self.bash_env),
            "CALLS": str(self.calls),
            **(env or {}),
        }
        return subprocess.run(
            ["/bin/bash", "-eo", "pipefail", "-c", command],
            cwd=self.workdir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def argv(self, name: str = "junit-flaky") -> List[str]:
        return (self.calls / name).read_text().splitlines()

    def called(self, name: str = "junit-flaky") -> bool:
        return (self.calls / name).exists()


@pytest.fixture
def job(tmp_path):
    scratch = Job(tmp_path)
    scratch.stub("junit-flaky", STUB_JUNIT_FLAKY)
    return scratch


WRITE_REPORT = "mkdir -p test-results && echo '<testsuite/>' > test-results/junit.xml"


def test_check_runs_the_tests_then_junit_flaky_with_the_defaults(job):
    result = job.run(
        "commands", "check", {"reports": "test-results/*.xml", "test_command": f"{WRITE_REPORT} && exit 1"}
    )
    assert result.returncode == 0, result.stderr
    assert "The test command exited 1" in result.stdout
    assert job.argv() == [
        "run", "test-results/*.xml", "--output", "junit-flaky.xml", "--test-exit-code", "1",
        "--upload", "circleci",
    ]  # fmt: skip
    assert (
        job.calls / "junit-flaky.env"
    ).read_text() == "JUNIT_FLAKY_CIRCLECI_DIR=test-results/junit-flaky\n"


def test_check_passes_every_parameter(job):
    (job.workdir / "r").mkdir()
    (job.workdir / "r" / "a.xml").write_text("<testsuite/>")
    arguments = {
        "reports": "r/*.xml other/**/*.xml",
        "output": "out/flaky.xml",
        "results_dir": "results",
        "thresholds": "ci/thresholds.toml",
        "min_passes": 2,
        "max_runs": 5,
        "json": "out/verdicts.json",
        "rerun": False,
        "flakybot": False,
        "thresholds_from_history": True,
        "record_history": True,
        "history_db": "ci/history.sqlite",
        "quarantine_file": "ci/quarantine.toml",
        "auto_quarantine": True,
        "fail_on_flake_regression": True,
        "new_test_runs": 8,
        "new_test_budget": "120.5",
        "allow_new_flaky": True,
        "fail_on_flaky": True,
        "codeowners": ".github/OWNERS",
        "rootdir": "src",
        "workers": 4,
        "rerun_timeout": 120,
        "max_reruns_total": 0,
        "rerun_command": "python -m pytest -p no:cacheprovider",
        "upload": "circleci aviator",
        "strict_upload": True,
    }
    result = job.run("commands", "check", arguments)
    assert result.returncode == 0, result.stderr
    assert job.argv() == [
        "run", "r/*.xml", "other/**/*.xml", "--output", "out/flaky.xml",
        "--thresholds", "ci/thresholds.toml", "--min-passes", "2", "--max-runs", "5",
        "--json", "out/verdicts.json", "--rootdir", "src", "--workers", "4",
        "--rerun-timeout", "120", "--max-reruns-total", "0", "--no-rerun", "--no-flakybot",
        "--thresholds-from-history", "--record-history", "--history-db", "ci/history.sqlite",
        "--quarantine-file", "ci/quarantine.toml", "--auto-quarantine", "--fail-on-flake-regression", "--new-test-runs", "8", "--new-test-budget", "120.5",
        "--allow-new-flaky", "--fail-on-flaky", "--codeowners", ".github/OWNERS",
        "--upload", "circleci", "--upload", "aviator", "--strict-upload",
        "--", "python", "-m", "pytest", "-p", "no:cacheprovider",
    ]  # fmt: skip
    assert "JUNIT_FLAKY_CIRCLECI_DIR=results" in (job.calls / "junit-flaky.env").read_text()


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({"thresholds_from_history": False, "record_history": False, "allow_new_flaky": False, "fail_on_flaky": False,
          "auto_quarantine": False, "fail_on_flake_regression": False}, []),
        ({"fail_on_flaky": True}, ["--fail-on-flaky"]),
        ({"record_history": True}, ["--record-history"]),
        ({"thresholds_from_history": True, "history_db": "h.sqlite"},
         ["--thresholds-from-history", "--history-db", "h.sqlite"]),
    ],
)  # fmt: skip
def test_check_passes_the_history_switches_only_when_true(job, arguments, expected):
    # false passes nothing, so JUNIT_FLAKY_*_HISTORY or pyproject.toml can still turn them on.
    result = job.run("commands", "check", {"reports": "test-results/*.xml", "test_command": WRITE_REPORT, **arguments})
    assert result.returncode == 0, result.stderr
    assert job.argv() == [
        "run", "test-results/*.xml", "--output", "junit-flaky.xml", "--test-exit-code", "0", *expected,
        "--upload", "circleci",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "rerun_command, expected",
    [
        ("", ["python3.12", "-m", "pytest"]),
        (".venv/bin/python -m pytest", [".venv/bin/python", "-m", "pytest"]),
    ],
)
def test_check_reruns_with_the_installing_python_unless_told_otherwise(job, rerun_command, expected):
    # install.sh sets JUNIT_FLAKY_ORB_RERUN_PYTHON: the tool's venv has no pytest to rerun with.
    result = job.run(
        "commands",
        "check",
        {"reports": "test-results/*.xml", "test_command": WRITE_REPORT, "rerun_command": rerun_command},
        env={"JUNIT_FLAKY_ORB_RERUN_PYTHON": "python3.12"},
    )
    assert result.returncode == 0, result.stderr
    assert job.argv()[job.argv().index("--") + 1 :] == expected


def test_check_hands_a_test_command_exit_of_2_to_junit_flaky(job):
    # pytest's 2 is an interrupted run or a collection error: its report may hold only some tests,
    # and junit-flaky, told so, fails the step even if every failure in it proves flaky.
    result = job.run(
        "commands", "check", {"reports": "test-results/*.xml", "test_command": f"{WRITE_REPORT} && exit 2"},
        env={"STUB_EXIT": "1"},
    )  # fmt: skip
    assert result.returncode == 1
    assert "The test command exited 2" in result.stdout
    assert job.argv() == [
        "run", "test-results/*.xml", "--output", "junit-flaky.xml", "--test-exit-code", "2",
        "--upload", "circleci",
    ]  # fmt: skip


@pytest.mark.parametrize("verdict", [0, 1, 3])
def test_check_exits_with_junit_flakys_exit_code(job, verdict):
    result = job.run(
        "commands", "check", {"reports": "test-results/*.xml", "test_command": f"{WRITE_REPORT} && exit 1"},
        env={"STUB_EXIT": str(verdict)},
    )  # fmt: skip
    assert result.returncode == verdict


def test_check_and_upload_take_reports_on_several_lines(job):
    """A YAML block (``reports: |``) gives one glob a line: every line reaches junit-flaky. Read
    up to the first line end, the later globs were dropped, and the tests of their reports were
    never judged: a job whose only failures sat there passed."""
    reports = "test-results/*.xml\nintegration-results/*.xml\n"
    result = job.run("commands", "check", {"reports": reports, "test_command": f"{WRITE_REPORT} && exit 1"})
    assert result.returncode == 0, result.stderr
    assert job.argv()[:3] == ["run", "test-results/*.xml", "integration-results/*.xml"]
    result = job.run("commands", "upload", {"reports": "merged.xml\nmore.xml\n"})
    assert result.returncode == 0, result.stderr
    assert job.argv()[:3] == ["upload", "merged.xml", "more.xml"]


def test_check_takes_a_rerun_command_on_several_lines(job):
    """As reports: a rerun command written as a YAML block reaches junit-flaky whole; its later
    lines were dropped, and the reruns started without them."""
    arguments = {"reports": "test-results/*.xml", "test_command": WRITE_REPORT,
                 "rerun_command": ".venv/bin/python -m pytest\n-p no:cacheprovider\n"}  # fmt: skip
    result = job.run("commands", "check", arguments)
    assert result.returncode == 0, result.stderr
    assert job.argv()[-6:] == ["--", ".venv/bin/python", "-m", "pytest", "-p", "no:cacheprovider"]


def test_check_without_a_report_fails_with_the_test_commands_exit_code(job):
    result = job.run("commands", "check", {"reports": "test-results/*.xml", "test_command": "exit 4"})
    assert result.returncode == 4
    assert "the test command exited 4 and wrote no JUnit report" in result.stderr
    assert not job.called()


def test_check_without_a_report_after_passing_tests_fails_with_2(job):
    result = job.run("commands", "check", {"reports": "test-results/*.xml"})
    assert result.returncode == 2
    assert "no JUnit report matches test-results/*.xml" in result.stderr
    assert not job.called()


def test_check_hands_tokens_under_other_names_to_junit_flaky_alone(job):
    # Under junit-flaky's own names, which its reruns never see: as AVIATOR_API_TOKEN or
    # BUILDKITE_ANALYTICS_TOKEN they would reach the rerun tests, and buildkite-test-collector there.
    result = job.run(
        "commands", "check",
        {"reports": "test-results/*.xml", "test_command": WRITE_REPORT, "aviator_token": "MY_AVIATOR",
         "test_engine_token": "MY_SUITE"},
        env={"MY_AVIATOR": "av-1", "MY_SUITE": "bk-2"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    env = (job.calls / "junit-flaky.env").read_text().splitlines()
    assert "JUNIT_FLAKY_AVIATOR_API_TOKEN=av-1" in env and "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN=bk-2" in env
    assert not [line for line in env if line.startswith(("AVIATOR_API_TOKEN=", "BUILDKITE_ANALYTICS_TOKEN="))]


def test_example_test_step_of_its_own_hands_its_exit_code_to_check(job):
    """A test step that must not fail the job still leaves its exit code for junit-flaky, so a
    pytest that stopped short (2: interrupted or a collection error) fails the job in check."""
    steps = load_yaml(SRC / "examples" / "commands_in_your_job.yml")["usage"]["jobs"]["unit-tests"]["steps"]
    (tests,) = [step["run"] for step in steps if "pytest --junitxml" in str(step)]
    job.stub("python", f"#!/bin/bash\n{WRITE_REPORT.replace('test-results', 'test-results/pytest')}\nexit 2\n")
    assert job.run_step(tests["command"]).returncode == 0
    (check,) = [step["junit-flaky/check"] for step in steps if "junit-flaky/check" in step]
    result = job.run("commands", "check", check, env={"STUB_EXIT": "1"})
    assert result.returncode == 1
    assert "JUNIT_FLAKY_TEST_EXIT_CODE=2" in (job.calls / "junit-flaky.env").read_text().splitlines()


def test_check_says_when_junit_flaky_is_missing(job):
    (job.bin / "junit-flaky").unlink()
    result = job.run("commands", "check", {"reports": "test-results/*.xml", "test_command": "touch ran"})
    assert result.returncode == 2
    assert "run the orb's install command first" in result.stderr
    assert not (job.workdir / "ran").exists()


def test_install_creates_a_venv_and_puts_only_the_tool_on_path_for_later_steps(job):
    (job.bin / "junit-flaky").unlink()
    job.stub("python3", STUB_PYTHON)
    result = job.run("commands", "install", {})
    assert result.returncode == 0, result.stderr
    venv = job.home / ".junit-flaky" / "venv"
    assert job.argv("pip") == [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "junit-flaky~=0.1.0",
    ]
    assert f"-m venv {venv}" in job.argv("python")
    assert os.listdir(job.home / ".junit-flaky" / "bin") == ["junit-flaky"]
    assert job.bash_env.read_text().splitlines() == [
        f'export PATH="{job.home}/.junit-flaky/bin:${{PATH}}"',
        "export JUNIT_FLAKY_ORB_RERUN_PYTHON=python3",
    ]


def test_install_does_nothing_when_junit_flaky_is_on_path(job):
    job.stub("python3", STUB_PYTHON)
    result = job.run("commands", "install", {"requirement": "./tools/junit-flaky"})
    assert result.returncode == 0, result.stderr
    assert not job.called("python")
    assert job.bash_env.read_text() == ""


def test_install_refuses_an_old_python(job):
    (job.bin / "junit-flaky").unlink()
    job.stub("python3", STUB_PYTHON)
    result = job.run("commands", "install", {}, env={"STUB_PYTHON_TOO_OLD": "1"})
    assert result.returncode == 2
    assert "needs Python >= 3.9" in result.stderr


@pytest.mark.parametrize("verdict", [0, 3])
def test_upload_passes_reports_and_targets_and_its_exit_code(job, verdict):
    result = job.run(
        "commands", "upload",
        {"reports": "merged.xml more.xml", "to": "circleci aviator", "strict_upload": True,
         "aviator_token": "MY_AVIATOR"},
        env={"STUB_EXIT": str(verdict), "MY_AVIATOR": "av-1"},
    )  # fmt: skip
    assert result.returncode == verdict
    assert job.argv() == [
        "upload",
        "merged.xml",
        "more.xml",
        "--to",
        "circleci",
        "--to",
        "aviator",
        "--strict-upload",
    ]
    assert "JUNIT_FLAKY_AVIATOR_API_TOKEN=av-1" in (job.calls / "junit-flaky.env").read_text().splitlines()


# --- the test job, compiled as CircleCI would --------------------------------------------------


def _logic(condition: Any) -> bool:
    """A compiled logic statement (https://circleci.com/docs/configuration-reference#logic-statements)."""
    if isinstance(condition, dict):
        (operator, operands), = condition.items()
        if operator == "and":
            return all(_logic(item) for item in operands)
        if operator == "or":
            return any(_logic(item) for item in operands)
        if operator == "not":
            return not _logic(operands)
        if operator == "equal":
            return all(item == operands[0] for item in operands)
        raise AssertionError(f"logic operator {operator} is not modelled here")
    assert isinstance(condition, bool), f"a condition left uncompiled: {condition!r}"
    return condition


def compile_job_steps(name: str, arguments: Dict[str, Any]) -> List[Any]:
    """The job's steps as CircleCI compiles them: parameters substituted (a value that is only a
    reference keeps its type, as CircleCI's booleans do), `steps` parameters spliced in, and
    `when`/`unless` steps replaced by their steps or by nothing."""
    job = packed_orb()["jobs"][name]
    values = {key: spec.get("default") for key, spec in job.get("parameters", {}).items()}
    assert not set(arguments) - set(values), f"{name} has no parameters {set(arguments) - set(values)}"
    values.update(arguments)
    assert None not in values.values(), f"{name} needs {[k for k, v in values.items() if v is None]}"

    def render(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: render(value) for key, value in node.items()}
        if isinstance(node, list):
            return [render(item) for item in node]
        if isinstance(node, str):
            whole = PARAMETER.fullmatch(node.strip())
            if whole:
                return values[whole.group(1)]
            return PARAMETER.sub(lambda match: str(values[match.group(1)]), node)
        return node

    def flatten(steps: List[Any]) -> Iterator[Any]:
        for step in steps:
            kind = step if isinstance(step, str) else next(iter(step))
            if kind in ("when", "unless"):
                if _logic(step[kind]["condition"]) == (kind == "when"):
                    yield from flatten(step[kind]["steps"])
            elif kind == "steps":
                yield from flatten(step["steps"])
            else:
                yield step

    return list(flatten(render(job["steps"])))


def step_kinds(steps: List[Any]) -> List[str]:
    return [step if isinstance(step, str) else next(iter(step)) for step in steps]


def the_step(steps: List[Any], kind: str) -> Dict[str, Any]:
    (found,) = [step[kind] for step in steps if isinstance(step, dict) and kind in step]
    return found


TEST_JOB = {"test_command": WRITE_REPORT, "reports": "test-results/*.xml"}
SETUP = [{"run": {"name": "Install dependencies", "command": "pip install -r requirements.txt"}}]


def test_test_job_without_the_history_has_no_cache_steps():
    steps = compile_job_steps("test", {**TEST_JOB, "setup": SETUP})
    assert step_kinds(steps) == ["checkout", "run", "install", "check", "store"]
    check = the_step(steps, "check")
    assert check["thresholds_from_history"] is False and check["record_history"] is False
    assert check["history_db"] == ""


@pytest.mark.parametrize(
    "switches",
    [
        {"thresholds_from_history": True},
        {"record_history": True},
        {"thresholds_from_history": True, "record_history": True},
    ],
)
def test_test_job_with_the_history_restores_it_before_the_tests_and_saves_it_after(switches):
    steps = compile_job_steps("test", {**TEST_JOB, "setup": SETUP, **switches})
    assert step_kinds(steps) == ["checkout", "restore_cache", "run", "install", "check", "save_cache", "store"]
    assert the_step(steps, "restore_cache") == {
        "name": "Restore the junit-flaky test history",
        "keys": [
            "junit-flaky-history-{{ .Environment.CIRCLE_JOB }}-{{ .Branch }}-",
            "junit-flaky-history-{{ .Environment.CIRCLE_JOB }}-",
        ],
    }
    assert the_step(steps, "save_cache") == {
        "name": "Save the junit-flaky test history",
        "key": "junit-flaky-history-{{ .Environment.CIRCLE_JOB }}-{{ .Branch }}-{{ .BuildNum }}",
        "paths": [".junit-flaky"],
        "when": "always",  # a red build's runs are evidence too
    }
    check = the_step(steps, "check")
    for switch in ("thresholds_from_history", "record_history"):
        assert check[switch] is switches.get(switch, False)


class CircleCICache:
    """CircleCI's cache as its docs describe it (circleci.com/docs/caching): a key template's
    ``{{ .Branch }}``, ``{{ .BuildNum }}`` and ``{{ .Environment.NAME }}`` filled from the job; a
    saved key is never written again; ``restore_cache`` tries its keys in order, each as a prefix,
    and takes the newest cache that matches."""

    def __init__(self) -> None:
        self.saved: List[Tuple[str, str]] = []  # (key, what was saved), oldest first

    @staticmethod
    def key(template: str, job: Dict[str, str]) -> str:
        fields = {".Branch": job["CIRCLE_BRANCH"], ".BuildNum": job["CIRCLE_BUILD_NUM"]}
        return re.sub(
            r"\{\{\s*(\S+)\s*\}\}",
            lambda m: fields[m.group(1)] if m.group(1) in fields else job[m.group(1)[len(".Environment."):]],
            template,
        )

    def save(self, step: Dict[str, Any], job: Dict[str, str], content: str) -> None:
        key = self.key(step["key"], job)
        if key not in [saved for saved, _ in self.saved]:
            self.saved.append((key, content))

    def restore(self, step: Dict[str, Any], job: Dict[str, str]) -> Optional[str]:
        for template in step["keys"]:
            prefix = self.key(template, job)
            found = [content for key, content in self.saved if key.startswith(prefix)]
            if found:
                return found[-1]
        return None


def test_two_test_jobs_of_a_workflow_each_restore_their_own_history():
    """A workflow with two test jobs (unit and integration tests, or a matrix): each must get
    back the history it saved. Under one key for both, a job restored the other's, where its own
    tests were missing: junit-flaky took them all for new tests (and ran each up to
    --new-test-runs times) and learnt no thresholds for them."""
    steps = compile_job_steps("test", {**TEST_JOB, "record_history": True})
    restore, save = the_step(steps, "restore_cache"), the_step(steps, "save_cache")
    cache = CircleCICache()
    for build, order in ((1, ("unit", "integration")), (2, ("integration", "unit"))):
        for name in order:
            job = {"CIRCLE_JOB": name, "CIRCLE_BRANCH": "main", "CIRCLE_BUILD_NUM": f"{build}{name}"}
            restored = cache.restore(restore, job)
            if build == 2:
                assert restored == f"{name} history of build 1"
            cache.save(save, job, f"{name} history of build {build}")


def test_test_job_caches_the_history_dir_it_is_given():
    steps = compile_job_steps(
        "test",
        {**TEST_JOB, "record_history": True, "history_db": "ci-cache/h.sqlite", "history_dir": "ci-cache"},
    )
    assert the_step(steps, "save_cache")["paths"] == ["ci-cache"]
    assert the_step(steps, "check")["history_db"] == "ci-cache/h.sqlite"


def test_test_job_default_history_dir_holds_junit_flakys_default_database():
    # junit-flaky's default is .junit-flaky/history.sqlite (junit_flaky/history/location.py).
    from junit_flaky.history import location

    job = packed_orb()["jobs"]["test"]
    assert Path(job["parameters"]["history_dir"]["default"]) == Path(location.DEFAULT).parent


def test_test_job_hands_the_history_switches_to_junit_flaky(job):
    """The job's check step, run as compiled: the switches reach junit-flaky's command line."""
    steps = compile_job_steps(
        "test", {**TEST_JOB, "thresholds_from_history": True, "record_history": True, "history_db": "h/db.sqlite"}
    )
    result = job.run("commands", "check", the_step(steps, "check"))
    assert result.returncode == 0, result.stderr
    assert job.argv() == [
        "run", "test-results/*.xml", "--output", "junit-flaky.xml", "--test-exit-code", "0",
        "--thresholds-from-history", "--record-history", "--history-db", "h/db.sqlite",
        "--upload", "circleci",
    ]  # fmt: skip


def test_history_example_compiles_to_a_job_that_caches_the_history():
    usage = load_yaml(SRC / "examples" / "thresholds_from_history.yml")["usage"]
    (invocation,) = usage["workflows"]["test"]["jobs"]
    ref, args = _invocation(invocation)
    assert ref == "junit-flaky/test"
    steps = compile_job_steps("test", {k: v for k, v in args.items() if k not in WORKFLOW_JOB_KEYS})
    assert step_kinds(steps) == ["checkout", "restore_cache", "run", "install", "check", "save_cache", "store"]
    assert the_step(steps, "save_cache")["paths"] == [".junit-flaky"]
    check = the_step(steps, "check")
    assert check["thresholds_from_history"] is True and check["record_history"] is True


def test_a_parameter_the_scripts_split_on_line_ends_says_so():
    # A parameter read whole and split on spaces and line ends (a YAML block) must not be
    # documented as split on spaces alone: a user would fold a long command onto one line.
    split = set()
    for script in (SRC / "scripts").glob("*.sh"):
        split.update(
            name.lower()
            for name in re.findall(r"read -r -d '' -a \w+ < <\(printf '%s' \"\$PARAM_(\w+)\"\)", script.read_text())
        )
    assert {"reports", "rerun_command"} <= split
    orb = packed_orb()
    described = {
        f"{kind}/{name}.{param}": spec["description"]
        for kind in ("commands", "jobs")
        for name, component in orb[kind].items()
        for param, spec in component.get("parameters", {}).items()
        if param in split
    }
    assert described and [where for where, text in described.items() if "line ends" not in text] == []
