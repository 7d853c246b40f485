"""Aviator: the report files as they are, with the build's metadata in headers.

``POST https://upload.aviator.co/api/test-report-uploader`` (override: ``AVIATOR_UPLOAD_URL``),
multipart with the files as ``file[]`` and ``x-Aviator-Api-Key: $AVIATOR_API_TOKEN``, the
metadata headers filled the way Aviator's own CircleCI orb, GitHub action and Buildkite plugin
fill them.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

from junit_flaky import tokens
from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_attempts import recorded_verdict
from junit_flaky.model import Verdict
from junit_flaky.upload.context import Context
from junit_flaky.http_client import check_url, expect_success, host_of
from junit_flaky.upload.reports import Report
from junit_flaky.verdicts import plural

DEFAULT_URL = "https://upload.aviator.co/api/test-report-uploader"
URL_VAR = "AVIATOR_UPLOAD_URL"
TOKEN_VAR = tokens.AVIATOR
DEFAULT_JOB_NAME = "aviator"  # the plugin's ${BUILDKITE_LABEL:-aviator}
PROVIDERS = {"circleci": "circleci", "buildkite": "buildkite", "github_actions": "github_action"}


def upload(reports: Sequence[Report], ctx: Context) -> str:
    token = ctx.token(TOKEN_VAR)
    provider = PROVIDERS.get(ctx.ci.provider)
    if provider is None:
        raise JunitFlakyError("Aviator takes uploads from CircleCI, Buildkite or GitHub Actions; none detected")
    url = check_url(ctx.env.get(URL_VAR) or DEFAULT_URL, URL_VAR)
    headers: Dict[str, bytes] = {"x-Aviator-Api-Key": token.encode()}
    headers.update((name, _header(value)) for name, value in metadata(ctx, provider, reports).items())
    files = [("file[]", (report.path.name, report.path.read_bytes(), "application/xml")) for report in reports]
    expect_success(ctx.http.post(url, headers, files=files), tokens.source(ctx.env, TOKEN_VAR))
    return f"uploaded {plural(len(reports), 'report')} to {host_of(url)}"


def metadata(ctx: Context, provider: str, reports: Sequence[Report]) -> Dict[str, str]:
    """The headers Aviator's own uploaders send: its Buildkite plugin (``lib/upload.sh``), CircleCI
    orb (``src/scripts/upload.sh``) and GitHub action (``upload.sh``)."""
    ci = ctx.ci
    # GitHub's run id repeats across re-runs; the action keys a build by id and number.
    build_id = f"{ci.build_id}_{ci.build_number}" if provider == "github_action" else ci.build_id
    headers = {
        "Provider-Name": provider,
        "Job-Name": ci.label or DEFAULT_JOB_NAME,
        "Build-URL": ci.build_url,
        "Build-ID": build_id,
        "Commit-Sha": ci.commit,
        # https://github.com/OWNER/REPO as the orb and the action send it, whatever the remote.
        "Repo-Url": ci.repo_url,
        "Branch-Name": ci.branch,
        "Build-Status": build_status(ctx.build_passed, ci.command_exit_status, reports),
    }
    if ci.workflow:  # the plugin's pipeline slug, the action's workflow; the orb sends none
        headers["Workflow-Name"] = ci.workflow
    return headers


def build_status(build_passed: Optional[bool], exit_status: Optional[int], reports: Sequence[Report]) -> str:
    """``success``/``failure``, always sent (the orb and the plugin always send one): our verdict,
    else the step's exit status (Buildkite's BUILDKITE_COMMAND_EXIT_STATUS, as Aviator's plugin
    reads it), else whether the reports record a failed test."""
    if build_passed is None:
        build_passed = exit_status == 0 if exit_status is not None else not _any_failed(reports)
    return "success" if build_passed else "failure"


def _any_failed(reports: Sequence[Report]) -> bool:
    return any(recorded_verdict(case.element) is Verdict.FAILED for report in reports for case in report.testcases())


def _header(value: str) -> bytes:
    """A header value as curl would send it: UTF-8 bytes (http.client would refuse non-Latin-1
    text, and a job label may well hold an emoji), on one line."""
    return " ".join(value.split()).encode("utf-8")
