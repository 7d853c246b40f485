"""The bundled example, run for real as the README's first command runs it: the test step fails
test_sample_random, junit-flaky reruns it alone, sees it pass, reports it flaky and exits 0; and
so again on a second try, or after a try that was cut short."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_setup_commands import setup_commands

REPO = Path(__file__).resolve().parents[1]


def example_command() -> str:
    """The part of the README's first command that runs the example (after installing the tool)."""
    try_it, _ = setup_commands()
    match = re.search(r"\((cd examples/sample && .*)\)$", try_it)
    assert match, try_it
    return match.group(1)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("test_results", "__pycache__"))
    return tmp_path


def run_example(root: Path) -> subprocess.CompletedProcess:
    # This interpreter's bin first, where pip put python, pytest and junit-flaky.
    bin_dir = os.path.dirname(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AVIATOR_", "BUILDKITE", "CIRCLE", "GITHUB_", "JUNIT_FLAKY_", "PYTEST_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(["bash", "-c", example_command()], cwd=root, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.reruns
def test_the_readme_example_reruns_the_flaky_test_and_passes(checkout: Path) -> None:
    for attempt in (1, 2):  # and again: the demo does not depend on what ran before
        done = run_example(checkout)
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"^FLAKY\s+src\.test_sample\.TestSample::test_sample_random", done.stdout, re.M), done.stdout
        assert "1 flaky, 0 failed" in done.stdout
        assert (checkout / "examples" / "sample" / "test_results" / "final.xml").is_file()


@pytest.mark.reruns
def test_the_example_recovers_from_a_try_cut_short(checkout: Path) -> None:
    counter = checkout / "examples" / "sample" / "test_results" / "flaky-counter"
    counter.parent.mkdir(parents=True)
    counter.write_text("1")  # a test step that ran the flaky test, then was interrupted
    done = run_example(checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 flaky, 0 failed" in done.stdout
