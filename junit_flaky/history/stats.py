"""``junit-flaky stats``: the flakiest tests and what their flakiness cost, as data and as text."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from rich.table import Table
from rich.text import Text

from junit_flaky import model
from junit_flaky.history.learn import DAY, TestHistory
from junit_flaky.model import Quarantine


def day_of(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d")


def when(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def test_label(test: TestHistory) -> str:
    return model.test_label(test.classname, test.name)


# One list of columns for the table and the markdown: header, cell text, right-aligned.
Column = Tuple[str, Callable[[Any], str], bool]
COLUMNS: List[Column] = [
    ("Test", test_label, False),
    ("Flake rate", lambda t: f"{t.flake_rate:.1%}", True),
    ("Builds", lambda t: str(t.builds), True),
    ("Runs", lambda t: str(t.evidence.runs), True),  # reruns included: what the rate is out of
    ("Flaky failures", lambda t: str(t.evidence.flaky_failures), True),
    ("Last flaky", lambda t: when(t.last_flaky), False),
    ("Reruns", lambda t: str(t.reruns), True),
    ("Rerun time", lambda t: duration(t.rerun_seconds), True),
    ("Retried commits", lambda t: str(t.retried_commits), True),
    ("Rate rose", lambda t: "" if t.rate_rose is None else when(t.rate_rose), False),
]


def owners_column(owners: Mapping[TestHistory, Tuple[str, ...]]) -> Column:
    """The owners CODEOWNERS gives each test, as a column; only shown where a file gives some."""
    return ("Owners", lambda t: " ".join(owners.get(t, ())), False)


def quarantine_column(quarantines: Mapping[TestHistory, Quarantine]) -> Column:
    """Each quarantined test's quarantine and why; only shown where a test is quarantined."""
    return ("Quarantine", lambda t: quarantines[t].describe() if t in quarantines else "", False)


def as_json(
    tests: Sequence[TestHistory], owners: Optional[Mapping[TestHistory, Tuple[str, ...]]] = None,
    quarantines: Optional[Mapping[TestHistory, Quarantine]] = None,
) -> List[Dict[str, Any]]:
    owners = owners or {}
    quarantines = quarantines or {}
    return [
        {
            "class_name": t.classname,
            "test_name": t.name,
            "flake_rate": round(t.flake_rate, 6),
            "builds": t.builds,
            "runs": t.evidence.runs,
            "flaky_failures": t.evidence.flaky_failures,
            "last_flaky": datetime.fromtimestamp(t.last_flaky, timezone.utc).isoformat(),
            "reruns": t.reruns,
            "rerun_seconds": round(t.rerun_seconds, 3),
            "retried_commits": t.retried_commits,
            "rate_rose": None if t.rate_rose is None else datetime.fromtimestamp(t.rate_rose, timezone.utc).isoformat(),
            "owners": list(owners.get(t, ())),
            "quarantine": quarantines[t].as_json() if t in quarantines else None,
        }
        for t in tests
    ]


def as_table(tests: Sequence[Any], columns: Sequence[Column] = COLUMNS) -> Table:
    table = Table()
    for header, _, right in columns:
        table.add_column(header, justify="right" if right else "left", overflow="fold")
    for test in tests:
        table.add_row(*(Text(cell(test)) for _, cell, _ in columns))  # Text: "test_x[bold]" is a name, not markup
    return table


def as_markdown(tests: Sequence[Any], columns: Sequence[Column] = COLUMNS) -> str:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    lines = [row([h for h, _, _ in columns]), "|" + "|".join("---:" if r else "---" for _, _, r in columns) + "|"]
    lines += [row([cell(t) for _, cell, _ in columns]) for t in tests]
    return "\n".join(lines) + "\n"


def daily(times: Sequence[float], start: float, days: int) -> List[int]:
    """Counts per UTC day from ``start``'s day on, ``days`` of them; times outside are dropped."""
    first = int(start // DAY)
    counts = [0] * days
    for moment in times:
        index = int(moment // DAY) - first
        if 0 <= index < days:
            counts[index] += 1
    return counts
