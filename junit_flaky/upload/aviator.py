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
from junit_flaky.upload.context import Context
from junit_flaky.http_client import expect_success, host_of
from junit_flaky.upload.reports import Report
from junit_flaky.verdicts import plural

DEFAULT_URL = "https://upload.aviator.co/api/test-report-uploader"
URL_VAR = "AVIATOR_UPLOAD_URL"
TOKEN_VAR = tokens.AVIATOR
PROVIDERS = {"circleci": "circleci", "buildkite": "buildkite", "github_actions": "github_action"}


def upload(reports: Sequence[Report], ctx: Context) -> str:
    token = ctx.token(TOKEN_VAR)
    provider = PROVIDERS.get(ctx.ci.provider)
    if provider is None:
        raise JunitFlakyError("Aviator takes uploads from CircleCI, Buildkite or GitHub Actions; none detected")
    url = ctx.env.get(URL_VAR) or DEFAULT_URL
    headers: Dict[str, bytes] = {"x-Aviator-Api-Key": token.encode()}
    headers.update((name, _header(value)) for name, value in metadata(ctx, provider).items())
    files = [("file[]", (report.path.name, report.path.read_bytes(), "application/xml")) for report in reports]
    expect_success(ctx.http.post(url, headers, files=files), TOKEN_VAR)
    return f"uploaded {plural(len(reports), 'report')} to {host_of(url)}"


def metadata(ctx: Context, provider: str) -> Dict[str, str]:
    ci = ctx.ci
    # GitHub's run id repeats across re-runs; the action keys a build by id and number.
    build_id = f"{ci.build_id}_{ci.build_number}" if provider == "github_action" else ci.build_id
    headers = {
        "Provider-Name": provider,
        "Job-Name": ci.label,
        "Build-URL": ci.build_url,
        "Build-ID": build_id,
        "Commit-Sha": ci.commit,
        # The orb sends https://github.com/<user>/<repo>; the real remote is better when known.
        "Repo-Url": ci.repo_url or (f"https://github.com/{ci.repo}" if ci.repo else ""),
        "Branch-Name": ci.branch,
    }
    if ci.workflow:
        headers["Workflow-Name"] = ci.workflow
    status = build_status(ctx.build_passed, ci.command_exit_status)
    if status:
        headers["Build-Status"] = status
    return headers


def build_status(build_passed: Optional[bool], exit_status: Optional[int]) -> str:
    """``success``/``failure`` from our verdict, else from the step's exit status (Buildkite's
    BUILDKITE_COMMAND_EXIT_STATUS, as Aviator's plugin does), else unknown (no header)."""
    passed = build_passed if build_passed is not None else (None if exit_status is None else exit_status == 0)
    if passed is None:
        return ""
    return "success" if passed else "failure"


def _header(value: str) -> bytes:
    """A header value as curl would send it: UTF-8 bytes (http.client would refuse non-Latin-1
    text, and a job label may well hold an emoji), on one line."""
    return " ".join(value.split()).encode("utf-8")
