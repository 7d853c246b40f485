"""Where the quarantine file is: ``--quarantine-file``/``--file``, then $JUNIT_FLAKY_QUARANTINE_FILE,
then ``quarantine-file`` in ``[tool.junit-flaky]`` (relative to that pyproject.toml), then
junit-flaky-quarantine.toml beside the nearest pyproject.toml, else in the folder the command
starts from: the project's root, where a file meant to be committed and reviewed belongs."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

DEFAULT_NAME = "junit-flaky-quarantine.toml"
ENV_VAR = "JUNIT_FLAKY_QUARANTINE_FILE"
CONFIG_KEY = "quarantine-file"
HELP = (
    f"The quarantine file (default: ${ENV_VAR}, then {CONFIG_KEY} in pyproject.toml, then {DEFAULT_NAME}"
    " beside the nearest pyproject.toml, else in the current directory)."
)


def resolve_path(option: Optional[str], env: Mapping[str, str], start: Path) -> Path:
    """The quarantine file's path; ``start`` is where pyproject.toml is looked for."""
    if option:
        return Path(option).expanduser()
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]).expanduser()
    from junit_flaky import config  # the CLI imports this module for HELP, before any command runs

    table, _ = config.load(start)  # checks that quarantine-file is a path
    pyproject = config.find_pyproject(start)
    folder = pyproject.parent if pyproject is not None else start
    value = table.get(CONFIG_KEY)
    return folder / Path(value).expanduser() if value else folder / DEFAULT_NAME
