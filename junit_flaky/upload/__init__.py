"""The upload stage: send the aggregated report where people look at it.

``upload()`` runs each target and returns one outcome per target; a failing upload is an
outcome with ``ok=False`` and a one-line message, never an exception, because the build's
verdict is already decided and one broken destination must not cost the others.

Targets: ``buildkite-artifact`` and ``buildkite-annotation`` (the ``buildkite-agent`` CLI),
``buildkite-test-engine`` (``BUILDKITE_ANALYTICS_TOKEN``), ``aviator`` (``AVIATOR_API_TOKEN``; each
token also under junit-flaky's own name, ``JUNIT_FLAKY_`` before it: tokens.py),
``circleci`` (a folder for the orb's store steps), ``github-actions`` (the job summary, annotations
and outputs of a GitHub Actions step).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

from junit_flaky import tokens
from junit_flaky.ci_env import detect
from junit_flaky.codeowners import OwnerLookup
from junit_flaky.errors import JunitFlakyError
from junit_flaky.upload import aviator, buildkite_agent, circleci, github, reports as report_files, test_engine
from junit_flaky.upload.context import Context, Run
from junit_flaky.http_client import Http
from junit_flaky.upload.reports import Report

Sender = Callable[[Sequence[Report], Context], str]

# In the order they run: the annotation links to the artifacts uploaded just before it.
_SENDERS: Dict[str, Sender] = {
    "buildkite-artifact": buildkite_agent.upload_artifacts,
    "buildkite-annotation": buildkite_agent.annotate,
    "buildkite-test-engine": test_engine.upload,
    "aviator": aviator.upload,
    "circleci": circleci.upload,
    "github-actions": github.upload,
}
TARGETS = tuple(_SENDERS)


@dataclass(frozen=True)
class UploadOutcome:
    target: str
    ok: bool
    message: str  # one line for the user

    def __str__(self) -> str:
        return f"{self.target}: {self.message}"


def default_targets(env: Mapping[str, str]) -> List[str]:
    """The targets that fit the detected CI and the tokens present."""
    ci = detect(env)
    targets = []
    if ci.provider == "buildkite":
        targets += ["buildkite-artifact", "buildkite-annotation"]
    # Test Engine takes runs from any CI (run_env per CI); its token is set only to send there.
    if tokens.value(env, test_engine.TOKEN_VAR) and ci.is_ci and not _tests_upload_to_test_engine(env):
        targets.append("buildkite-test-engine")
    if ci.provider == "circleci":
        targets.append("circleci")
    if ci.provider == "github_actions":
        targets.append("github-actions")
    # Not from a laptop: AVIATOR_API_TOKEN is also set there to read Flakybot's thresholds.
    if tokens.value(env, aviator.TOKEN_VAR) and ci.provider in aviator.PROVIDERS:
        targets.append("aviator")
    return targets


def _tests_upload_to_test_engine(env: Mapping[str, str]) -> bool:
    """Whether the tests upload to Test Engine themselves: buildkite-test-collector is installed
    where junit-flaky runs, the Python its reruns use by default, and the token is set under the
    name the collector reads. pytest loads the collector by itself, and then it uploads every test
    it runs, reruns included, so sending them again would count each test twice. A token only
    under junit-flaky's own name reaches neither the tests nor their reruns: junit-flaky sends."""
    standard = env.get(test_engine.TOKEN_VAR, "").strip()
    return bool(standard) and importlib.util.find_spec("buildkite_test_collector") is not None


def upload(
    reports: Sequence[Union[Path, Report]],
    targets: Sequence[str],
    env: Mapping[str, str],
    *,
    build_passed: Optional[bool] = None,
    artifact_base: Optional[str] = None,
    http: Optional[Http] = None,
    run: Run = buildkite_agent.run_process,
    owners: Optional[OwnerLookup] = None,
) -> List[UploadOutcome]:
    """Send ``reports`` to each of ``targets``; one outcome per target, in ``TARGETS`` order.

    ``env`` is read for CI facts, tokens and overrides, and is the environment buildkite-agent
    runs in. ``build_passed`` is the build's verdict (Aviator's Build-Status). ``artifact_base``
    is a URL prefix under which the reports' artifacts are found, for links in the annotation;
    when this call uploads them with ``buildkite-artifact`` it is ``artifact://``.
    ``http`` and ``run`` are the network and subprocess seams. ``owners`` names each test's
    owners (CODEOWNERS) in the annotation and the job summary.
    """
    ordered = sorted(dict.fromkeys(targets), key=lambda t: TARGETS.index(t) if t in TARGETS else len(TARGETS))
    try:
        loaded = _load(reports)
    except JunitFlakyError as exc:
        return [UploadOutcome(target, False, f"nothing sent: {exc}") for target in ordered]
    ctx = Context(env, detect(env), http or Http(), run, build_passed, artifact_base, owners)
    outcomes = []
    for target in ordered:
        outcome = _send(target, loaded, ctx)
        # Redacted here too, not only when printed: ``env`` need not be os.environ.
        outcomes.append(dataclasses.replace(outcome, message=tokens.redact(outcome.message, env)))
        if target == "buildkite-artifact" and outcome.ok and artifact_base is None:
            ctx = dataclasses.replace(ctx, artifact_base="artifact://")
    return outcomes


def _load(paths: Sequence[Union[Path, Report]]) -> List[Report]:
    if not paths:
        raise JunitFlakyError("no report given")
    # A Report was checked when it was loaded (the upload command's input); a path is checked here.
    return [path if isinstance(path, Report) else report_files.load(Path(path)) for path in paths]


def _send(target: str, reports: List[Report], ctx: Context) -> UploadOutcome:
    sender = _SENDERS.get(target)
    if sender is None:
        return UploadOutcome(target, False, f"unknown target (known: {', '.join(TARGETS)})")
    try:
        return UploadOutcome(target, True, sender(reports, ctx))
    except JunitFlakyError as exc:
        return UploadOutcome(target, False, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug in one target must not cost the others
        return UploadOutcome(target, False, f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())}")
