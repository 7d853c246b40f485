"""Thresholds: matching an entry to a test, the priority of the sources, files, and impossible values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from junit_flaky import config
from junit_flaky.errors import JunitFlakyError
from junit_flaky.model import TestId, Thresholds
from junit_flaky.thresholds import BUILTIN, MAX_RUNS, Entry, Resolver, ThresholdTable, defaults, load_file
from tests import junit_builders as jb


def entry(test_name: str, class_name: str = "", label: str = "") -> Entry:
    """An entry whose source names it, so a match shows which entry won."""
    return Entry(test_name, class_name, Thresholds(2, 3, source=label or f"{class_name}::{test_name}"))


def matched(entries: List[Entry], classname: str, name: str) -> str:
    found = ThresholdTable(entries).match(TestId(classname, name))
    return found.thresholds.source if found else "none"


CLASS = "src.test_sample.TestSample"


@pytest.mark.parametrize(
    "entries, classname, name, expected",
    [
        ([entry("test_x")], CLASS, "test_x", "::test_x"),
        # the base name covers every parametrization, and nothing else
        ([entry("test_x")], CLASS, "test_x[1-a]", "::test_x"),
        ([entry("test_x")], CLASS, "test_xy", "none"),
        ([entry("test_x")], CLASS, "test_x_slow[1]", "none"),
        ([entry("test_x[1]")], CLASS, "test_x[2]", "none"),
        # an exact name beats the base name, even with a less specific class
        ([entry("test_x", CLASS), entry("test_x[1]")], CLASS, "test_x[1]", "::test_x[1]"),
        ([entry("test_x", CLASS), entry("test_x[1]")], CLASS, "test_x[2]", f"{CLASS}::test_x"),
        # class_name: empty, equal, or a dotted suffix of the classname
        ([entry("test_x")], "", "test_x", "::test_x"),
        ([entry("test_x", CLASS)], CLASS, "test_x", f"{CLASS}::test_x"),
        ([entry("test_x", "TestSample")], CLASS, "test_x", "TestSample::test_x"),
        ([entry("test_x", "test_sample.TestSample")], CLASS, "test_x", "test_sample.TestSample::test_x"),
        # ... but not a bare substring (pytest-aviator's bug: TestSample also matched TestSampleSlow)
        ([entry("test_x", "TestSample")], "src.test_sample.TestSampleSlow", "test_x", "none"),
        ([entry("test_x", "Sample")], CLASS, "test_x", "none"),
        ([entry("test_x", "src.test_sample")], CLASS, "test_x", "none"),
        ([entry("test_x", "TestSample")], "", "test_x", "none"),
        # the longer class match wins, in whatever order the entries come
        ([entry("test_x", "TestSample"), entry("test_x", "test_sample.TestSample")], CLASS, "test_x",
         "test_sample.TestSample::test_x"),
        ([entry("test_x", "test_sample.TestSample"), entry("test_x", "TestSample")], CLASS, "test_x",
         "test_sample.TestSample::test_x"),
        ([entry("test_x", "TestSample"), entry("test_x")], CLASS, "test_x", "TestSample::test_x"),
        ([entry("test_x"), entry("test_x", "TestSample")], CLASS, "test_x", "TestSample::test_x"),
    ],
)
def test_matching_an_entry_to_a_test(entries: List[Entry], classname: str, name: str, expected: str) -> None:
    assert matched(entries, classname, name) == expected


def test_a_higher_source_wins_for_its_tests_even_with_a_less_specific_entry() -> None:
    # Sources override per test: the API's base-name entry beats pyproject's exact one.
    pyproject = ThresholdTable([Entry("test_x[1]", CLASS, Thresholds(2, 3, source="pyproject"))])
    api = ThresholdTable([Entry("test_x", "", Thresholds(3, 5, source="api"))])
    resolver = Resolver(BUILTIN, [pyproject, api])
    assert resolver.resolve(TestId(CLASS, "test_x[1]")).source == "api"
    assert resolver.resolve(TestId(CLASS, "test_y")) is BUILTIN


# -- defaults of unlisted tests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "pyproject, cli, expected",
    [
        ({}, (None, None), (1, 1, "built-in default")),
        ({"min-passes": 2, "max-runs": 4}, (None, None), (2, 4, "pyproject.toml [tool.junit-flaky]")),
        ({"min-passes": 2, "max-runs": 4}, (1, 3), (1, 3, "--min-passes/--max-runs")),
        # a lone --min-passes K implies K runs at least; a lone --max-runs keeps min_passes
        ({}, (3, None), (3, 3, "--min-passes/--max-runs")),
        ({"min-passes": 2, "max-runs": 4}, (None, 6), (2, 6, "--min-passes/--max-runs")),
        ({"max-runs": 3}, (None, None), (1, 3, "pyproject.toml [tool.junit-flaky]")),
    ],
)
def test_defaults_for_unlisted_tests(pyproject: Dict, cli: Tuple, expected: Tuple) -> None:
    th = defaults(pyproject, *cli)
    assert (th.min_passes, th.max_runs, th.source) == expected


@pytest.mark.parametrize(
    "pyproject, cli, words",
    [
        ({}, (0, None), ["--min-passes/--max-runs", "min_passes must be at least 1"]),
        ({}, (3, 2), ["--min-passes/--max-runs", "max_runs (2) is less than min_passes (3)"]),
        ({"min-passes": 3}, (None, 2), ["--min-passes/--max-runs", "less than min_passes"]),
        # named as written there
        ({"min-passes": "2"}, (None, None), ["pyproject.toml [tool.junit-flaky]: min-passes must be an integer"]),
        ({"max-runs": True}, (None, None), ["pyproject.toml [tool.junit-flaky]: max-runs must be an integer"]),
        ({"min-passes": 3, "max-runs": 2}, (None, None), ["max-runs (2) is less than min-passes (3)"]),
    ],
)
def test_impossible_defaults_are_rejected_naming_where_they_came_from(pyproject: Dict, cli: Tuple, words: List[str]) -> None:
    with pytest.raises(JunitFlakyError) as error:
        defaults(pyproject, *cli)
    for word in words:
        assert word in str(error.value)


# -- files ------------------------------------------------------------------------------------------

API_ANSWER = {
    "flaky_tests": [
        {"test_name": "test_a", "class_name": "TestSample", "min_passes": 2, "max_runs": 3},
        {"test_name": "test_b", "class_name": "", "min_passes": 1, "max_runs": 5},
        {"test_name": "test_c", "quarantined": True},
    ],
}
TOML = """\
[[flaky_tests]]
test_name = "test_a"
class_name = "TestSample"
min_passes = 2
max_runs = 3

[[flaky_tests]]
test_name = "test_b"
max_runs = 5

[[flaky_tests]]
test_name = "test_c"
quarantined = true
"""
EXPECTED = [("test_a", "TestSample", 2, 3, False), ("test_b", "", 1, 5, False), ("test_c", "", 1, 1, True)]


def summary(entries: List[Entry]) -> List[Tuple]:
    return [(e.test_name, e.class_name, e.thresholds.min_passes, e.thresholds.max_runs, e.thresholds.quarantined) for e in entries]


@pytest.mark.parametrize(
    "filename, text",
    [
        ("saved-api-answer.json", json.dumps(API_ANSWER)),
        ("bare-list.json", json.dumps(API_ANSWER["flaky_tests"])),
        ("thresholds.toml", TOML),
        ("thresholds.txt", TOML),  # TOML is recognised by content, not by name
    ],
)
def test_thresholds_file_in_the_api_shape_or_toml(tmp_path: Path, filename: str, text: str) -> None:
    path = tmp_path / filename
    path.write_text(text)
    entries = load_file(path, BUILTIN)
    assert summary(entries) == EXPECTED
    assert {e.thresholds.source for e in entries} == {str(path)}


@pytest.mark.parametrize(
    "filename, data, words",
    [
        ("broken.json", b'{"flaky_tests": [', ["broken.json", "neither JSON", "nor TOML"]),
        ("broken.toml", b"flaky_tests = [", ["broken.toml", "not valid TOML"]),
        ("latin1.json", '{"flaky_tests": [{"test_name": "t\xe9st"}]}'.encode("latin-1"), ["not UTF-8"]),
        ("shape.json", b'{"tests": []}', ['expected {"flaky_tests": [...]}']),
        ("no-name.json", b'{"flaky_tests": [{"class_name": "C"}]}', ["entry 1 has no test_name"]),
        # Python refuses to read an integer of more than 4300 digits: still a line, not a crash
        ("huge.json", b'{"flaky_tests": [{"test_name": "t", "max_runs": 1' + b"0" * 5000 + b"}]}", ["neither JSON", "digits"]),
        ("huge.toml", b"[[flaky_tests]]\ntest_name = 't'\nmax_runs = 1" + b"0" * 5000 + b"\n", ["not valid TOML", "digits"]),
        # Nesting deeper than Python's recursion limit
        ("deep.json", b'{"flaky_tests": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ["neither JSON (nested too deeply) nor TOML"]),
        ("deep.toml", b"flaky_tests = " + b"[" * 100_000 + b"]" * 100_000, ["not valid TOML: nested too deeply"]),
    ],
)
def test_unreadable_thresholds_files_are_rejected_naming_the_file(tmp_path: Path, filename: str, data: bytes, words: List[str]) -> None:
    path = tmp_path / filename
    path.write_bytes(data)
    with pytest.raises(JunitFlakyError) as error:
        load_file(path, BUILTIN)
    for word in [str(path)] + words:
        assert word in str(error.value)


IMPOSSIBLE = [
    ({"min_passes": 0, "max_runs": 3}, "min_passes must be at least 1"),
    ({"min_passes": -1, "max_runs": 3}, "min_passes must be at least 1"),
    ({"min_passes": 3, "max_runs": 2}, "max_runs (2) is less than min_passes (3)"),
    ({"min_passes": "2", "max_runs": 3}, "min_passes must be an integer"),
    ({"min_passes": 2.0, "max_runs": 3}, "min_passes must be an integer"),
    ({"min_passes": 1, "max_runs": 2.5}, "max_runs must be an integer"),
    ({"min_passes": True, "max_runs": 3}, "min_passes must be an integer"),
    ({"min_passes": 1, "max_runs": None}, "max_runs must be an integer"),
    ({"quarantined": "yes"}, "quarantined must be true or false"),
]


@pytest.mark.parametrize("values, words", IMPOSSIBLE)
def test_impossible_values_name_the_entry(tmp_path: Path, values: Dict, words: str) -> None:
    path = tmp_path / "t.json"
    records = [{"test_name": "test_ok"}, {"test_name": "test_bad", "class_name": "TestSample", **values}]
    path.write_text(json.dumps({"flaky_tests": records}))
    with pytest.raises(JunitFlakyError) as error:
        load_file(path, BUILTIN)
    message = str(error.value)
    assert words in message
    assert "entry 2" in message and "test_bad" in message and "TestSample" in message


# -- pyproject.toml ---------------------------------------------------------------------------------


def write_pyproject(folder: Path, table: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(f"[project]\nname = 'x'\n\n{table}")
    return path


def test_pyproject_table_gives_defaults_and_listed_tests(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        '[tool.junit-flaky]\nmin-passes = 1\nmax-runs = 2\n\n'
        '[[tool.junit-flaky.flaky_tests]]\ntest_name = "test_a"\nmin_passes = 2\nmax_runs = 3\n',
    )
    nested = tmp_path / "sub" / "dir"
    nested.mkdir(parents=True)
    project = config.load(nested)  # found above the start, as pytest finds its rootdir
    assert (project[0]["min-passes"], project[0]["max-runs"]) == (1, 2)
    entries = config.entries(project, BUILTIN)
    assert summary(entries) == [("test_a", "", 2, 3, False)]
    assert entries[0].thresholds.source == "pyproject.toml [tool.junit-flaky]"


def test_pyproject_without_the_table_gives_nothing(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.other]\nx = 1\n")
    assert config.load(tmp_path) == ({}, [])


@pytest.mark.parametrize(
    "table, words",
    [
        ("[tool.junit-flaky]\nmin_passes = 2\n", ["unknown key(s)", "min_passes", "known: ", "max-runs", "min-passes"]),
        ("[tool.junit-flaky]\nmax-runs = 3\nretries = 2\n", ["unknown key(s)", "retries"]),
        ("[tool]\njunit-flaky = 3\n", ["must be a table"]),
        ("[tool.junit-flaky\n", ["cannot read [tool.junit-flaky]"]),
        ("[tool.junit-flaky]\nmax-runs = 1" + "0" * 5000 + "\n", ["cannot read [tool.junit-flaky]", "digits"]),
        ("[tool.junit-flaky]\nflaky_tests = " + "[" * 100_000 + "]" * 100_000, ["cannot read [tool.junit-flaky]: nested too deeply"]),
    ],
)
def test_bad_pyproject_table_is_rejected(tmp_path: Path, table: str, words: List[str]) -> None:
    path = write_pyproject(tmp_path, table)
    with pytest.raises(JunitFlakyError) as error:
        config.load(tmp_path)
    for word in [str(path)] + words:
        assert word in str(error.value)


# -- through the CLI --------------------------------------------------------------------------------


def report_of(tmp_path: Path, names: List[str]) -> Path:
    """A pytest report in which each named test failed once: tracked, so --json lists it."""
    cases = [jb.testcase(name, "failed", classname=CLASS) for name in names]
    return jb.write(tmp_path / "report.xml", jb.pytest_report(*cases))


def resolved(run_cli, tmp_path: Path, report: Path, *options: str) -> Dict[str, Tuple[int, int, str]]:
    result = run_cli("run", report, "--no-rerun", "--no-flakybot", "--json", tmp_path / "out.json", *options)
    assert result.exit_code == 1, result.stderr
    tests = json.loads((tmp_path / "out.json").read_text())["tests"]
    return {t["name"]: (t["min_passes"], t["max_runs"], t["thresholds_source"]) for t in tests}


def test_each_source_overrides_the_ones_before_it_per_test(run_cli, tmp_path: Path) -> None:
    # pyproject lists a, b; the --thresholds file lists b; the CLI options cover only unlisted c.
    write_pyproject(
        tmp_path,
        "[tool.junit-flaky]\nmin-passes = 1\nmax-runs = 4\n\n"
        '[[tool.junit-flaky.flaky_tests]]\ntest_name = "test_a"\nmin_passes = 2\nmax_runs = 3\n\n'
        '[[tool.junit-flaky.flaky_tests]]\ntest_name = "test_b"\nmin_passes = 2\nmax_runs = 3\n',
    )
    file = tmp_path / "th.json"
    file.write_text(json.dumps({"flaky_tests": [{"test_name": "test_b", "min_passes": 3, "max_runs": 5}]}))
    report = report_of(tmp_path, ["test_a", "test_b", "test_c"])
    pyproject = "pyproject.toml [tool.junit-flaky]"
    assert resolved(run_cli, tmp_path, report, "--thresholds", file) == {
        "test_a": (2, 3, pyproject),
        "test_b": (3, 5, str(file)),
        "test_c": (1, 4, pyproject),
    }
    assert resolved(run_cli, tmp_path, report, "--thresholds", file, "--min-passes", "2", "--max-runs", "6") == {
        "test_a": (2, 3, pyproject),
        "test_b": (3, 5, str(file)),
        "test_c": (2, 6, "--min-passes/--max-runs"),
    }


@pytest.mark.parametrize("values, words", [IMPOSSIBLE[i] for i in (0, 2, 3, 6)])  # < 1, < min, "2", true
@pytest.mark.parametrize("form", ["json", "toml", "pyproject"])
def test_impossible_values_exit_2_with_one_line_naming_the_entry(run_cli, tmp_path: Path, form: str, values: Dict, words: str) -> None:
    stderr = refused(run_cli, tmp_path, thresholds_options(tmp_path, form, {"test_name": "test_bad", **values}))
    assert "test_bad" in stderr and words in stderr


def test_unknown_pyproject_key_exits_2(run_cli, tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.junit-flaky]\nmax_runs = 3\n")
    result = run_cli("run", report_of(tmp_path, ["test_a"]), "--no-rerun", "--no-flakybot")
    assert result.exit_code == 2
    assert "unknown key(s) in [tool.junit-flaky]: max_runs" in result.stderr
    assert result.stderr.count("\n") == 1


def test_thresholds_command_shows_what_each_test_resolves_to_and_from_where(run_cli, tmp_path: Path) -> None:
    file = tmp_path / "th.toml"
    file.write_text(TOML)
    report = report_of(tmp_path, ["test_a", "test_d"])
    result = run_cli("thresholds", "show", report, "--thresholds", file, "--no-flakybot", "--max-runs", "2")
    assert result.exit_code == 0, result.stderr
    assert "unlisted tests: pass 1 of max 2 (from --min-passes/--max-runs)" in result.stdout
    assert f"{file}: TestSample::test_a: pass 2 of max 3" in result.stdout
    assert f"{file}: test_c: pass 1 of max 2, quarantined" in result.stdout  # the unlisted tests' values
    assert f"{CLASS}::test_a: pass 2 of max 3 (from {file})" in result.stdout
    assert f"{CLASS}::test_d: pass 1 of max 2 (from --min-passes/--max-runs)" in result.stdout


# -- typos and missing values -----------------------------------------------------------------------


def thresholds_options(tmp_path: Path, form: str, record: Dict) -> List:
    """``record`` as the one entry of a thresholds file (json, toml) or of pyproject.toml; the
    options that make run read it."""
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in record.items())
    if form == "json":
        (tmp_path / "th.json").write_text(json.dumps({"flaky_tests": [record]}))
        return ["--thresholds", tmp_path / "th.json"]
    if form == "toml":
        (tmp_path / "th.toml").write_text("[[flaky_tests]]\n" + lines)
        return ["--thresholds", tmp_path / "th.toml"]
    write_pyproject(tmp_path, "[[tool.junit-flaky.flaky_tests]]\n" + lines)
    return []


def refused(run_cli, tmp_path: Path, options: List) -> str:
    """run with ``options`` on a report of test_bad: exit 2, one line on stderr, nothing written.
    Returns that line."""
    result = run_cli("run", report_of(tmp_path, ["test_bad"]), "--no-rerun", "--no-flakybot", "-o", tmp_path / "out.xml", *options)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out.xml").exists()
    return result.stderr


@pytest.mark.parametrize("typo", ["min_pass", "max_run", "quarantine", "minPasses"])
@pytest.mark.parametrize("form", ["json", "toml", "pyproject"])
def test_a_misspelt_entry_key_exits_2_naming_the_key_and_the_entry(run_cli, tmp_path: Path, form: str, typo: str) -> None:
    options = thresholds_options(tmp_path, form, {"test_name": "test_bad", typo: 3})
    where = "pyproject.toml [tool.junit-flaky]" if form == "pyproject" else str(options[1])
    assert f"{where}: entry 1 (test_name='test_bad'): unknown key '{typo}'" in refused(run_cli, tmp_path, options)


@pytest.mark.parametrize("top", ["min-passes = 2\n", "retries = 2\n"])
def test_a_thresholds_file_holds_only_flaky_tests(tmp_path: Path, top: str) -> None:
    path = tmp_path / "th.toml"
    path.write_text(top + '[[flaky_tests]]\ntest_name = "test_a"\n')
    with pytest.raises(JunitFlakyError) as error:
        load_file(path, BUILTIN)
    assert str(error.value).startswith(f"{path}: unknown key '{top.split()[0]}'")


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"test_name": "test_a"}, (2, 4, False)),
        ({"test_name": "test_a", "quarantined": True}, (2, 4, True)),
        ({"test_name": "test_a", "max_runs": 6}, (2, 6, False)),
        ({"test_name": "test_a", "min_passes": 3}, (3, 4, False)),
        ({"test_name": "test_a", "min_passes": 5}, (5, 5, False)),  # as a lone --min-passes 5 does
    ],
)
@pytest.mark.parametrize("form", ["json", "toml", "pyproject"])
def test_a_missing_value_takes_the_defaults_of_unlisted_tests(run_cli, tmp_path: Path, form: str, record: Dict, expected: Tuple) -> None:
    options = thresholds_options(tmp_path, form, record)
    result = run_cli(
        "thresholds", "show", report_of(tmp_path, ["test_a"]), "--no-flakybot", "--min-passes", "2", "--max-runs", "4", *options
    )
    assert result.exit_code == 0, result.stderr
    min_passes, max_runs, quarantined = expected
    assert f"{CLASS}::test_a: pass {min_passes} of max {max_runs}{', quarantined' if quarantined else ''} (from " in result.stdout


def test_a_missing_value_takes_the_pyproject_defaults(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.junit-flaky]\nmax-runs = 3\n\n[[tool.junit-flaky.flaky_tests]]\ntest_name = "test_a"\nmin_passes = 2\n')
    project = config.load(tmp_path)
    [found] = config.entries(project, defaults(project[0], None, None))
    assert (found.thresholds.min_passes, found.thresholds.max_runs) == (2, 3)


# -- bounds ---------------------------------------------------------------------------------------

HUGE = 10**30


@pytest.mark.parametrize(
    "values, words",
    [
        ({"min_passes": 1, "max_runs": HUGE}, f"max_runs must be at most {MAX_RUNS}, got {HUGE}"),
        ({"max_runs": MAX_RUNS + 1}, f"max_runs must be at most {MAX_RUNS}, got {MAX_RUNS + 1}"),
        ({"min_passes": MAX_RUNS + 1}, f"min_passes must be at most {MAX_RUNS}, got {MAX_RUNS + 1}"),
        ({"min_passes": False}, "min_passes must be an integer, got False"),
    ],
)
@pytest.mark.parametrize("form", ["json", "toml", "pyproject"])
def test_values_beyond_the_maximum_exit_2_naming_value_and_source(run_cli, tmp_path: Path, form: str, values: Dict, words: str) -> None:
    if form != "json" and values.get("max_runs") == HUGE:
        values = {"min_passes": 1, "max_runs": 2**62}  # TOML integers are 64-bit
        words = f"max_runs must be at most {MAX_RUNS}, got {2**62}"
    stderr = refused(run_cli, tmp_path, thresholds_options(tmp_path, form, {"test_name": "test_bad", **values}))
    assert "entry 1 (test_name='test_bad')" in stderr and words in stderr


@pytest.mark.parametrize(
    "options, env, words",
    [
        (["--max-runs", str(HUGE)], {}, f"--min-passes/--max-runs: max_runs must be at most {MAX_RUNS}, got {HUGE}"),
        (["--min-passes", str(MAX_RUNS + 1)], {}, f"--min-passes/--max-runs: min_passes must be at most {MAX_RUNS}, got {MAX_RUNS + 1}"),
        ([], {"JUNIT_FLAKY_MAX_RUNS": "1000"}, f"--min-passes/--max-runs: max_runs must be at most {MAX_RUNS}, got 1000"),
    ],
)
def test_option_beyond_the_maximum_exits_2(run_cli, tmp_path: Path, monkeypatch, options: List[str], env: Dict, words: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = run_cli("run", report_of(tmp_path, ["test_a"]), "--no-rerun", "--no-flakybot", *options)
    assert result.exit_code == 2
    assert result.stderr == f"junit-flaky: error: {words}\n"


def test_pyproject_default_beyond_the_maximum_exits_2(run_cli, tmp_path: Path) -> None:
    write_pyproject(tmp_path, f"[tool.junit-flaky]\nmax-runs = {MAX_RUNS + 1}\n")
    result = run_cli("run", report_of(tmp_path, ["test_a"]), "--no-rerun", "--no-flakybot")
    assert result.exit_code == 2
    assert f"pyproject.toml [tool.junit-flaky]: max-runs must be at most {MAX_RUNS}, got {MAX_RUNS + 1}" in result.stderr


def test_the_maximum_itself_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "th.json"
    path.write_text(json.dumps({"flaky_tests": [{"test_name": "test_a", "min_passes": MAX_RUNS, "max_runs": MAX_RUNS}]}))
    [found] = load_file(path, BUILTIN)
    assert (found.thresholds.min_passes, found.thresholds.max_runs) == (MAX_RUNS, MAX_RUNS)
    assert defaults({}, None, MAX_RUNS).max_runs == MAX_RUNS
