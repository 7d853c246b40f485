"""What junit-flaky loads before it does anything: every command pays for the CLI's start, and
`run` pays for its own before the reruns' pytest starts. Checked by the modules loaded, not by
timing: the CLI imports only what typer needs to build the commands, and a command imports the
stages it runs, so a database, an HTTP client or a second XML library is loaded only when used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

from tests import junit_builders as jb

# Loaded only by the commands (or the steps of a run) that need them.
HEAVY_LIBRARIES = {"requests", "urllib3", "sqlite3", "lxml", "xml.sax.saxutils", "urllib.request", "http.client"}
STAGES = {
    "junit_flaky.pipeline", "junit_flaky.junit_read", "junit_flaky.junit_write", "junit_flaky.junit_attempts",
    "junit_flaky.reruns", "junit_flaky.report", "junit_flaky.progress", "junit_flaky.http_client",
    "junit_flaky.upload", "junit_flaky.config", "rich.table", "rich.progress",
}
HISTORY_AT_WORK = {"store", "learn", "choose", "record", "reports", "importer", "html", "stats"}
# All of junit-flaky that building the commands needs: their options' help texts and defaults.
AT_START = {
    "junit_flaky", "junit_flaky.__main__", "junit_flaky.entry", "junit_flaky.cli", "junit_flaky.cli_help", "junit_flaky.console",
    "junit_flaky.errors", "junit_flaky.tokens", "junit_flaky.flakybot", "junit_flaky.limits", "junit_flaky.history",
    "junit_flaky.history.commands", "junit_flaky.history.location", "junit_flaky.history.settings",
    "junit_flaky.history.estimate", "junit_flaky.quarantine_commands", "junit_flaky.quarantine_location",
}


def _all_loaded(argv: List[str], cwd: Path) -> List[str]:
    """The modules loaded by ``junit-flaky ARGV``, run in a fresh interpreter."""
    script = (
        "import json, sys\n"
        "from junit_flaky.entry import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AVIATOR_", "JUNIT_FLAKY_", "BUILDKITE"))}
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    return json.loads(done.stderr.splitlines()[-1])


def _loaded(argv: List[str], cwd: Path) -> List[str]:
    """The heavy modules of interest loaded by ``junit-flaky ARGV``."""
    modules = _all_loaded(argv, cwd)
    return sorted(
        m for m in modules
        if m.split(".")[0] in {"requests", "urllib3", "sqlite3", "lxml"} or m in HEAVY_LIBRARIES | STAGES
        or m.startswith("junit_flaky.upload.")
        or (m.startswith("junit_flaky.history.") and m.split(".")[2] in HISTORY_AT_WORK)
    )


def test_version_loads_no_stage_database_or_http_client(tmp_path: Path) -> None:
    assert _loaded(["--version"], tmp_path) == []


def test_version_loads_only_what_the_options_need(tmp_path: Path) -> None:
    ours = {m for m in _all_loaded(["--version"], tmp_path) if m.split(".")[0] == "junit_flaky"}
    assert sorted(ours - AT_START) == []


def test_help_loads_no_stage_database_or_http_client(tmp_path: Path) -> None:
    assert _loaded(["run", "--help"], tmp_path) == []


def test_a_run_loads_no_database_or_http_client_it_does_not_use(tmp_path: Path) -> None:
    report = jb.write(tmp_path / "report.xml", jb.testsuite(jb.testcase("test_ok")))
    loaded = _loaded(["run", str(report), "--no-rerun", "-o", str(tmp_path / "out.xml")], tmp_path)
    assert (tmp_path / "out.xml").is_file()
    assert not [m for m in loaded if m not in STAGES]


def test_a_run_without_a_terminal_loads_no_progress_bar(tmp_path: Path) -> None:
    # Logs get plain lines; rich's progress bar (and its live display) is for terminals only.
    report = jb.write(tmp_path / "report.xml", jb.testsuite(jb.testcase("test_ok")))
    loaded = _all_loaded(["run", str(report), "--no-rerun", "-o", str(tmp_path / "out.xml")], tmp_path)
    assert (tmp_path / "out.xml").is_file()
    assert "rich.progress" not in loaded and "rich.live" not in loaded


def test_an_upload_to_a_folder_loads_no_http_client(tmp_path: Path) -> None:
    # requests (about 50 ms) is for the targets that send a request, and then only when they do.
    report = jb.write(tmp_path / "report.xml", jb.testsuite(jb.testcase("test_ok")))
    loaded = _loaded(["upload", str(report), "--to", "circleci"], tmp_path)
    assert (tmp_path / "test-results" / "junit-flaky").is_dir()
    assert not [m for m in loaded if m.split(".")[0] in {"requests", "urllib3"} or m == "http.client"]


def test_a_run_starts_the_reruns_interpreter_before_loading_the_cli(tmp_path: Path) -> None:
    # The reruns' interpreter imports pytest while typer and rich load and parse run's options:
    # the first process run starts must start before any of them is loaded.
    report = jb.write(tmp_path / "report.xml", jb.testsuite(jb.testcase("test_ok")))
    script = (
        "import json, subprocess, sys\n"
        "loaded_at_each_start = []\n"
        "popen_init = subprocess.Popen.__init__\n"
        "def init(self, *args, **kwargs):\n"
        "    loaded_at_each_start.append(sorted(sys.modules))\n"
        "    popen_init(self, *args, **kwargs)\n"
        "subprocess.Popen.__init__ = init\n"
        "from junit_flaky.entry import main\n"
        "try:\n"
        f"    main(['run', {str(report)!r}, '-o', 'out.xml', '--no-flakybot'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(json.dumps(loaded_at_each_start[:1]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (tmp_path / "out.xml").is_file(), done.stderr
    [first] = json.loads(done.stderr.splitlines()[-1])
    assert [m for m in first if m.split(".")[0] in {"typer", "rich", "pydantic"} or m == "junit_flaky.cli"] == []
