"""Quarantine by hand: ``quarantine add|remove|list`` and the file they keep, and what ``run`` does
with a test the file lists (real CLI invocations, real pytest projects, real files)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from tests import junit_builders as jb
from tests.junit_checks import parse
from tests.projects import Project
from tests.vendored import SCHEMAS

TODAY = datetime.now(timezone.utc).date().isoformat()
FILE = "junit-flaky-quarantine.toml"
HEADER = (
    "# Quarantined tests: they run and are reported, but their failures never fail the build.\n"
    "# Written by `junit-flaky quarantine add|remove` (entries sorted by test; comments above or\n"
    "# inside an entry move with it); edit by hand as you like.\n"
)


def test_add_remove_and_list_round_trip_through_a_reviewable_file(run_cli, clean_env: Path) -> None:
    added = run_cli(
        "quarantine", "add", "tests/test_x.py::TestC::test_y", "--reason", "races with the cache warmer",
        "--owner", "alice", "--until", "2099-12-31",
    )
    assert added.exit_code == 0, added.stderr
    assert run_cli("quarantine", "add", "pkg.TestA::test_b[1]", "--reason", "slow DNS").exit_code == 0
    path = clean_env / FILE
    assert path.read_text() == HEADER + (
        "\n[[quarantine]]\n"
        'test = "pkg.TestA::test_b[1]"\n'
        'reason = "slow DNS"\n'
        f"since = {TODAY}\n"
        "\n[[quarantine]]\n"
        'test = "tests/test_x.py::TestC::test_y"\n'
        'reason = "races with the cache warmer"\n'
        'owner = "alice"\n'
        f"since = {TODAY}\n"
        "until = 2099-12-31\n"
    )

    listed = run_cli("quarantine", "list", "--format", "json")
    assert json.loads(listed.stdout) == [
        {"test": "pkg.TestA::test_b[1]", "source": "manual", "since": TODAY, "until": None, "owner": None, "reason": "slow DNS", "expired": False},
        {
            "test": "tests/test_x.py::TestC::test_y", "source": "manual", "since": TODAY, "until": "2099-12-31",
            "owner": "alice", "reason": "races with the cache warmer", "expired": False,
        },
    ]
    markdown = run_cli("quarantine", "list", "--format", "markdown").stdout
    assert f"| tests/test_x.py::TestC::test_y | manual | {TODAY} | 2099-12-31 | alice | races with the cache warmer |" in markdown
    assert "tests/test_x.py::TestC::test_y" in run_cli("quarantine", "list").stdout

    # Named the way junit-flaky prints it, the node id's entry is the one removed.
    removed = run_cli("quarantine", "remove", "tests.test_x.TestC::test_y")
    assert removed.exit_code == 0, removed.stderr
    assert "released tests/test_x.py::TestC::test_y" in removed.stdout
    assert "tests/test_x.py" not in path.read_text()
    assert run_cli("quarantine", "remove", "pkg.TestA::test_b[1]").exit_code == 0
    assert path.read_text() == HEADER
    assert run_cli("quarantine", "list").stdout == "No quarantined test.\n"


def test_adding_again_updates_the_entry_and_keeps_its_since(run_cli, clean_env: Path) -> None:
    path = clean_env / FILE
    path.write_text('[[quarantine]]\ntest = "m.T::t"\nreason = "old"\nsince = 2020-01-01\n')
    result = run_cli("quarantine", "add", "m.T::t", "--reason", "new", "--owner", "bob")
    assert result.exit_code == 0, result.stderr
    assert "updated the quarantine of m.T::t" in result.stdout
    assert path.read_text() == '[[quarantine]]\ntest = "m.T::t"\nreason = "new"\nowner = "bob"\nsince = 2020-01-01\n'


def test_comments_stay_with_their_entry_and_a_removal_says_how_many_went(run_cli, clean_env: Path) -> None:
    path = clean_env / FILE
    path.write_text(
        "# Reviewed weekly by the QA guild.\n\n"
        "# flaky since the new runner image\n"
        '[[quarantine]]\ntest = "z.T::late"\nreason = "runner"  # ticket 12\nsince = 2026-01-02\n# check again in March\n'
    )
    assert run_cli("quarantine", "add", "a.T::early", "--reason", "dns").exit_code == 0
    assert path.read_text() == (
        "# Reviewed weekly by the QA guild.\n\n"
        f'[[quarantine]]\ntest = "a.T::early"\nreason = "dns"\nsince = {TODAY}\n\n'
        "# flaky since the new runner image\n"
        '[[quarantine]]\ntest = "z.T::late"\nreason = "runner"  # ticket 12\nsince = 2026-01-02\n# check again in March\n'
    )
    removed = run_cli("quarantine", "remove", "z.T::late")
    assert "removed 3 comments that belonged to them" in removed.stdout  # "# ticket 12" too
    assert path.read_text() == f'# Reviewed weekly by the QA guild.\n\n[[quarantine]]\ntest = "a.T::early"\nreason = "dns"\nsince = {TODAY}\n'


@pytest.mark.parametrize(
    "args, message",
    [
        (["add", "test_y", "--reason", "r"], "'test_y' is not a test: expected a pytest node id"),
        (["add", "tests/test_x.py::", "--reason", "r"], "'tests/test_x.py::' is not a test"),
        (["add", "a b::c", "--reason", "r"], "'a b::c' is not a test"),
        (["add", "m.T::t", "--reason", "r", "--until", "2026-13-01"], "--until must be a date as YYYY-MM-DD, got '2026-13-01'"),
        (["add", "m.T::t", "--reason", "r", "--until", "next week"], "--until must be a date as YYYY-MM-DD, got 'next week'"),
        (["add", "m.T::t", "--reason", "r", "--until", "2001-01-01"], "--until 2001-01-01 is in the past"),
        (["add", "m.T::t", "--reason", "  "], "--reason is empty"),
        (["remove", "m.T::other"], "'m.T::other' is not in"),
        (["remove", "nonsense"], "'nonsense' is not a test"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_the_file_is_untouched(run_cli, clean_env: Path, args, message: str) -> None:
    path = clean_env / FILE
    before = '# mine\n[[quarantine]]\ntest = "m.T::t"\nreason = "r"\nsince = 2026-01-01\n'
    path.write_text(before)
    result = run_cli("quarantine", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("junit-flaky: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert path.read_text() == before


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[quarantine]]\ntest = "m.T::t"\nsince = 2026-01-01\n', "entry 1: reason is missing"),
        ('[[quarantine]]\ntest = "m.T::t"\nreason = "r"\nsince = "yesterday"\n', "entry 1: since must be a date"),
        ('[[quarantine]]\ntest = "m.T::t"\nreason = "r"\nsince = 2026-01-01\nowners = "x"\n', "unknown key 'owners'"),
        ('[[quarantine]]\ntest = "t"\nreason = "r"\nsince = 2026-01-01\n', "entry 1: 't' is not a test"),
        (
            '[[quarantine]]\ntest = "m.py::T::t"\nreason = "r"\nsince = 2026-01-01\n'
            '[[quarantine]]\ntest = "m.T::t"\nreason = "r"\nsince = 2026-01-01\n',
            "'m.T::t' is listed twice",
        ),
    ],
)
def test_a_broken_quarantine_file_stops_run_with_exit_2(run_cli, clean_env: Path, text: str, message: str) -> None:
    (clean_env / FILE).write_text(text)
    (clean_env / "r.xml").write_text('<testsuite name="s"><testcase classname="m.T" name="t"/></testsuite>')
    result = run_cli("run", "r.xml", "--no-rerun", "--no-flakybot")
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_a_manually_quarantined_failing_test_exits_0_with_its_reason_everywhere(
    run_cli, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(clean_env)
    project.write("tests/test_x.py", "class TestC:\n    def test_y(self):\n        assert False, 'boom'\n\n    def test_ok(self):\n        pass\n")
    report = project.pytest("tests")
    added = run_cli("quarantine", "add", "tests/test_x.py::TestC::test_y", "--reason", "races with the cache warmer", "--owner", "alice")
    assert added.exit_code == 0, added.stderr

    result = project.junit_flaky("run", str(report), "-o", "final.xml", "--json", "final.json")
    assert result.returncode == 0, result.stdout + result.stderr
    why = f"manual since {TODAY}, owner alice: races with the cache warmer"
    assert "QUARANTINED tests.test_x.TestC::test_y" in result.stdout
    assert f"quarantined {why}" in result.stdout
    test = json.loads((clean_env / "final.json").read_text())["tests"][0]
    assert (test["verdict"], test["quarantine"]) == (
        "quarantined", {"source": "manual", "reason": "races with the cache warmer", "since": TODAY, "owner": "alice", "until": None}
    )
    root = parse(clean_env / "final.xml")
    assert root.find(".//testcase[@name='test_y']/skipped").get("message") == f"quarantined: failed 1 of 1 run ({why})"

    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(clean_env / "summary.md"))
    annotated = run_cli("upload", "final.xml", "--to", "github-actions")
    assert annotated.exit_code == 0, annotated.stderr
    assert "races with the cache warmer" in (clean_env / "summary.md").read_text()
    [warning] = [line for line in annotated.stdout.splitlines() if line.startswith("::warning")]
    assert f"::quarantined ({why}) (1 failed attempt): AssertionError: boom" in warning


def test_a_quarantine_with_its_reason_is_written_as_valid_surefire(run_cli, clean_env: Path) -> None:
    (clean_env / FILE).write_text('[[quarantine]]\ntest = "m.T::t"\nreason = "a \\"quoted\\" <reason> & more"\nsince = 2026-01-01\n')
    report = jb.write(clean_env / "in.xml", jb.testsuite(jb.testcase("t", "failed", classname="m.T"), jb.testcase("ok", classname="m.T")))
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", "out.xml")
    assert result.exit_code == 0, result.stdout + result.stderr
    root = parse(clean_env / "out.xml")
    skipped = root.find(".//testcase[@name='t']/skipped")
    assert skipped.get("message") == 'quarantined: failed 1 of 1 run (manual since 2026-01-01: a "quoted" <reason> & more)'
    for name in ("surefire-test-report.xsd", "surefire-test-report-3.0.xsd"):
        schema = etree.XMLSchema(etree.parse(str(SCHEMAS / name)))
        assert schema.validate(root), schema.error_log


def test_a_quarantine_past_its_until_date_fails_the_build_again(run_cli, clean_env: Path) -> None:
    yesterday = (date.fromisoformat(TODAY) - timedelta(days=1)).isoformat()
    (clean_env / FILE).write_text(f'[[quarantine]]\ntest = "m.T::t"\nreason = "r"\nsince = 2026-01-01\nuntil = {yesterday}\n')
    (clean_env / "r.xml").write_text('<testsuite name="s"><testcase classname="m.T" name="t"><failure/></testcase></testsuite>')
    result = run_cli("run", "r.xml", "--no-rerun", "--no-flakybot")
    assert result.exit_code == 1
    assert f"the quarantine of m.T::t ended on {yesterday}" in result.stderr
    listed = json.loads(run_cli("quarantine", "list", "--format", "json").stdout)
    assert listed[0]["expired"] is True
    assert f"{yesterday} (expired)" in run_cli("quarantine", "list").stdout


def test_a_quarantine_lasts_through_its_until_day(run_cli, clean_env: Path) -> None:
    (clean_env / FILE).write_text(f'[[quarantine]]\ntest = "m.T::t"\nreason = "r"\nsince = 2026-01-01\nuntil = {TODAY}\n')
    (clean_env / "r.xml").write_text('<testsuite name="s"><testcase classname="m.T" name="t"><failure/></testcase></testsuite>')
    assert run_cli("run", "r.xml", "--no-rerun", "--no-flakybot").exit_code == 0


def test_a_quarantine_matches_as_a_thresholds_entry_does(run_cli, clean_env: Path) -> None:
    """A class name is a dotted suffix (TestSample, not TestSampleSlow); a name without
    parameters covers every parametrization."""
    (clean_env / FILE).write_text('[[quarantine]]\ntest = "TestSample::test_p"\nreason = "r"\nsince = 2026-01-01\n')
    (clean_env / "r.xml").write_text(
        '<testsuite name="s">'
        '<testcase classname="src.TestSample" name="test_p[1]"><failure/></testcase>'
        '<testcase classname="src.TestSampleSlow" name="test_p[1]"><failure/></testcase>'
        "</testsuite>"
    )
    result = run_cli("run", "r.xml", "--no-rerun", "--no-flakybot", "--json", "r.json")
    verdicts = {t["classname"]: t["verdict"] for t in json.loads((clean_env / "r.json").read_text())["tests"]}
    assert verdicts == {"src.TestSample": "quarantined", "src.TestSampleSlow": "failed"}
    assert result.exit_code == 1


def test_the_file_is_found_beside_pyproject_or_where_configured(run_cli, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "pyproject.toml").write_text("[tool.junit-flaky]\n")
    (clean_env / "sub").mkdir()
    monkeypatch.chdir(clean_env / "sub")
    assert run_cli("quarantine", "add", "m.T::t", "--reason", "r").exit_code == 0
    assert (clean_env / FILE).exists()

    (clean_env / "pyproject.toml").write_text('[tool.junit-flaky]\nquarantine-file = "ci/q.toml"\n')
    assert run_cli("quarantine", "add", "m.T::u", "--reason", "r").exit_code == 0
    assert (clean_env / "ci" / "q.toml").exists()
    monkeypatch.setenv("JUNIT_FLAKY_QUARANTINE_FILE", str(clean_env / "env.toml"))
    assert run_cli("quarantine", "add", "m.T::v", "--reason", "r").exit_code == 0
    assert (clean_env / "env.toml").exists()
    (clean_env / "r.xml").write_text('<testsuite name="s"><testcase classname="m.T" name="w"><failure/></testcase></testsuite>')
    assert run_cli("quarantine", "add", "m.T::w", "--reason", "r", "--file", str(clean_env / "opt.toml")).exit_code == 0
    assert run_cli("run", str(clean_env / "r.xml"), "--no-rerun", "--no-flakybot", "--quarantine-file", str(clean_env / "opt.toml")).exit_code == 0
    assert run_cli("run", str(clean_env / "r.xml"), "--no-rerun", "--no-flakybot").exit_code == 1  # env.toml lists no m.T::w


def test_thresholds_show_names_each_quarantine_and_why(run_cli, clean_env: Path) -> None:
    run_cli("quarantine", "add", "m.T::t", "--reason", "dns", "--owner", "bob")
    result = run_cli("thresholds", "show", "--no-flakybot")
    assert f"quarantine file {clean_env / FILE}: m.T::t: quarantined manual since {TODAY}, owner bob: dns" in result.stdout


def test_merging_overlapping_shards_keeps_the_quarantine_reason(run_cli, clean_env: Path) -> None:
    (clean_env / FILE).write_text('[[quarantine]]\ntest = "m.T::t"\nreason = "dns"\nsince = 2026-01-01\n')
    report = jb.write(clean_env / "in.xml", jb.testsuite(jb.testcase("t", "failed", classname="m.T"), jb.testcase("ok", classname="m.T")))
    for shard in ("s1.xml", "s2.xml"):
        assert run_cli("run", report, "--no-rerun", "--no-flakybot", "-o", shard).exit_code == 0
    merged = run_cli("merge", "s1.xml", "s2.xml", "-o", "merged.xml")
    assert merged.exit_code == 0, merged.stdout + merged.stderr
    message = parse(clean_env / "merged.xml").find(".//testcase[@name='t']/skipped").get("message")
    assert message == "quarantined: failed 2 of 2 runs (manual since 2026-01-01: dns)"


def test_an_update_keeps_the_comments_written_after_an_entrys_values(run_cli, clean_env: Path) -> None:
    path = clean_env / FILE
    path.write_text('[[quarantine]] # flaky on arm\ntest = "m.T::t"\nreason = "old # not a comment"  # ticket 12\nsince = 2020-01-01 # first seen\n')
    assert run_cli("quarantine", "add", "m.T::t", "--reason", "new").exit_code == 0
    assert path.read_text() == (
        '[[quarantine]]\ntest = "m.T::t"\nreason = "new"\nsince = 2020-01-01\n# flaky on arm\n# ticket 12\n# first seen\n'
    )
    removed = run_cli("quarantine", "remove", "m.T::t")
    assert "removed 3 comments that belonged to them" in removed.stdout


def test_adding_again_keeps_the_owner_and_until_it_is_not_given_and_says_what_changed(run_cli, clean_env: Path) -> None:
    path = clean_env / FILE
    first = run_cli("quarantine", "add", "m.T::t", "--reason", "r", "--owner", "bob", "--until", "2099-12-31")
    assert first.exit_code == 0, first.stderr
    again = run_cli("quarantine", "add", "m.T::t", "--reason", "r, ticket 7")
    assert again.exit_code == 0, again.stderr
    assert f'reason = "r, ticket 7"\nowner = "bob"\nsince = {TODAY}\nuntil = 2099-12-31\n' in path.read_text()
    assert "updated the quarantine of m.T::t in" in again.stdout and ": reason 'r' -> 'r, ticket 7'\n" in again.stdout
    cleared = run_cli("quarantine", "add", "m.T::t", "--reason", "r, ticket 7", "--owner", "", "--until", "never")
    assert cleared.exit_code == 0, cleared.stderr
    assert path.read_text().endswith(f'reason = "r, ticket 7"\nsince = {TODAY}\n')
    assert ": owner 'bob' -> none, until 2099-12-31 -> never\n" in cleared.stdout
    same = run_cli("quarantine", "add", "m.T::t", "--reason", "r, ticket 7")
    assert same.exit_code == 0 and "m.T::t is quarantined as it was already, in" in same.stdout
