"""What every rerun process starts from: its base command, and its environment with the plugin
copied onto its path.

The standard library and tokens.py only: ``run`` starts the rerun's interpreter (rerun_prestart)
from these before it loads anything else, so that the interpreter starts as early as it can.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Sequence

from junit_flaky import tokens

PLUGIN_MODULE = "junit_flaky_rerun"


def base_command(command: Sequence[str]) -> List[str]:
    """The command the reruns start, before the plugin's options and the test files."""
    return list(command) or [sys.executable, "-m", "pytest"]


def environment(workdir: Path) -> Dict[str, str]:
    """The reruns' environment, with the plugin copied into ``workdir``."""
    # Only the plugin file goes on the path, so the user's interpreter needs nothing of ours.
    plugin_dir = workdir / "plugin"
    plugin_dir.mkdir(exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("pytest_plugin.py"), plugin_dir / f"{PLUGIN_MODULE}.py")
    # The reruns see what the test step saw: not the tokens handed to junit-flaky alone.
    env = {name: value for name, value in os.environ.items() if name not in tokens.OWN_VARS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH", "")]))
    return env
