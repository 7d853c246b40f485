"""Third-party files the tests read, kept in tests/data so a fresh clone tests itself: each folder's
SOURCES.tsv gives every file's origin, commit and licence, and tests/data/NOTICE their notices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "junit-corpus"  # real JUnit reports from 30 producers; malformed/ must be rejected
SCHEMAS = DATA / "schemas"  # Surefire's XSDs, Buildkite's and CircleCI's schemas


def load_schema(name: str) -> Any:
    """A JSON Schema from tests/data/schemas, written as YAML or JSON."""
    text = (SCHEMAS / name).read_text(encoding="utf-8")
    return yaml.safe_load(text) if name.endswith((".yml", ".yaml")) else json.loads(text)
