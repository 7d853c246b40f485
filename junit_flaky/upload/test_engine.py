"""Buildkite Test Engine: the results as JUnit, every attempt a result of its own.

``POST https://analytics-api.buildkite.com/v1/uploads`` (multipart), or the URL in
``BUILDKITE_TEST_ENGINE_URL`` (a proxy, a regional endpoint, a test server), with
``Authorization: Token token="$BUILDKITE_ANALYTICS_TOKEN"``, the fields ``format=junit`` and
``run_env[...]`` from the CI (Buildkite, CircleCI or GitHub Actions, as Buildkite's collectors
read each; "generic" elsewhere), and the file in ``data``. Test Engine answers 202 with
JSON that holds the ``run_url``, and the results it ``skipped`` with its ``errors``: an upload
that lost results is a failed upload, although every file went through.

The file sent is not the file on disk. Test Engine reads ``<testcase>`` elements and knows nothing
of Surefire's ``<flakyFailure>``/``<rerunFailure>``: sent as is, a flaky test would reach it as one
passing execution, and Test Engine flags a test "passed on retry" only when it sees both a failing
and a passing execution in one commit. So every recorded attempt becomes a ``<testcase>`` of its
own with the same classname and name. Test Engine also takes at most 5000 results per upload, so
the executions go in several files that share ``run_env[key]`` and so join one run.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, Iterator, List, Mapping, Sequence, Tuple

from junit_flaky import __version__, tokens
from junit_flaky.ci_env import CIInfo
from junit_flaky.errors import JunitFlakyError
from junit_flaky.junit_attempts import recorded_verdict
from junit_flaky.junit_element import Element
from junit_flaky.junit_read import Testcase
from junit_flaky.model import Verdict
from junit_flaky.upload.context import Context
from junit_flaky.http_client import expect_success, host_of
from junit_flaky.upload.reports import FINAL, FLAKY, RERUN, Report, trace
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
}
MAX_RESULTS = 5000
COLLECTOR = "junit-flaky"
# Counts describe the whole suite on disk; each file sent gets its own.
_SUITE_COUNTS = {"tests", "failures", "errors", "skipped", "flakes", "disabled", "time"}


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
    url = ctx.env.get(URL_VAR) or DEFAULT_URL
    headers = {"Authorization": f'Token token="{token}"'}
    files = [("data", (f"junit-{index}.xml", content, "application/xml"))]
    answer = ctx.http.post(url, headers, data={"format": "junit", **fields}, files=files)
    expect_success(answer, TOKEN_VAR)
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
    test-collector-ruby sends it; its URL starts at ``GITHUB_SERVER_URL``."""
    message = env.get(MESSAGE_VAR, "")
    if ci.provider == "buildkite":
        fields = {
            "CI": "buildkite", "key": ci.build_id, "url": ci.build_url, "branch": ci.branch,
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
    if not fields["key"]:
        raise JunitFlakyError(f"Test Engine keys a run by {KEY_VARS[ci.provider]}: not set")
    # Who sent the run, as every official collector says (test-collector-python's run_env.py,
    # test-engine-client's upload_test_results.go).
    fields.update(collector=COLLECTOR, version=__version__)
    return {f"run_env[{name}]": value for name, value in fields.items() if value}


def executions(case: Testcase) -> List[Element]:
    """One ``<testcase>`` per attempt, in the order they ran: a flaky test's failures then its
    pass; a failed test's first failure then its reruns. A quarantined failure goes as the one
    skipped result it is written as, so Test Engine counts no failure for it. Each copy declares
    the prefixes it uses and sits in no namespace, as Test Engine reads JUnit."""
    testcase = case.element
    final = _standalone(testcase.copy(), case.prefixes)
    final.children = [child for child in final.children if child.local not in FLAKY + RERUN]
    if recorded_verdict(testcase) is Verdict.QUARANTINED:
        return [final]
    attempts = [_attempt(final, element) for element in testcase.findall(*FLAKY, *RERUN)]
    return [final, *attempts] if testcase.findall(*FINAL) else [*attempts, final]


def _standalone(element: Element, prefixes: Dict[str, str]) -> Element:
    attrib = {key: value for key, value in element.attrib.items() if key != "xmlns"}
    element.attrib = {**prefixes, **attrib}
    return element


def _attempt(testcase: Element, element: Element) -> Element:
    """A flaky*/rerun* child as a testcase of its own with a plain <failure> or <error>."""
    case = Element(testcase.tag, {k: v for k, v in testcase.attrib.items() if k != "time"})
    if element.get("time"):
        case.attrib["time"] = element.get("time")
    tag = "error" if element.local.endswith("Error") else "failure"
    case.add(tag, trace(element), **{k: element.get(k) for k in ("message", "type") if element.get(k)})
    for name in ("system-out", "system-err"):
        output = element.find(name)
        if output is not None:
            case.children.append(output.copy())
    return case


def split(reports: Sequence[Report], limit: int) -> Iterator[Tuple[bytes, int]]:
    """The executions as JUnit documents of at most ``limit`` testcases each, with how many each
    holds, made one at a time as the reports stream by. Each testcase stays under a copy of its
    own suite's attributes."""
    chunk: List[Tuple[Dict[str, str], Element]] = []
    for report in reports:
        for testcase in report.testcases():
            for case in executions(testcase):
                chunk.append((testcase.suite, case))
                if len(chunk) == limit:
                    yield _document(chunk), len(chunk)
                    chunk = []
    if chunk:
        yield _document(chunk), len(chunk)


def _document(chunk: List[Tuple[Dict[str, str], Element]]) -> bytes:
    root = Element("testsuites")
    current_source = None
    suite = root
    for source, case in chunk:
        if source is not current_source:
            current_source = source
            attrs = {k: v for k, v in source.items() if k not in _SUITE_COUNTS and k != "xmlns"}
            suite = root.add("testsuite", name=source.get("name", ""))
            suite.attrib.update(attrs)
        suite.children.append(case)
    for suite in root.children:
        cases = suite.children
        suite.attrib["tests"] = str(len(cases))
        for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            suite.attrib[attribute] = str(sum(1 for case in cases if case.find(tag) is not None))
    return ("<?xml version='1.0' encoding='UTF-8'?>\n" + root.to_xml()).encode("utf-8")
