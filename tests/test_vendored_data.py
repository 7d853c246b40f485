"""The third-party test data in tests/data: every file has its origin and an allowed licence in
its folder's SOURCES.tsv, every row names a file that is there, and NOTICE names every project."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List

import pytest

from tests.vendored import CORPUS, DATA, SCHEMAS

ALLOWED_LICENCES = {"MIT", "Apache-2.0", "MIT OR Apache-2.0"}


def rows(folder: Path) -> List[Dict[str, str]]:
    with open(folder / "SOURCES.tsv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def local_path(row: Dict[str, str]) -> str:
    return next(iter(row.values()))  # the first column: "local_path" in one file, "file" in the other


@pytest.mark.parametrize("folder", [CORPUS, SCHEMAS], ids=lambda p: p.name)
def test_every_vendored_file_has_a_row_with_an_allowed_licence(folder: Path) -> None:
    files = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "SOURCES.tsv"}
    listed = {local_path(row): row["license"] for row in rows(folder)}
    assert files == set(listed), "files without a SOURCES.tsv row, or rows without a file"
    assert {path: licence for path, licence in listed.items() if licence not in ALLOWED_LICENCES} == {}


def test_notice_names_every_project() -> None:
    notice = (DATA / "NOTICE").read_text(encoding="utf-8")
    projects = {row["repo"] for folder in (CORPUS, SCHEMAS) for row in rows(folder)}
    assert sorted(p for p in projects if p not in notice) == []
