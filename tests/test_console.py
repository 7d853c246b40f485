"""What the consoles print is the text given: names of files and tests are the user's, and a
name such as ``shard:x:.xml`` must not come out as ``shard❌.xml``."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli_core import real_cli


def test_an_error_names_the_file_as_given_without_emoji_codes_replaced(tmp_path: Path) -> None:
    done = real_cli("run", "shard:x:.xml", "--no-rerun", cwd=tmp_path)
    assert done.returncode == 2
    assert "shard:x:.xml" in done.stderr, done.stderr


def test_an_error_names_the_test_as_given_without_emoji_codes_replaced(tmp_path: Path) -> None:
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text('{"flaky_tests": [{"test_name": "test_ok:tada:", "class_name": "c", "min_passes": 2, "max_runs": 1}]}')
    done = real_cli("thresholds", "show", "--no-flakybot", "--thresholds", thresholds, cwd=tmp_path)
    assert done.returncode == 2
    assert "test_name='test_ok:tada:'" in done.stderr, done.stderr
