"""The GitHub Actions action (ci-templates/github) and the github-actions upload target behind it.

The action is validated against SchemaStore's schema (vendored by check-jsonschema), then its
steps are run as the runner would: each `run` step's script with the INPUT_* environment the
action maps from its inputs, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_PATH as files, against
a real pytest project. What GitHub itself does with those files is not run here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import yaml

from junit_flaky import junit_read
from junit_flaky.model import Verdict
from junit_flaky.upload import annotation
from junit_flaky.upload.github import SHOWN, annotations, escape_data, escape_property, output_line
from junit_flaky.upload.reports import Report
from tests.projects import Project, flaky_body

REPO = Path(__file__).resolve().parents[1]
ACTION_DIR = REPO / "ci-templates" / "github"
ACTION = ACTION_DIR / "action.yml"
SAMPLE = Path(__file__).parent / "data" / "upload-aggregated.xml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_action() -> Dict[str, Any]:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def read_outputs(path: Path) -> Dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it: ``name=value`` lines and ``name<<DELIM`` blocks."""
    outputs: Dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


# -- the workflow commands ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, data, prop",
    [
        ("plain", "plain", "plain"),
        ("100% sure", "100%25 sure", "100%25 sure"),
        ("two\nlines\r\n", "two%0Alines%0D%0A", "two%0Alines%0D%0A"),
        ("a::b, c", "a::b, c", "a%3A%3Ab%2C c"),
        ("%0A", "%250A", "%250A"),  # an escape in the text stays text
    ],
)
def test_workflow_command_escaping(text, data, prop):
    assert escape_data(text) == data
    assert escape_property(text) == prop


def test_annotations_of_the_sample_report():
    counts, notes = annotations(junit_read.testcases(SAMPLE))
    assert (counts[Verdict.FAILED], counts[Verdict.FLAKY], counts[Verdict.PASSED]) == (1, 2, 1)
    assert [str(note) for note in notes] == [
        "::error file=tests/test_api.py,title=failed%3A tests.test_api%3A%3Atest_broken::"
        "failed (3 failed attempts): RuntimeError: boom <b>",
        "::warning file=tests/test_api.py,title=flaky%3A tests.test_api%3A%3Atest_flaky[a-1]::"
        "flaky (1 failed attempt): AssertionError: assert 1 == 2",
        "::warning title=flaky%3A tests.test_db%3A%3Atest_conn::"
        "flaky (2 failed attempts): ConnectionError: connection reset",
    ]


def _report(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "r.xml"
    path.write_text(f'<?xml version="1.0"?>\n<testsuite name="s">{body}</testsuite>\n', encoding="utf-8")
    return path


def test_the_location_is_the_deepest_frame_in_the_checkout(tmp_path, monkeypatch):
    workspace = tmp_path / "ws"
    (workspace / "pkg").mkdir(parents=True)
    monkeypatch.chdir(workspace / "pkg")  # junit-flaky ran where pytest ran, below the checkout
    trace = (
        "tests/test_a.py:10: in test_a\n    helper()\n"
        "helpers.py:4: in helper\n    assert False\n"
        "/usr/lib/python3/site-packages/lib.py:99: AssertionError\n"
    )
    path = _report(
        tmp_path,
        f'<testcase classname="t" name="a" file="tests/test_a.py" line="8"><failure message="m">{trace}</failure></testcase>'
        '<testcase classname="t" name="b" file="tests/test_b.py" line="3"><failure message="m">no frames</failure></testcase>'
        '<testcase classname="t" name="c"><failure message="m">  File "'
        + str(workspace / "pkg" / "test_c.py")
        + '", line 7, in test_c\n</failure></testcase>',
    )
    _, notes = annotations(junit_read.testcases(path), str(workspace))
    assert [(n.file, n.line) for n in notes] == [
        ("pkg/helpers.py", "4"),  # the installed package's frame is passed over
        ("pkg/tests/test_b.py", "3"),  # no frame: the testcase's own file and line
        ("pkg/test_c.py", "7"),  # Python's traceback format (--tb=native)
    ]


def test_a_file_outside_the_checkout_gets_no_location(tmp_path):
    path = _report(tmp_path, '<testcase classname="t" name="a" file="/elsewhere/t.py" line="1"><failure/></testcase>')
    (note,) = annotations(junit_read.testcases(path), str(tmp_path / "ws"))[1]
    assert (note.file, note.line) == ("", "1")
    assert str(note).startswith("::error line=1,title=")


def test_at_most_ten_annotations_of_each_kind(tmp_path):
    failed = "".join(f'<testcase classname="t" name="f{i}"><failure message="x"/></testcase>' for i in range(25))
    flaky = "".join(f'<testcase classname="t" name="k{i}"><flakyFailure message="x"/></testcase>' for i in range(25))
    counts, notes = annotations(junit_read.testcases(_report(tmp_path, failed + flaky)))
    assert (counts[Verdict.FAILED], counts[Verdict.FLAKY]) == (25, 25)
    assert [n.command for n in notes] == ["error"] * SHOWN + ["warning"] * SHOWN
    assert [n.title for n in notes[:2]] == ["failed: t::f0", "failed: t::f1"]


def test_a_message_on_many_lines_is_one_command(tmp_path):
    path = _report(tmp_path, '<testcase classname="t" name="a"><failure message="one&#10;::error::two"/></testcase>')
    (note,) = annotations(junit_read.testcases(path))[1]
    assert str(note) == "::error title=failed%3A t%3A%3Aa::failed (1 failed attempt): failure: one%0A::error::two"


@pytest.mark.parametrize("value", ["a/b.xml", "a.xml\nb.xml", "x=y<<z"])
def test_an_output_reads_back_as_written(tmp_path, value):
    path = tmp_path / "out"
    path.write_text(output_line("before", "1") + output_line("report", value) + output_line("after", "2"))
    assert read_outputs(path) == {"before": "1", "report": value, "after": "2"}


# -- the upload target through the CLI ------------------------------------------------------


def github_env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "BUILDKITE", "CIRCLE", "GITLAB"))}
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_JOB="tests",
        GITHUB_WORKSPACE=str(tmp_path),
        GITHUB_OUTPUT=str(tmp_path / "github_output"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "step_summary"),
        GITHUB_PATH=str(tmp_path / "github_path"),
        RUNNER_TEMP=str(tmp_path / "runner_temp"),
    )
    env.pop("AVIATOR_API_TOKEN", None)
    env.update(extra)
    return env


def test_upload_auto_writes_the_summary_annotations_and_outputs(tmp_path):
    report = tmp_path / "final.xml"
    shutil.copyfile(SAMPLE, report)
    (tmp_path / "step_summary").write_text("# Earlier\n")
    env = github_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "junit_flaky", "upload", "final.xml"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert [line.split(" ", 1)[0] for line in commands] == ["::error", "::warning", "::warning"]
    assert "upload ok: github-actions" in result.stdout
    # The same Markdown as the Buildkite annotation, after what the step wrote before.
    markdown = annotation.build([(Report(report), None)], title="junit-flaky · tests").markdown
    assert (tmp_path / "step_summary").read_text() == "# Earlier\n\n" + markdown
    assert read_outputs(tmp_path / "github_output") == {"failed": "1", "flaky": "2", "report": "final.xml"}


def test_the_summary_fits_what_is_left_of_the_step_limit(tmp_path):
    report = tmp_path / "final.xml"
    shutil.copyfile(SAMPLE, report)
    (tmp_path / "step_summary").write_text("x" * (1024 * 1024 - 300))
    result = subprocess.run(
        [sys.executable, "-m", "junit_flaky", "upload", "final.xml", "--to", "github-actions"],
        cwd=tmp_path, env=github_env(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "step_summary").stat().st_size <= 1024 * 1024
    assert "no job summary: the step's summary is full" in result.stdout


def test_outside_a_github_step_the_target_fails_in_one_line(tmp_path):
    shutil.copyfile(SAMPLE, tmp_path / "final.xml")
    env = github_env(tmp_path)
    del env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"]
    result = subprocess.run(
        [sys.executable, "-m", "junit_flaky", "upload", "final.xml", "--to", "github-actions", "--strict-upload"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 3
    assert "GITHUB_STEP_SUMMARY and GITHUB_OUTPUT are not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_tokens_in_test_output_never_reach_the_log_or_summary(tmp_path):
    token = "avi_0123456789abcdef0123"
    _report(tmp_path, f'<testcase classname="t" name="a"><failure message="sent {token}">{token}</failure></testcase>')
    result = subprocess.run(
        [sys.executable, "-m", "junit_flaky", "upload", "r.xml", "--to", "github-actions"],
        cwd=tmp_path, env=github_env(tmp_path, AVIATOR_API_TOKEN=token), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "::error" in result.stdout and token not in result.stdout
    assert token not in (tmp_path / "step_summary").read_text()


def test_a_token_escaped_for_markdown_is_hidden_in_the_summary_too(tmp_path):
    """The summary escapes Markdown punctuation (``_`` becomes ``\\_``), which splits a token
    for a plain search: no piece of it may be left to read."""
    token = "avi_0123-4567_89ab.cdef_XYZ"
    _report(tmp_path, f'<testcase classname="t" name="a"><flakyFailure message="sent {token}"/></testcase>')
    result = subprocess.run(
        [sys.executable, "-m", "junit_flaky", "upload", "r.xml", "--to", "github-actions"],
        cwd=tmp_path, env=github_env(tmp_path, AVIATOR_API_TOKEN=token), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "step_summary").read_text().replace("\\", "")
    assert "sent [redacted]" in summary
    assert not [token[i : i + 8] for i in range(len(token) - 7) if token[i : i + 8] in summary]


# -- the action's metadata ------------------------------------------------------------------


def check_jsonschema(*args: str) -> subprocess.CompletedProcess:
    found = shutil.which("check-jsonschema") or shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[test]')")
    return subprocess.run([found, *args], capture_output=True, text=True, timeout=120)


def test_action_yml_matches_schemastores_schema():
    result = check_jsonschema("--builtin-schema", "vendor.github-actions", str(ACTION))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_catches_a_broken_action(tmp_path):
    broken = load_action()
    del broken["runs"]["steps"][1]["shell"]  # a composite run step without a shell
    (tmp_path / "action.yml").write_text(yaml.safe_dump(broken))
    result = check_jsonschema("--builtin-schema", "vendor.github-actions", str(tmp_path / "action.yml"))
    assert result.returncode == 1, result.stdout


def test_inputs_reach_scripts_through_the_environment_only():
    """A ``${{ }}`` pasted into a script would let an input (a branch name, a PR title) inject shell."""
    action = load_action()
    used = set()
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert step["shell"] == "bash"
        for value in [*(step.get("env") or {}).values(), *(step.get("with") or {}).values(), step.get("if", "")]:
            used |= set(re.findall(r"inputs\.([\w-]+)", str(value)))
    for output in action["outputs"].values():
        used |= set(re.findall(r"inputs\.([\w-]+)", output["value"]))
    assert used == set(action["inputs"])


def test_scripts_read_exactly_the_variables_the_step_sets():
    steps = {Path(s["run"].split("/")[-1].rstrip('"')).name: s for s in load_action()["runs"]["steps"] if "run" in s}
    assert set(steps) == {"install.sh", "check.sh"}
    for script, step in steps.items():
        read = set(re.findall(r"\$\{?(INPUT_\w+)", (ACTION_DIR / script).read_text()))
        assert read == set(step["env"]), script


def test_history_is_restored_before_the_tests_and_saved_after_a_red_build():
    steps = load_action()["runs"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses.index("actions/cache/restore") < [s.get("id") for s in steps].index("check") < uses.index("actions/cache/save")
    restore, save = steps[uses.index("actions/cache/restore")], steps[uses.index("actions/cache/save")]
    assert restore["with"]["path"] == save["with"]["path"]
    assert save["with"]["key"] == "${{ steps.history.outputs.cache-primary-key }}"
    assert "!cancelled()" in save["if"]  # a red build's runs are the most telling ones
    prefixes = restore["with"]["restore-keys"].splitlines()
    assert prefixes and all(restore["with"]["key"].startswith(p) for p in prefixes)


class ActionsCache:
    """actions/cache as its README describes it: a key is saved once (a second save of it fails);
    restore takes the exact key, else the newest cache whose key starts with a restore-keys
    line, tried in order. Expressions are filled from the job's ``github`` context and the
    action's inputs; the save step's key is the restore step's ``cache-primary-key``."""

    def __init__(self) -> None:
        self.saved: Dict[str, str] = {}  # key -> what was saved, oldest first

    @staticmethod
    def render(text: str, github: Dict[str, str], inputs: Dict[str, str]) -> str:
        def value(match: re.Match) -> str:
            scope, _, name = match.group(1).partition(".")
            return {"github": github, "inputs": inputs}[scope][name]

        return EXPRESSION.sub(value, text)

    def run(self, github: Dict[str, str], content: str) -> Optional[str]:
        """One job's restore, then its save of ``content``; what the restore found."""
        steps = load_action()["runs"]["steps"]
        (restore,) = [s for s in steps if s.get("uses", "").startswith("actions/cache/restore@")]
        inputs = {name: str(spec.get("default", "")) for name, spec in load_action()["inputs"].items()}
        key = self.render(restore["with"]["key"], github, inputs)
        found = self.saved.get(key)
        for prefix in self.render(restore["with"]["restore-keys"], github, inputs).splitlines():
            if found is None:
                found = next((c for k, c in reversed(self.saved.items()) if k.startswith(prefix)), None)
        self.saved.setdefault(key, content)
        return found


def test_two_jobs_of_a_workflow_each_restore_their_own_history():
    """Two jobs of one workflow run the action with the history on (unit and integration
    tests): each must get back the history it saved. Under one key for both, in one run the
    second save failed, and the next run restored one job's history for both: the other's tests
    were all missing, taken for new tests and rerun, and no thresholds were learnt for them."""
    cache = ActionsCache()
    for run_id, order in (("101", ("unit", "integration")), ("102", ("integration", "unit"))):
        for job in order:
            github = {"job": job, "ref_name": "main", "run_id": run_id, "run_attempt": "1"}
            restored = cache.run(github, f"{job} history of run {run_id}")
            if run_id == "102":
                assert restored == f"{job} history of run 101"


# -- the action's steps, run as the runner runs them ----------------------------------------


class Runner:
    """Runs the composite action's ``run`` steps with ``with:`` values, as the runner would:
    each step's env rendered from the inputs, GitHub's files in a folder, PATH grown by
    GITHUB_PATH. ``uses:`` steps (the cache) are GitHub's own and are not run."""

    def __init__(self, tmp_path: Path, workdir: Path) -> None:
        self.tmp = tmp_path
        self.workdir = workdir
        self.env = github_env(tmp_path, GITHUB_ACTION_PATH=str(ACTION_DIR), GITHUB_WORKSPACE=str(workdir))
        (tmp_path / "runner_temp").mkdir()

    def render(self, text: str, inputs: Dict[str, str]) -> str:
        def value(match: re.Match) -> str:
            expression = match.group(1)
            if expression.startswith("inputs."):
                return inputs[expression[len("inputs."):]]
            raise AssertionError(f"expression this runner cannot evaluate: {expression}")

        return EXPRESSION.sub(value, text)

    def run(self, with_: Dict[str, str], path_prefix: Optional[str] = None) -> subprocess.CompletedProcess:
        action = load_action()
        inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
        unknown = set(with_) - set(inputs)
        assert not unknown, unknown
        inputs.update(with_)
        path = self.env["PATH"] if path_prefix is None else path_prefix + os.pathsep + self.env["PATH"]
        result = None
        for step in action["runs"]["steps"]:
            if "run" not in step:
                continue
            extra = Path(self.env["GITHUB_PATH"])
            added = extra.read_text().split() if extra.exists() else []
            env = {**self.env, "PATH": os.pathsep.join([*added, path])}
            env.update({key: self.render(str(value), inputs) for key, value in step["env"].items()})
            result = subprocess.run(
                ["bash", "-e", "-c", step["run"]], cwd=self.workdir, env=env, capture_output=True, text=True, timeout=300,
            )
            if result.returncode != 0:
                return result
        assert result is not None
        return result

    def outputs(self) -> Dict[str, str]:
        path = self.tmp / "github_output"
        return read_outputs(path) if path.exists() else {}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project(tmp_path / "ws")
    proj.write("test_app.py", "def test_ok():\n    pass\n\ndef test_flaky():\n" + flaky_body("flaky", [1]))
    return proj


def junit_flaky_on_path(tmp_path: Path) -> str:
    """A junit-flaky script on PATH that runs this checkout's package, as install.sh would leave one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "junit-flaky"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m junit_flaky "$@"\n')
    script.chmod(0o755)
    return str(bin_dir)


def test_the_action_runs_the_tests_and_a_flaky_failure_passes_the_job(tmp_path, project):
    runner = Runner(tmp_path, project.root)
    runner.env.update(project.env())
    runner.env.update(GITHUB_OUTPUT=str(tmp_path / "github_output"))
    result = runner.run(
        {
            "reports": "results/*.xml",
            "test-command": f"{sys.executable} -m pytest -q -p no:cacheprovider --junitxml=results/junit.xml",
            "max-runs": "3",
            "flakybot": "false",
            "rerun-command": f"{sys.executable} -m pytest -p no:cacheprovider",
        },
        path_prefix=junit_flaky_on_path(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The test command exited 1" in result.stdout
    assert "::warning file=test_app.py,line=7,title=flaky%3A test_app%3A%3Atest_flaky::flaky (1 failed attempt): AssertionError: run 1 fails%0A" in result.stdout
    assert runner.outputs() == {"failed": "0", "flaky": "1", "report": "junit-flaky.xml"}
    assert "### Flaky (1)" in (tmp_path / "step_summary").read_text()
    assert project.runs("flaky") == 2


def test_the_exit_code_of_an_earlier_test_step_decides_a_partial_report(tmp_path, project):
    project.pytest(report="results/junit.xml")  # the user's own step, which was interrupted
    runner = Runner(tmp_path, project.root)
    runner.env.update(project.env())
    runner.env.update(GITHUB_OUTPUT=str(tmp_path / "github_output"))
    result = runner.run(
        {"reports": "results/junit.xml", "test-exit-code": "2", "max-runs": "3", "flakybot": "false",
         "rerun-command": f"{sys.executable} -m pytest -p no:cacheprovider"},
        path_prefix=junit_flaky_on_path(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--test-exit-code 2" in result.stdout
    assert runner.outputs()["report"] == "junit-flaky.xml"


def test_a_test_command_that_wrote_no_report_fails_with_its_own_code(tmp_path, project):
    runner = Runner(tmp_path, project.root)
    result = runner.run({"reports": "results/*.xml", "test-command": "exit 4"}, path_prefix=junit_flaky_on_path(tmp_path))
    assert result.returncode == 4
    assert "the tests exited 4 and wrote no JUnit report" in result.stderr
    assert runner.outputs() == {}


def test_test_command_and_test_exit_code_together_are_a_usage_error(tmp_path, project):
    runner = Runner(tmp_path, project.root)
    result = runner.run(
        {"reports": "r.xml", "test-command": "true", "test-exit-code": "0"}, path_prefix=junit_flaky_on_path(tmp_path)
    )
    assert result.returncode == 2
    assert "give test-command or test-exit-code, not both" in result.stderr


def test_install_puts_the_actions_own_junit_flaky_on_path_and_reruns_with_the_tests_python(tmp_path, project):
    """install.sh with a recording Python: it builds a venv, pip-installs this repository (the
    action's own ref), and only the junit-flaky script reaches GITHUB_PATH; check.sh then reruns
    with the tests' Python, since the venv has no pytest."""
    record = tmp_path / "record"
    fake_python = tmp_path / "fake-python"
    fake_python.write_text(
        "#!/bin/bash\n"
        f'echo "python $*" >> "{record}"\n'
        'if [[ "$1 $2" == "-m venv" ]]; then\n'
        '  mkdir -p "$3/bin"; cp "$0" "$3/bin/python"\n'
        f'  printf \'#!/bin/sh\\necho "junit-flaky $*" >> "{record}"\\n\' > "$3/bin/junit-flaky"; chmod +x "$3/bin/junit-flaky"\n'
        "fi\n"
    )
    fake_python.chmod(0o755)
    project.write("results/junit.xml", '<testsuite><testcase classname="c" name="t"/></testsuite>')
    runner = Runner(tmp_path, project.root)
    path = os.pathsep.join(p for p in runner.env["PATH"].split(os.pathsep) if not (Path(p) / "junit-flaky").exists())
    runner.env["PATH"] = path
    result = runner.run({"reports": "results/junit.xml", "test-exit-code": "0", "python": str(fake_python)})
    assert result.returncode == 0, result.stdout + result.stderr
    home = tmp_path / "runner_temp" / "junit-flaky-action"
    lines = record.read_text().splitlines()
    assert lines[1] == f"python -m venv {home}/venv"
    assert lines[2] == f"python -m pip install --quiet --disable-pip-version-check {REPO}"
    assert (tmp_path / "github_path").read_text() == f"{home}/bin\n"
    assert lines[3].startswith("junit-flaky run results/junit.xml --output junit-flaky.xml --test-exit-code 0")
    assert lines[3].endswith(f"--upload github-actions -- {fake_python} -m pytest")


def test_every_input_reaches_junit_flaky(tmp_path, project):
    project.write("r/a.xml", '<testsuite><testcase classname="c" name="t"/></testsuite>')
    record = tmp_path / "argv"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "junit-flaky").write_text(
        f'#!/bin/bash\nprintf "%s\\n" "$@" > "{record}"\n'
        f'env | grep -E "^(JUNIT_FLAKY_)?(AVIATOR_API|BUILDKITE_ANALYTICS)_TOKEN=" | sort >> "{record}"\n'
    )
    (bin_dir / "junit-flaky").chmod(0o755)
    runner = Runner(tmp_path, project.root)
    inputs = {
        "reports": "r/*.xml\nother/**/*.xml",
        "test-exit-code": "1",
        "output": "out/flaky.xml",
        "json": "out/verdicts.json",
        "thresholds": "ci/thresholds.toml",
        "min-passes": "2",
        "max-runs": "5",
        "rerun": "false",
        "flakybot": "false",
        "rerun-command": "python -m pytest -p no:cacheprovider",
        "rootdir": "src",
        "workers": "4",
        "rerun-timeout": "120",
        "max-reruns-total": "0",
        "upload": "github-actions aviator",
        "strict-upload": "true",
        "thresholds-from-history": "true",
        "record-history": "true",
        "history-db": "ci/history.sqlite",
        "quarantine-file": "ci/quarantine.toml",
        "auto-quarantine": "true",
        "fail-on-flake-regression": "true",
        "new-test-runs": "8",
        "new-test-budget": "120.5",
        "allow-new-flaky": "true",
        "fail-on-flaky": "true",
        "codeowners": ".github/OWNERS",
        "aviator-api-token": "from-input-aviator",
        "buildkite-analytics-token": "from-input-test-engine",
    }
    result = runner.run(inputs, path_prefix=str(bin_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert record.read_text().splitlines() == [
        "run", "r/*.xml", "other/**/*.xml", "--output", "out/flaky.xml", "--test-exit-code", "1",
        "--thresholds", "ci/thresholds.toml", "--min-passes", "2", "--max-runs", "5",
        "--json", "out/verdicts.json", "--rootdir", "src", "--workers", "4", "--rerun-timeout", "120",
        "--max-reruns-total", "0", "--no-rerun", "--no-flakybot", "--thresholds-from-history",
        "--record-history", "--history-db", "ci/history.sqlite",
        "--quarantine-file", "ci/quarantine.toml", "--auto-quarantine", "--fail-on-flake-regression", "--new-test-runs", "8", "--new-test-budget", "120.5",
        "--allow-new-flaky", "--fail-on-flaky", "--codeowners", ".github/OWNERS", "--upload", "github-actions",
        "--upload", "aviator", "--strict-upload", "--", "python", "-m", "pytest", "-p", "no:cacheprovider",
        # junit-flaky's own names: its reruns never see them, as the tests never saw the inputs.
        "JUNIT_FLAKY_AVIATOR_API_TOKEN=from-input-aviator", "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN=from-input-test-engine",
    ]  # fmt: skip


def test_the_readme_documents_every_input_and_output():
    readme = (ACTION_DIR / "README.md").read_text(encoding="utf-8")
    action = load_action()
    missing = [name for name in [*action["inputs"], *action["outputs"]] if f"`{name}`" not in readme]
    assert not missing


@pytest.mark.parametrize("readme", [ACTION_DIR / "README.md", REPO / "README.md"], ids=["action", "project"])
def test_the_readme_examples_are_valid_workflows(tmp_path, readme):
    blocks = re.findall(r"```yaml\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    workflows = [block for block in blocks if "jobs:" in block and "/ci-templates/github@" in block]
    assert workflows
    for number, block in enumerate(workflows):
        path = tmp_path / f"workflow-{number}.yml"
        path.write_text(block)
        result = check_jsonschema("--builtin-schema", "vendor.github-workflows", str(path))
        assert result.returncode == 0, block + result.stdout
        steps = [s for job in yaml.safe_load(block)["jobs"].values() for s in job["steps"]]
        for step in steps:
            if step.get("uses", "").split("@")[0].endswith("/junit-flaky/ci-templates/github"):
                assert set(step.get("with", {})) <= set(load_action()["inputs"])
                assert "reports" in step["with"]



def test_token_inputs_reach_neither_the_test_command_nor_the_reruns(tmp_path):
    """A token given as an input is junit-flaky's alone: the tests and their reruns must not find
    it in any variable, INPUT_* ones included (buildkite-test-collector or a test's own logging
    would otherwise hold a secret it was not given)."""
    proj = Project(tmp_path / "ws")
    seen = tmp_path / "seen"
    proj.write(
        "test_app.py",
        "import os\n\ndef test_flaky():\n"
        f"    with open({str(seen)!r}, 'a') as out:\n"
        "        out.write(''.join(f'{k}\\n' for k, v in os.environ.items() if 'from-input' in v) + 'ran\\n')\n"
        + flaky_body("flaky", [1]),
    )
    runner = Runner(tmp_path, proj.root)
    runner.env.update(proj.env())
    result = runner.run(
        {
            "reports": "results/*.xml",
            "test-command": f"{sys.executable} -m pytest -q -p no:cacheprovider --junitxml=results/junit.xml",
            "max-runs": "3",
            "flakybot": "false",
            "upload": "",
            "rerun-command": f"{sys.executable} -m pytest -p no:cacheprovider",
            "aviator-api-token": "from-input-aviator-0123",
            "buildkite-analytics-token": "from-input-test-engine-0123",
        },
        path_prefix=junit_flaky_on_path(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert proj.runs("flaky") == 2  # the first run and its rerun
    assert seen.read_text() == "ran\nran\n"
