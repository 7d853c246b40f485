"""Buildkite Test Engine: the results as JUnit, every attempt a result of its own.

``POST https://analytics-api.buildkite.com/v1/uploads`` (multipart), or the URL in
``BUILDKITE_TEST_ENGINE_URL`` (a proxy, a regional endpoint, a test server), with
``Authorization: Token token="$BUILDKITE_ANALYTICS_TOKEN"``, the fields ``format=junit`` and
``run_env[...]`` from the CI (Buildkite, CircleCI or GitHub Actions, as Buildkite's collectors
read each; "generic" elsewhere, with GitLab's pipeline), and the file in ``data``. Test Engine
answers 202 with JSON that holds the ``run_url``, and the results it ``skipped`` with its
``errors``: an upload that lost results is a failed upload, although every file went through.

The file sent is not the file on disk but its executions (``upload.executions``): Test Engine
flags a test "passed on retry" only when it sees both a failing and a passing execution in one
commit. Test Engine also takes at most 5000 results per upload, so the executions go in several
files that share ``run_env[key]`` and so join one run.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Mapping, Sequence

from junit_flaky import __version__, tokens
from junit_flaky.ci_env import CIInfo
from junit_flaky.errors import JunitFlakyError
from junit_flaky.upload.context import Context
from junit_flaky.upload.executions import split
from junit_flaky.http_client import check_url, expect_success, host_of
from junit_flaky.upload.reports import Report
from junit_flaky.verdicts import plural

DEFAULT_URL = "https://analytics-api.buildkite.com/v1/uploads"
URL_VAR = "BUILDKITE_TEST_ENGINE_URL"
TOKEN_VAR = tokens.TEST_ENGINE
MESSAGE_VAR = "TEST_ANALYTICS_COMMIT_MESSAGE"  # the commit message where the CI gives none
# What each CI's run key is made of; Test Engine joins the uploads that share a key into one run.
KEY_VARS = {
    "buildkite": "BUILDKITE_BUILD_ID",
    "circleci": "CIRCLE_WORKFLOW_ID and CIRCLE_BUILD_NUM",
    "github_actions": "GITHUB_ACTION, GITHUB_RUN_NUMBER and GITHUB_RUN_ATTEMPT",
    "gitlab": "CI_PIPELINE_ID",
}
# What a CI gives of a run in Buildkite's own variables, over what junit-flaky finds: Buildkite's
# "CI environments" docs ("Other CI providers": a CI Test Engine does not know sets them), read on
# every CI as test-collector-ruby's ci.rb and test-collector-javascript's ci.js read them.
ANALYTICS_VARS = {
    "key": "BUILDKITE_ANALYTICS_KEY", "url": "BUILDKITE_ANALYTICS_URL", "branch": "BUILDKITE_ANALYTICS_BRANCH",
    "commit_sha": "BUILDKITE_ANALYTICS_SHA", "number": "BUILDKITE_ANALYTICS_NUMBER",
    "job_id": "BUILDKITE_ANALYTICS_JOB_ID", "message": "BUILDKITE_ANALYTICS_MESSAGE",
}
MAX_RESULTS = 5000
COLLECTOR = "junit-flaky"


def upload(reports: Sequence[Report], ctx: Context) -> str:
    token = ctx.token(TOKEN_VAR)
    fields = run_env(ctx.ci, ctx.env)  # once: every file of this upload joins one run by its key
    files = sent = 0
    run_url = ""
    dropped = _Dropped()
    for files, (content, results) in enumerate(split(reports, MAX_RESULTS), 1):
        try:
            answer = _post(ctx, token, fields, content, files)
        except JunitFlakyError as exc:
            where = f"file {files}: " if files > 1 else ""
            before = f" ({plural(sent, 'result')} sent before)" if sent else ""
            raise JunitFlakyError(f"{where}{exc}{before}") from None
        run_url = str(answer.get("run_url") or "") or run_url
        dropped.add(answer)
        sent += results
    if not files:
        return "no test results to send"
    run = f"; run: {run_url}" if run_url else ""
    if dropped:
        raise JunitFlakyError(f"Test Engine skipped {dropped.skipped} of {plural(sent, 'result')}: {dropped}{run}")
    return f"sent {plural(sent, 'result')} in {plural(files, 'file')}{run}"


def _post(ctx: Context, token: str, fields: Dict[str, str], content: bytes, index: int) -> Dict[str, Any]:
    """Send one file; Test Engine's answer."""
    url = check_url(ctx.env.get(URL_VAR) or DEFAULT_URL, URL_VAR)
    headers = {"Authorization": f'Token token="{token}"'}
    files = [("data", (f"junit-{index}.xml", content, "application/xml"))]
    answer = ctx.http.post(url, headers, data={"format": "junit", **fields}, files=files)
    expect_success(answer, tokens.source(ctx.env, TOKEN_VAR))
    body = answer.json()
    if not isinstance(body, dict):
        raise JunitFlakyError(f"{host_of(url)} answered HTTP {answer.status} without Test Engine's JSON")
    return body


class _Dropped:
    """What Test Engine did not take although it answered 202: its ``skipped`` count and
    ``errors`` list (``{"queued", "skipped", "errors", "run_url"}``, the upload API's answer in
    Buildkite's "Importing JUnit XML" docs). Those results are lost as surely as in a refused
    upload, so they make the upload a failure."""

    def __init__(self) -> None:
        self.skipped = 0
        self.errors: List[str] = []

    def add(self, answer: Dict[str, Any]) -> None:
        skipped = answer.get("skipped")
        self.skipped += skipped if isinstance(skipped, int) and not isinstance(skipped, bool) else 0
        errors = answer.get("errors") or []
        for error in errors if isinstance(errors, list) else [errors]:
            text = error if isinstance(error, str) else json.dumps(error)
            self.errors.append(" ".join(text.split()) or "an empty error")

    def __bool__(self) -> bool:
        return bool(self.skipped or self.errors)

    def __str__(self) -> str:
        if not self.errors:
            return "no reason given"
        more = f" (and {plural(len(self.errors) - 1, 'more error')})" if len(self.errors) > 1 else ""
        return f"{self.errors[0][:200]}{more}"


def run_env(ci: CIInfo, env: Mapping[str, str]) -> Dict[str, str]:
    """The ``run_env[...]`` fields for this CI, as Buildkite's collectors send them
    (test-collector-python ``collector/run_env.py``: Buildkite, GitHub Actions, CircleCI, else
    "generic" with a fresh UUID for a key). GitHub's branch is its name, not its ref, as
    test-collector-ruby sends it; its URL starts at ``GITHUB_SERVER_URL``.

    GitLab CI, which Test Engine has no name for, is "generic" with its pipeline's facts in the
    fields a Buildkite build fills: the commit is what Test Engine finds flaky tests by
    (``run_env[commit_sha]``, Buildkite's "CI environments" docs), and the pipeline id keys the run,
    so that the parallel jobs of one pipeline join one run, as a Buildkite build's do. On every CI,
    the ``BUILDKITE_ANALYTICS_*`` variables (``ANALYTICS_VARS``) that are set win."""
    message = env.get(MESSAGE_VAR, "")
    if ci.provider in ("buildkite", "gitlab"):
        fields = {
            "CI": "buildkite" if ci.provider == "buildkite" else "generic",
            "key": ci.build_id, "url": ci.build_url, "branch": ci.branch,
            "commit_sha": ci.commit, "number": ci.build_number, "job_id": ci.job_id, "message": ci.message,
        }
    elif ci.provider == "circleci":
        key = f"{ci.workflow_id}-{ci.build_number}" if ci.workflow_id and ci.build_number else ""
        fields = {
            "CI": "circleci", "key": key, "url": ci.build_url, "branch": ci.branch,
            "commit_sha": ci.commit, "number": ci.build_number, "message": message,
        }
    elif ci.provider == "github_actions":
        # GITHUB_RUN_ATTEMPT is retry_count + 1; the run number repeats across attempts.
        key = f"{ci.step_id}-{ci.build_number}-{ci.retry_count + 1}" if ci.step_id and ci.build_number else ""
        fields = {
            "CI": "github_actions", "key": key, "url": ci.build_url, "branch": ci.branch,
            "commit_sha": ci.commit, "number": ci.build_number, "message": message,
        }
    else:
        fields = {"CI": "generic", "key": str(uuid.uuid4())}
    fields.update((name, env[var]) for name, var in ANALYTICS_VARS.items() if env.get(var))
    if not fields["key"]:
        needs = f"{KEY_VARS[ci.provider]} (or {ANALYTICS_VARS['key']})"
        raise JunitFlakyError(f"Test Engine keys a run by {needs}: not set")
    # Who sent the run, as every official collector says (test-collector-python's run_env.py,
    # test-engine-client's upload_test_results.go).
    fields.update(collector=COLLECTOR, version=__version__)
    return {f"run_env[{name}]": value for name, value in fields.items() if value}
