"""Buildkite artifacts and annotations through the ``buildkite-agent`` CLI.

Inside a job the agent already holds the job's credentials, so these targets need no token.
Running it is one replaceable function, ``run_process``; it runs with the environment given to
``upload()``, which is where the agent finds its job and access token.

``JUNIT_FLAKY_ANNOTATION_CONTEXT`` overrides the annotation's context (default: one per step and
parallel job, see ``annotation_context``): an annotation replaces the previous one of the same
context, so steps that each run junit-flaky need contexts of their own.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote

from junit_flaky.ci_env import detect
from junit_flaky.errors import JunitFlakyError
from junit_flaky.upload import annotation
from junit_flaky.upload.context import Context
from junit_flaky.upload.reports import Report
from junit_flaky.verdicts import plural

AGENT = "buildkite-agent"
AGENT_TIMEOUT = 300.0  # an artifact upload of a big report over a slow link
CONTEXT = "junit-flaky"
CONTEXT_VAR = "JUNIT_FLAKY_ANNOTATION_CONTEXT"
MAX_CONTEXT = 100  # characters buildkite-agent annotate takes in --context
# What makes the agent read a path as more than a file: its glob syntax (zzglob's tokeniser:
# * ? [ {, a leading ~, the extended globs @( +( !( and the escape \ ) and the ';' it splits
# paths at. On Windows, where \ separates, zzglob escapes nothing (its parseopts.go).
_GLOB = re.compile(r"[*?[{;]|[@+!]\(|^~")


def run_process(argv: Sequence[str], stdin: bytes, env: Mapping[str, str]) -> Tuple[int, str]:
    """Run a command to completion; its exit code and stderr (stdout is the agent's chatter)."""
    completed = subprocess.run(
        list(argv), input=stdin, env=dict(env), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, timeout=AGENT_TIMEOUT, check=False,
    )
    return completed.returncode, completed.stderr.decode("utf-8", "replace")


def upload_artifacts(reports: Sequence[Report], ctx: Context) -> str:
    """``buildkite-agent artifact upload <path>`` for each report."""
    for report in reports:
        _agent(ctx, ["artifact", "upload", *literal_options(str(report.path)), str(report.path)])
    names = ", ".join(artifact_name(report.path) for report in reports)
    return f"uploaded {plural(len(reports), 'artifact')}: {names}"


def literal_options(path: str, sep: str = os.sep) -> List[str]:
    """The options that make the agent upload ``path`` as it is, where it would read it as globs
    (internal/artifact/uploader.go): a glob that matches nothing uploads nothing and exits 0, so
    ``junit[py3.11].xml`` would be missing with no error. ``--literal`` and ``--delimiter`` came in
    agent v3.110.0: an older agent refuses them, an error, where it would have uploaded nothing.
    ``sep`` is the platform's path separator: \\ escapes only where it is not one."""
    escapes = sep == "/" and "\\" in path
    if not _GLOB.search(path) and not escapes:
        return []  # as every agent takes it
    return ["--literal", *(["--delimiter", ""] if ";" in path else [])]


def annotate(reports: Sequence[Report], ctx: Context) -> str:
    """``buildkite-agent annotate`` with the Markdown summary on stdin."""
    links: List[Optional[str]] = [
        artifact_url(report.path, ctx.artifact_base) if ctx.artifact_base else None for report in reports
    ]
    note = annotation.for_ci(list(zip(reports, links)), ctx)
    context = annotation_context(ctx.env)
    body = note.markdown.encode("utf-8")
    _agent(ctx, ["annotate", "--context", context, "--style", note.style], stdin=body)
    return f"annotated the build (context {context}, style {note.style}, {len(body) / 1024:.1f} KiB)"


def annotation_context(env: Mapping[str, str]) -> str:
    """``JUNIT_FLAKY_ANNOTATION_CONTEXT``, else ``junit-flaky-<step>[-<parallel job>]``: the step
    is its key, else its label as a slug, else its id. The agent takes at most 100 characters
    (clicommand/annotate.go); the step's part is cut so the job's number stays."""
    if env.get(CONTEXT_VAR):
        return env[CONTEXT_VAR]
    step = env.get("BUILDKITE_STEP_KEY") or _slug(env.get("BUILDKITE_LABEL", "")) or env.get("BUILDKITE_STEP_ID", "")
    job = detect(env).parallel_index
    suffix = f"-{job}" if job is not None else ""
    return f"{CONTEXT}-{step}"[: MAX_CONTEXT - len(suffix)].rstrip("-") + suffix


def _slug(text: str) -> str:
    """``:pytest: Unit tests (3.11)`` -> ``pytest-unit-tests-3-11``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def artifact_name(path: Path) -> str:
    """The path the agent records for an uploaded file, as its uploader computes it
    (buildkite/agent internal/artifact/uploader.go): an absolute path relative to "/", a relative
    one relative to the working directory."""
    base = "/" if path.is_absolute() else os.getcwd()
    return Path(os.path.relpath(os.path.abspath(path), base)).as_posix()


def artifact_url(path: Path, base: str) -> str:
    """Where a report's artifact is found: ``base`` + its artifact path. ``artifact://`` is the
    base Buildkite resolves to the build's own artifacts in annotations."""
    return (base if base.endswith("/") else base + "/") + quote(artifact_name(path))


def _agent(ctx: Context, args: List[str], stdin: bytes = b"") -> None:
    """Run one agent command; a JunitFlakyError with one line when it cannot run or fails."""
    command = f"{AGENT} {args[0]}"
    try:
        code, stderr = ctx.run([AGENT, *args], stdin, ctx.env)
    except FileNotFoundError:
        raise JunitFlakyError(f"{AGENT} is not on PATH: this target runs inside a Buildkite job") from None
    except subprocess.TimeoutExpired:
        raise JunitFlakyError(f"{command} did not finish within {AGENT_TIMEOUT:g}s") from None
    except OSError as exc:
        raise JunitFlakyError(f"cannot run {AGENT}: {exc.strerror}") from None
    if code != 0:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        detail = f": {lines[-1][:300]}" if lines else ""
        raise JunitFlakyError(f"{command} exited with {code}{detail}")
