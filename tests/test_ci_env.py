"""CI detection: which CI runs us and the facts uploads and Flakybot read, by tables of envs."""

import pytest

from junit_flaky.ci_env import CIInfo, detect, repo_slug, repo_web_url

BUILDKITE = {
    "BUILDKITE": "true",
    "BUILDKITE_PIPELINE_SLUG": "web",
    "BUILDKITE_BUILD_ID": "0190-build",
    "BUILDKITE_BUILD_NUMBER": "42",
    "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/web/builds/42",
    "BUILDKITE_JOB_ID": "0190-job",
    "BUILDKITE_LABEL": ":pytest: Unit",
    "BUILDKITE_BRANCH": "main",
    "BUILDKITE_COMMIT": "abc123",
    "BUILDKITE_MESSAGE": "Fix it",
    "BUILDKITE_REPO": "git@github.com:acme/web.git",
    "BUILDKITE_PARALLEL_JOB": "2",
    "BUILDKITE_PARALLEL_JOB_COUNT": "4",
    "BUILDKITE_RETRY_COUNT": "1",
    "BUILDKITE_COMMAND_EXIT_STATUS": "1",
}
CIRCLECI = {
    "CI": "true",
    "CIRCLECI": "true",
    "CIRCLE_JOB": "test",
    "CIRCLE_BRANCH": "feature",
    "CIRCLE_BUILD_NUM": "7",
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/web/7",
    "CIRCLE_SHA1": "def456",
    "CIRCLE_WORKFLOW_JOB_ID": "wf-job-1",
    "CIRCLE_WORKFLOW_ID": "wf-1",
    "CIRCLE_PROJECT_USERNAME": "acme",
    "CIRCLE_PROJECT_REPONAME": "web",
    "CIRCLE_REPOSITORY_URL": "git@github.com:acme/web.git",
    "CIRCLE_NODE_INDEX": "0",
    "CIRCLE_NODE_TOTAL": "2",
}
GITHUB = {
    "CI": "true",
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/web",
    "GITHUB_RUN_ID": "999",
    "GITHUB_RUN_NUMBER": "12",
    "GITHUB_RUN_ATTEMPT": "3",
    "GITHUB_ACTION": "__run_2",
    "GITHUB_JOB": "tests",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_REF_NAME": "17/merge",
    "GITHUB_HEAD_REF": "feature",
    "GITHUB_SHA": "fedcba",
}
GITLAB = {
    "CI": "true",
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "acme/backend/web",
    "CI_PROJECT_URL": "https://gitlab.example.com/acme/backend/web",
    "CI_PIPELINE_ID": "5001",
    "CI_PIPELINE_IID": "77",
    "CI_PIPELINE_URL": "https://gitlab.example.com/acme/backend/web/-/pipelines/5001",
    "CI_JOB_ID": "90210",
    "CI_JOB_NAME": "pytest 2/3",
    "CI_NODE_INDEX": "2",
    "CI_NODE_TOTAL": "3",
    "CI_COMMIT_SHA": "0a1b2c",
    "CI_COMMIT_REF_NAME": "feature",
    "CI_COMMIT_MESSAGE": "Fix it",
}


def test_buildkite():
    assert detect(BUILDKITE) == CIInfo(
        provider="buildkite",
        build_id="0190-build",
        build_number="42",
        build_url="https://buildkite.com/acme/web/builds/42",
        job_id="0190-job",
        job_name="buildkite/web",
        label=":pytest: Unit",
        branch="main",
        commit="abc123",
        message="Fix it",
        repo="acme/web",
        repo_url="https://github.com/acme/web",
        workflow="web",
        parallel_index=2,
        parallel_count=4,
        retry_count=1,
        command_exit_status=1,
    )


def test_circleci():
    assert detect(CIRCLECI) == CIInfo(
        provider="circleci",
        build_id="wf-job-1",
        build_number="7",
        build_url="https://circleci.com/gh/acme/web/7",
        job_id="wf-job-1",
        job_name="ci/circleci:test",
        label="test",
        branch="feature",
        commit="def456",
        repo="acme/web",
        repo_url="https://github.com/acme/web",
        workflow_id="wf-1",
        parallel_index=0,
        parallel_count=2,
    )


def test_github_actions():
    assert detect(GITHUB) == CIInfo(
        provider="github_actions",
        build_id="999",
        build_number="12",
        build_url="https://github.com/acme/web/actions/runs/999",
        job_id="tests",
        job_name="github/CI",
        label="tests",
        branch="feature",  # the PR's head branch, not "17/merge"
        commit="fedcba",
        repo="acme/web",
        repo_url="https://github.com/acme/web",
        retry_count=2,
        workflow="CI",
        step_id="__run_2",
    )


def test_gitlab():
    assert detect(GITLAB) == CIInfo(
        provider="gitlab",
        build_id="5001",
        build_number="77",
        build_url="https://gitlab.example.com/acme/backend/web/-/pipelines/5001",
        job_id="90210",
        job_name="gitlab/pytest",  # one job for Flakybot and the history, whichever shard ran
        label="pytest",
        branch="feature",
        commit="0a1b2c",
        message="Fix it",
        repo="acme/backend/web",  # GitLab's groups nest: the whole path names the project
        repo_url="https://gitlab.example.com/acme/backend/web",
        parallel_index=1,  # CI_NODE_INDEX counts from 1
        parallel_count=3,
    )


def test_gitlab_job_names_keep_what_is_not_a_shard_suffix():
    assert detect({"GITLAB_CI": "true", "CI_JOB_NAME": "test 1/2"}).label == "test 1/2"  # not parallel
    assert detect({"GITLAB_CI": "true", "CI_JOB_NAME": "unit tests"}).job_name == "gitlab/unit tests"


@pytest.mark.parametrize(
    "env, provider",
    [
        ({**CIRCLECI, **BUILDKITE}, "buildkite"),  # Buildkite wins, as pytest-aviator decided
        ({"BUILDKITE_PIPELINE_SLUG": "web"}, "buildkite"),
        ({"CIRCLE_JOB": "test"}, "circleci"),
        ({"GITHUB_ACTIONS": "true", "CI": "true"}, "github_actions"),
        ({"GITLAB_CI": "true", "CI": "true"}, "gitlab"),
        ({"CI": "1"}, "generic"),
        ({"CI": "false"}, "local"),
        ({}, "local"),
    ],
)
def test_provider(env, provider):
    info = detect(env)
    assert info.provider == provider
    assert info.is_ci is (provider != "local")


def test_circleci_repo_falls_back_to_the_remote():
    env = {"CIRCLE_JOB": "t", "CIRCLE_REPOSITORY_URL": "https://gitlab.com/group/sub/proj.git"}
    assert detect(env).repo == "sub/proj"


@pytest.mark.parametrize(
    "value, expected",
    [("0", 0), ("", None), ("garbage", None)],
)
def test_command_exit_status(value, expected):
    env = {"BUILDKITE": "true", "BUILDKITE_COMMAND_EXIT_STATUS": value}
    assert detect(env).command_exit_status == expected


def test_numbers_that_are_not_numbers_are_unknown():
    env = {"BUILDKITE": "true", "BUILDKITE_PARALLEL_JOB": "x", "BUILDKITE_RETRY_COUNT": "?"}
    info = detect(env)
    assert (info.parallel_index, info.retry_count) == (None, 0)


@pytest.mark.parametrize(
    "remote, slug",
    [
        ("git@github.com:acme/web.git", "acme/web"),
        ("https://github.com/acme/web.git", "acme/web"),
        ("https://github.com/acme/web", "acme/web"),
        ("ssh://git@host:2222/acme/web.git/", "acme/web"),
        ("acme/web", "acme/web"),
        ("  ", ""),
    ],
)
def test_repo_slug(remote, slug):
    assert repo_slug(remote) == slug


@pytest.mark.parametrize(
    "remote, url",
    [
        ("git@github.com:acme/web.git", "https://github.com/acme/web"),
        ("https://x-access-token:ghs_secret@github.com/acme/web.git", "https://github.com/acme/web"),
        ("ssh://git@host:2222/acme/web.git/", "https://host/acme/web"),
        ("https://ghe.example.com:8443/acme/web", "https://ghe.example.com:8443/acme/web"),
        ("https://gitlab.example.com/acme/backend/web.git", "https://gitlab.example.com/acme/backend/web"),
        ("/srv/git/web.git", ""),
        ("  ", ""),
    ],
)
def test_repo_web_url(remote, url):
    assert repo_web_url(remote) == url
