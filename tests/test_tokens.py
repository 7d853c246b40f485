"""Token values never printed: whole, cut short, split between two writes or across lines."""

import json

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from junit_flaky import console, tokens
from junit_flaky.errors import EXIT_USAGE

TOKEN = "av_live_0123456789abcdefghijklmnop"
ENV = {tokens.AVIATOR: TOKEN}


@pytest.mark.parametrize(
    "text, shown",
    [
        (f"key {TOKEN}!", "key [redacted]!"),
        (f"{TOKEN}{TOKEN}", "[redacted][redacted]"),
        (f"first 30: {TOKEN[:30]}", "first 30: [redacted]"),  # cut short by a message's limit
        (f"{TOKEN[:12]}\n{TOKEN[12:]} folded", "[redacted]\n[redacted] folded"),  # folded by a table
        (f"cut to {TOKEN[:8]}…", "cut to [redacted]…"),
        (f"{TOKEN[:7]} {TOKEN[-7:]}", f"{TOKEN[:7]} {TOKEN[-7:]}"),  # under 8 characters: could be anything
        ("nothing secret: av_live 0123456", "nothing secret: av_live 0123456"),
    ],
)
def test_redact(text, shown):
    assert tokens.redact(text, ENV) == shown


@pytest.mark.parametrize("length", [8, 9])
def test_the_shortest_tokens_are_masked_and_nothing_else(length):
    token = TOKEN[:length]
    assert tokens.redact(f"key {token} and {token[:7]}", {tokens.AVIATOR: token}) == f"key [redacted] and {token[:7]}"


@pytest.mark.parametrize("var", ["JUNIT_FLAKY_AVIATOR_API_TOKEN", "JUNIT_FLAKY_BUILDKITE_ANALYTICS_TOKEN"])
def test_tokens_under_junit_flakys_own_names_are_masked(var):
    assert tokens.redact(f"key {TOKEN[:20]}", {var: TOKEN}) == "key [redacted]"


def test_short_values_are_placeholders_left_alone():
    assert tokens.redact("x marks the spot", {tokens.AVIATOR: "x"}) == "x marks the spot"


def test_a_token_split_between_two_prints_is_never_whole_on_screen(monkeypatch, capsys):
    monkeypatch.setenv(tokens.TEST_ENGINE, TOKEN)
    console.stderr.print(f"junit-flaky: {TOKEN[:15]}", end="", markup=False)
    console.stderr.print(f"{TOKEN[15:]} done", markup=False)
    err = capsys.readouterr().err
    assert err == "junit-flaky: [redacted][redacted] done\n"


@pytest.mark.parametrize("debug", ["", "1"])
def test_an_internal_error_is_printed_redacted_with_or_without_its_traceback(monkeypatch, capsys, debug):
    monkeypatch.setenv(tokens.AVIATOR, TOKEN)
    monkeypatch.setenv("JUNIT_FLAKY_DEBUG", debug)
    with pytest.raises(typer.Exit) as exit_:
        with console.error_boundary():
            raise RuntimeError(f"the answer held {TOKEN}")
    err = capsys.readouterr().err
    assert exit_.value.exit_code == EXIT_USAGE
    assert err.endswith("junit-flaky: internal error: RuntimeError: the answer held [redacted]"
                        + ("\n" if debug else " (set JUNIT_FLAKY_DEBUG=1 for the traceback)\n"))
    assert ("Traceback (most recent call last)" in err) == bool(debug)


def test_the_json_report_holds_no_token_a_test_printed(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv(tokens.TEST_ENGINE, TOKEN)
    report = tmp_path / "r.xml"
    report.write_text(
        '<testsuite name="s"><testcase classname="t" name="test_env">'
        f'<failure message="env: BUILDKITE_ANALYTICS_TOKEN={TOKEN}">trace</failure></testcase></testsuite>'
    )
    result = run_cli("run", report, "--no-rerun", "--json", tmp_path / "out.json")
    assert result.exit_code == 1
    written = (tmp_path / "out.json").read_text()
    assert json.loads(written)["tests"][0]["attempts"][0]["message"] == "env: BUILDKITE_ANALYTICS_TOKEN=[redacted]"
    assert TOKEN[:8] not in written + result.stdout + result.stderr


@given(
    token=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=8, max_size=48),
    around=st.lists(st.text(alphabet="ABCXYZ .:\n\t[]", max_size=20), min_size=2, max_size=2),
    cut=st.integers(min_value=0, max_value=48),
)
def test_redaction_hides_a_token_and_its_pieces_and_changes_nothing_else(token, around, cut):
    env = {tokens.TEST_ENGINE: token}
    before, after = around
    assert tokens.redact(before + after, env) == before + after  # no token character: untouched
    shown = tokens.redact(before + token + after, env)
    assert token not in shown and shown == before + "[redacted]" + after
    for piece in (token[:cut], token[cut:]):  # either side of a cut
        if len(piece) >= tokens.MIN_LENGTH:
            assert piece not in tokens.redact(before + piece + after, env)


def test_a_token_that_holds_the_mask_s_word_is_masked_once():
    token = "redacted0123"
    assert tokens.redact(f"a {token} b", {tokens.AVIATOR: token}) == "a [redacted] b"
