"""CODEOWNERS: the patterns as GitHub documents them, GitLab's sections, where the file is found,
and what a malformed line costs (a warning, never a failed build)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from junit_flaky.codeowners import compile_pattern, locate, lookup, parse, repository_root
from junit_flaky.model import TestId

# pattern -> {path: matches?}; the cases GitHub's documentation gives, and the edges of each rule.
PATTERNS: Dict[str, Dict[str, bool]] = {
    # a lone name matches at any depth, itself or as a directory that owns what is below it
    "foo": {"foo": True, "foo/bar": True, "bar/foo": True, "bar/foo/baz": True, "foo.txt": False, "bar/baz": False},
    # a leading / anchors at the root
    "/foo": {"foo": True, "foo/bar/baz": True, "bar/foo": False, "fool.txt": False},
    # a trailing / is a directory's contents, at any depth, never a file of that name
    "foo/": {"foo": False, "foo/bar": True, "bar/foo/baz": True, "bar/foo/baz/qux": True},
    "/build/logs/": {"build/logs/a.log": True, "build/logs/x/y.log": True, "src/build/logs/a.log": False},
    # a / inside anchors too
    "foo/bar": {"foo/bar": True, "foo/bar/baz": True, "baz/foo/bar": False, "foo/bart": False},
    # * stays within one segment; a lone * as the last segment owns one level only
    "*.py": {"a.py": True, "tests/deep/test_a.py": True, "a.pyc": False},
    "docs/*": {"docs/getting-started.md": True, "docs/build-app/troubleshooting.md": False, "docs": False},
    "/*": {"setup.py": True, "tests/test_a.py": False},
    "*": {"a": True, "tests/unit/test_a.py": True},
    "f*": {"foo/bar": True, "bar/foo": True, "xfoo": False},
    "foo/*/baz": {"foo/bar/baz": True, "foo/bar/baz/qux": True, "foo/baz": False},
    "f?o": {"foo": True, "fo": False, "fooo": False},
    # ** spans segments: leading, inside, trailing
    "**/logs": {"logs/a": True, "build/logs/a": True, "deeply/nested/logs/x.log": True, "build/log": False},
    "foo/**/bar": {"foo/bar": True, "foo/a/b/bar/c.py": True, "qux/foo/bar": False},
    "foo/bar/**": {"foo/bar": False, "foo/bar/baz": True, "foo/bar/baz/qux": True},
    "/docs/**/*.md": {"docs/a.md": True, "docs/x/y/a.md": True, "docs/a.txt": False, "src/docs/a.md": False},
    # escapes: a literal *, a space (GitLab's path\ with\ spaces)
    "f\\*o": {"f*o": True, "foo": False},
    "path\\ with\\ spaces/": {"path with spaces/a.py": True, "path/a.py": False},
}


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_pattern_matches_as_github_documents(pattern: str) -> None:
    matches = compile_pattern(pattern)
    assert {path: matches(path) for path in PATTERNS[pattern]} == PATTERNS[pattern]


def owners(text: str, path: str) -> tuple:
    return parse(text, Path("CODEOWNERS")).owners_of(path)


def test_the_last_matching_line_wins() -> None:
    text = "*       @everyone\n*.py    @python\n/tests/ @qa\n"
    assert owners(text, "tests/test_a.py") == ("@qa",)
    assert owners(text, "src/a.py") == ("@python",)
    assert owners(text, "README.md") == ("@everyone",)


def test_a_later_broader_line_takes_over_from_an_earlier_narrower_one() -> None:
    assert owners("/tests/test_a.py @alice\n/tests/ @qa\n", "tests/test_a.py") == ("@qa",)


def test_a_line_without_owners_leaves_its_files_unowned() -> None:
    text = "/apps/ @octocat\n/apps/github\n"
    assert owners(text, "apps/github/x.py") == ()
    assert owners(text, "apps/other/x.py") == ("@octocat",)


def test_owners_may_be_users_teams_roles_and_addresses_and_comments_are_dropped() -> None:
    text = "# a comment\n/src/ @org/team-a @alice jane@example.com @@maintainer # trailing comment\n"
    assert owners(text, "src/a.py") == ("@org/team-a", "@alice", "jane@example.com", "@@maintainer")


def test_gitlab_sections_each_give_their_last_match_and_the_owners_combine() -> None:
    text = """
        * @default
        [Backend] @backend-team
        *.py
        /tests/ @qa
        ^[Docs][2]
        *.md @docs
        [backend]
        /tests/flaky/ @sre
    """
    assert owners(text, "tests/test_a.py") == ("@default", "@qa")
    # the second [backend] header is the same section: its later line wins within it
    assert owners(text, "tests/flaky/test_b.py") == ("@default", "@sre")
    # a line in a section without owners takes the section's default owners
    assert owners(text, "src/app.py") == ("@default", "@backend-team")
    assert owners(text, "README.md") == ("@default", "@docs")


def test_a_gitlab_exclusion_removes_files_from_its_section_wherever_it_stands() -> None:
    text = "!pom.xml\n* @default\n[Ruby]\n*.rb @ruby\n!/config/*\n"
    assert owners(text, "pom.xml") == ()
    assert owners(text, "config/a.rb") == ("@default",)
    assert owners(text, "lib/a.rb") == ("@default", "@ruby")


def test_malformed_lines_are_ignored_with_one_warning_for_the_file() -> None:
    text = "*.py @python\n[abc]*.js @x\nsrc/ not-an-owner\n/a/***/b @y\n/tests/ @qa\n"
    parsed = parse(text, Path("CODEOWNERS"))
    assert parsed.owners_of("tests/test_a.py") == ("@qa",)
    assert parsed.owners_of("src/a.py") == ("@python",)
    warning = parsed.warning()
    assert warning is not None and warning.startswith("CODEOWNERS: ignored 3 malformed line(s): line 2")
    assert "'not-an-owner' is not an owner" in warning and "line 4" in warning


def test_a_well_formed_file_gives_no_warning() -> None:
    assert parse("* @a\n", Path("CODEOWNERS")).warning() is None


@pytest.mark.parametrize(
    "present, env, found",
    [
        ([".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"], {}, ".github/CODEOWNERS"),
        (["CODEOWNERS", "docs/CODEOWNERS"], {}, "CODEOWNERS"),
        (["docs/CODEOWNERS", ".gitlab/CODEOWNERS"], {}, "docs/CODEOWNERS"),
        ([".gitlab/CODEOWNERS"], {}, ".gitlab/CODEOWNERS"),
        # GitLab reads the root first, then docs/, then .gitlab/, and never .github/
        ([".github/CODEOWNERS", "CODEOWNERS", ".gitlab/CODEOWNERS"], {"GITLAB_CI": "true"}, "CODEOWNERS"),
        ([".github/CODEOWNERS", ".gitlab/CODEOWNERS"], {"GITLAB_CI": "true"}, ".gitlab/CODEOWNERS"),
        ([".github/CODEOWNERS"], {"GITLAB_CI": "true"}, None),
        ([], {}, None),
    ],
)
def test_the_file_is_found_where_the_forge_looks(tmp_path: Path, present: list, env: dict, found: str) -> None:
    for relative in present:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("* @a\n")
    assert locate(tmp_path, env) == (tmp_path / found if found else None)


def test_the_repository_root_is_the_git_work_tree_above_the_project(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    project = tmp_path / "services" / "api"
    project.mkdir(parents=True)
    assert repository_root(project) == tmp_path.resolve()
    assert repository_root(tmp_path / "services") == tmp_path.resolve()


def test_a_pytest_test_is_owned_through_the_file_its_classname_names(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @all\n/services/api/tests/ @api-team\n")
    project = tmp_path / "services" / "api"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_x.py").write_text("")
    owners_of = lookup(project, {})
    assert owners_of is not None
    # pytest's classname is the path from its rootdir, the project; CODEOWNERS's from the repository
    assert owners_of(TestId("tests.test_x.TestC", "test_a")) == ("@api-team",)
    assert owners_of(TestId("tests.test_x", "test_b")) == ("@api-team",)
    # a report's file attribute is used as it is, even for a file that is not here
    assert owners_of(TestId("Suite", "it works", file="services/api/web/app.test.js")) == ("@all",)
    # a test whose file cannot be told has no owners
    assert owners_of(TestId("com.example.FooTest", "testBar")) == ()


def test_without_a_codeowners_file_there_is_no_lookup_and_no_warning(tmp_path: Path) -> None:
    warnings: list = []
    assert lookup(tmp_path, {}, warn=warnings.append) is None
    assert warnings == []
