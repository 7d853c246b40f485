"""CI detection in one place: which CI runs us and the build facts uploads and Flakybot need."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple


@dataclass(frozen=True)
class CIInfo:
    provider: str  # "buildkite" | "circleci" | "github_actions" | "gitlab" | "generic" | "local"
    build_id: str = ""
    build_number: str = ""
    build_url: str = ""
    job_id: str = ""
    job_name: str = ""  # Flakybot's job_name
    label: str = ""  # the human name of the job/step
    branch: str = ""
    commit: str = ""
    message: str = ""
    repo: str = ""  # "org/repo" as Flakybot keys it
    repo_url: str = ""  # https://HOST/OWNER/REPO, never a credential (Aviator's Repo-Url)
    parallel_index: Optional[int] = None
    parallel_count: Optional[int] = None
    retry_count: int = 0
    workflow: str = ""  # GitHub Actions' workflow name, Buildkite's pipeline slug (Aviator's Workflow-Name)
    workflow_id: str = ""  # CircleCI's CIRCLE_WORKFLOW_ID (Test Engine's run key)
    step_id: str = ""  # GitHub Actions' GITHUB_ACTION, the running step's id (Test Engine's run key)
    command_exit_status: Optional[int] = None  # Buildkite's, from the post-command hook on

    @property
    def is_ci(self) -> bool:
        return self.provider != "local"

    @property
    def known_commit(self) -> str:
        """The commit the build is of, as the history groups runs by commit: none for ``HEAD``,
        which Buildkite gives as BUILDKITE_COMMIT in every job of a build made without a commit (a
        schedule, the UI's New Build) and which names another commit in each such build. Uploads
        send ``commit`` as it is, as Buildkite's own collectors do."""
        return "" if self.commit == "HEAD" else self.commit


# scheme://[user[:password]@]host[:port]/path, and git's scp-like user@host:path
_URL_REMOTE = re.compile(r"^([\w.+-]+)://(?:[^@/]*@)?([^/]+)/(.*)$")
_SCP_REMOTE = re.compile(r"^()[^@/]+@([^:/]+):(.+)$")


def _remote(remote: str) -> Tuple[str, str, str]:
    """A git remote's scheme, host and path (``.git`` and empty segments dropped); a remote that
    is neither form is all path."""
    remote = re.sub(r"\.git/?$", "", remote.strip())
    match = _URL_REMOTE.match(remote) or _SCP_REMOTE.match(remote)
    scheme, host, path = match.groups() if match else ("", "", remote)
    return scheme, host, "/".join(part for part in path.split("/") if part)


def repo_slug(remote: str) -> str:
    """``git@github.com:org/repo.git`` or ``https://host/org/repo.git`` -> ``org/repo``."""
    return "/".join(_remote(remote)[2].split("/")[-2:])


def repo_web_url(remote: str) -> str:
    """``git@github.com:org/repo.git``, ``ssh://git@github.com:22/org/repo`` or
    ``https://token@github.com/org/repo.git`` -> ``https://github.com/org/repo``: the form
    Aviator's uploaders send (its CircleCI orb and GitHub action build
    ``https://github.com/OWNER/REPO``), with no credential and no ssh port; "" for a local path."""
    scheme, host, path = _remote(remote)
    if not host or not path:
        return ""
    if scheme not in ("http", "https"):
        host = host.split(":")[0]
    return f"https://{host}/{path}"


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def detect(env: Mapping[str, str]) -> CIInfo:
    """Read the CI facts from an environment; Buildkite wins over CircleCI, as pytest-aviator did."""
    if env.get("BUILDKITE_PIPELINE_SLUG") or env.get("BUILDKITE") == "true":
        repo_url = env.get("BUILDKITE_REPO", "")
        return CIInfo(
            provider="buildkite",
            build_id=env.get("BUILDKITE_BUILD_ID", ""),
            build_number=env.get("BUILDKITE_BUILD_NUMBER", ""),
            build_url=env.get("BUILDKITE_BUILD_URL", ""),
            job_id=env.get("BUILDKITE_JOB_ID", ""),
            job_name="buildkite/" + env.get("BUILDKITE_PIPELINE_SLUG", ""),
            label=env.get("BUILDKITE_LABEL", ""),
            branch=env.get("BUILDKITE_BRANCH", ""),
            commit=env.get("BUILDKITE_COMMIT", ""),
            message=env.get("BUILDKITE_MESSAGE", ""),
            repo=repo_slug(repo_url),
            repo_url=repo_web_url(repo_url),
            workflow=env.get("BUILDKITE_PIPELINE_SLUG", ""),
            parallel_index=_int(env.get("BUILDKITE_PARALLEL_JOB")),
            parallel_count=_int(env.get("BUILDKITE_PARALLEL_JOB_COUNT")),
            retry_count=_int(env.get("BUILDKITE_RETRY_COUNT")) or 0,
            command_exit_status=_int(env.get("BUILDKITE_COMMAND_EXIT_STATUS")),
        )
    if env.get("CIRCLE_JOB") or env.get("CIRCLECI") == "true":
        user = env.get("CIRCLE_PROJECT_USERNAME", "")
        name = env.get("CIRCLE_PROJECT_REPONAME", "")
        return CIInfo(
            provider="circleci",
            build_id=env.get("CIRCLE_WORKFLOW_JOB_ID", ""),
            workflow_id=env.get("CIRCLE_WORKFLOW_ID", ""),
            build_number=env.get("CIRCLE_BUILD_NUM", ""),
            build_url=env.get("CIRCLE_BUILD_URL", ""),
            job_id=env.get("CIRCLE_WORKFLOW_JOB_ID", ""),
            job_name="ci/circleci:" + env.get("CIRCLE_JOB", ""),
            label=env.get("CIRCLE_JOB", ""),
            branch=env.get("CIRCLE_BRANCH", ""),
            commit=env.get("CIRCLE_SHA1", ""),
            repo=f"{user}/{name}" if user and name else repo_slug(env.get("CIRCLE_REPOSITORY_URL", "")),
            repo_url=repo_web_url(env.get("CIRCLE_REPOSITORY_URL", ""))
            or (f"https://github.com/{user}/{name}" if user and name else ""),
            parallel_index=_int(env.get("CIRCLE_NODE_INDEX")),
            parallel_count=_int(env.get("CIRCLE_NODE_TOTAL")),
        )
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo = env.get("GITHUB_REPOSITORY", "")
        run_id = env.get("GITHUB_RUN_ID", "")
        return CIInfo(
            provider="github_actions",
            build_id=run_id,
            build_number=env.get("GITHUB_RUN_NUMBER", ""),
            build_url=f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else "",
            job_id=env.get("GITHUB_JOB", ""),
            job_name="github/" + env.get("GITHUB_WORKFLOW", ""),
            label=env.get("GITHUB_JOB", ""),
            branch=env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME", ""),
            commit=env.get("GITHUB_SHA", ""),
            repo=repo,
            repo_url=f"{server}/{repo}" if repo else "",
            retry_count=max(0, (_int(env.get("GITHUB_RUN_ATTEMPT")) or 1) - 1),
            workflow=env.get("GITHUB_WORKFLOW", ""),
            step_id=env.get("GITHUB_ACTION", ""),
        )
    if env.get("GITLAB_CI") == "true":
        return _gitlab(env)
    if env.get("CI", "").lower() in ("true", "1", "yes"):
        return CIInfo(provider="generic")
    return CIInfo(provider="local")


def _gitlab(env: Mapping[str, str]) -> CIInfo:
    """GitLab CI (docs.gitlab.com, "Predefined CI/CD variables"): the build is the pipeline.
    A ``parallel: N`` job is named ``name i/N`` in every shard; without the suffix, the shards
    are one job for Flakybot and the history, as a Buildkite parallel step's label is."""
    node_total = _int(env.get("CI_NODE_TOTAL"))
    node_index = _int(env.get("CI_NODE_INDEX"))
    job = env.get("CI_JOB_NAME", "")
    if node_total and node_total > 1:
        job = re.sub(r" \d+/\d+$", "", job)
    return CIInfo(
        provider="gitlab",
        build_id=env.get("CI_PIPELINE_ID", ""),
        build_number=env.get("CI_PIPELINE_IID", ""),
        build_url=env.get("CI_PIPELINE_URL", ""),
        job_id=env.get("CI_JOB_ID", ""),
        job_name="gitlab/" + job,
        label=job,
        branch=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME", ""),
        commit=env.get("CI_COMMIT_SHA", ""),
        message=env.get("CI_COMMIT_MESSAGE", ""),
        repo=env.get("CI_PROJECT_PATH", ""),
        repo_url=env.get("CI_PROJECT_URL", ""),
        parallel_index=node_index - 1 if node_index else None,  # CI_NODE_INDEX counts from 1
        parallel_count=node_total,
    )
