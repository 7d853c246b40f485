"""The floors under the reading and recording goals: what pure Python pays for the least of each,
against the baseline those goals are set against, lxml parsing and writing the same report.

    python benchmarks/bench_floors.py [--testcases N] [--repeat R] [--out DIR]

Reading (the 1.0x goals), on bench_failing_report.py's report (20 suites, 2% failing with 40-line
traces) and on bench_large_report.py's pytest report (both generated once, cached under
benchmarks/out/): expat reading the file in the chunks junit_read reads it in, with no handlers;
with a start and an end handler that do nothing (the two Python calls per element that expat
makes); and with the least the scan does per testcase, its identity tuple built and hashed.
`python -c pass` and `import junit_flaky.cli` (junit-flaky's start-up) are rows of their own.

Recording (the 1.5x goal), for every attempt of the pytest report as junit-flaky's reader hands
them to the history (cached under benchmarks/out/ too): the identity key (store.key_of) of each;
the rows staged into a TEMP table with executemany, as HistoryStore.stage_keyed stages them; the
rows inserted into a table shaped like the history's attempts, the tests' ids known. Each of these
first loads its input; a row that only loads it is measured too, and each floor is given net of it.

The baseline, as in the goals' benchmarks, is what any tree-based tool pays at least: lxml
parses the report and writes it back (common.lxml_round_trip). Every row is a process of its
own, alternated with the others, so that its CPU time and peak RSS are its own (the floors are
`python -c` scripts importing no more than they use). At the end: the time each goal leaves
(reading: lxml's time less junit-flaky's start-up; recording: 1.5 x lxml's less `run
--no-rerun`'s) and which floors alone exceed it.
"""

from __future__ import annotations

import argparse
import marshal
import sqlite3
import subprocess
import sys
from array import array
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import bench_failing_report
import bench_large_report
from common import Measure, add_out_option, alternate, cached, junit_flaky, lxml_round_trip, table

from junit_flaky.junit_read import CHUNK

BASELINE = "lxml parse + write (baseline)"
PYTHON = "python -c pass"
STARTUP = "python -c 'import junit_flaky.cli'"
RUN = "junit-flaky run --no-rerun"
EXPAT = "expat, no handlers"
HANDLERS = "expat, start + end handlers doing nothing"
IDENTITY = "... + identity tuple and its hash()"
INPUT = "load the attempt rows (input of the next 3)"
KEY_OF = "key_of of each attempt's identity"
STAGE = "executemany into a TEMP table"
ATTEMPTS = "INSERT into attempts, the test ids known"

# junit_read._parse's loop: the file read in chunks of argv[2] bytes (junit_read.CHUNK), each
# handed to Parse. Options and handlers are set before it.
EXPAT_LOOP = """
with open(sys.argv[1], "rb") as handle:
    while True:
        chunk = handle.read(int(sys.argv[2]))
        parser.Parse(chunk, not chunk)
        if not chunk:
            break
"""
EXPAT_PARSER = "import sys\nfrom xml.parsers import expat\nparser = expat.ParserCreate()\n"
EMPTY_HANDLERS = """
def start(tag, attrs):
    pass
def end(tag):
    pass
parser.StartElementHandler, parser.EndElementHandler = start, end
"""
# The least the scan does with a testcase: its identity (junit_read.identity_of, inlined: a call
# less) and the identity's hash(); closures, as the scan's handlers are.
IDENTITY_HANDLERS = """
def handlers():
    suite = ""
    def start(tag, attrs):
        nonlocal suite
        if tag == "testcase":
            hash((attrs.get("classname", ""), attrs.get("name", ""), attrs.get("file", ""), suite))
        elif tag == "testsuite":
            suite = attrs.get("name", "")
    def end(tag):
        pass
    return start, end
parser.StartElementHandler, parser.EndElementHandler = handlers()
"""

# The recording floors' common start: the imports, the attempts' columns from argv[1], and a
# database at argv[2] opened as store.open_store opens the history. The columns are packed by
# ``attempt_columns`` (text columns NUL-separated, numbers as arrays, keys end to end): unpacked
# in C, they load in a fraction of the time a marshalled list of a million objects takes. Rows
# are zipped from the columns in C too, so a floor's time is its operation's own.
TEXTS = ("classname", "name", "file", "suite")
NUMBERS = ("outcome", "duration_ms", "test_id", "seq")
LOAD = f"TEXTS, NUMBERS = {TEXTS!r}, {NUMBERS!r}" + """
import marshal, sqlite3, sys
from array import array
from collections import deque
from itertools import repeat
from junit_flaky.history.store import KEY_SIZE, key_of
with open(sys.argv[1], "rb") as handle:
    packed = marshal.load(handle)
columns = {name: packed[name].decode("utf-8", "surrogatepass").split("\\0") for name in TEXTS}
columns.update((name, array("q", packed[name]).tolist()) for name in NUMBERS)
columns["key"] = [packed["key"][i:i + KEY_SIZE] for i in range(0, len(packed["key"]), KEY_SIZE)]
db = sqlite3.connect(sys.argv[2], isolation_level=None)
db.execute("PRAGMA synchronous = NORMAL")
db.execute("PRAGMA journal_mode = WAL")
"""
KEY_OF_EACH = """
deque(map(key_of, zip(columns["classname"], columns["name"], columns["file"], columns["suite"])), maxlen=0)
"""
# HistoryStore.stage_keyed: its TEMP table and its INSERT, in one transaction (the store stages
# a run in batches of RunRecorder.BATCH rows: more calls, the same rows).
STAGE_ROWS = """
db.execute(
    "CREATE TEMP TABLE IF NOT EXISTS staged (ordinal INTEGER PRIMARY KEY, key BLOB, classname TEXT,"
    " name TEXT, file TEXT, suite TEXT, outcome INTEGER, duration_ms INTEGER)"
)
db.execute("BEGIN")
db.executemany(
    "INSERT INTO temp.staged (key, classname, name, file, suite, outcome, duration_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    zip(*(columns[name] for name in ("key", "classname", "name", "file", "suite", "outcome", "duration_ms"))),
)
db.execute("COMMIT")
"""
# The attempts table of store._SCHEMA_V1 (its partial index over failures left out: any layout
# with a row per attempt pays the table, not that index), filled in one transaction with one
# run's attempts in the order of its primary key, as the tests' ids are already known.
INSERT_ATTEMPTS = """
db.execute(
    "CREATE TABLE attempts (run_id INTEGER NOT NULL, test_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " outcome INTEGER NOT NULL, duration_ms INTEGER NOT NULL, PRIMARY KEY (run_id, test_id, seq)) WITHOUT ROWID"
)
db.execute("BEGIN")
db.executemany(
    "INSERT INTO attempts (run_id, test_id, seq, outcome, duration_ms) VALUES (?, ?, ?, ?, ?)",
    zip(repeat(1), columns["test_id"], columns["seq"], columns["outcome"], columns["duration_ms"]),
)
db.execute("COMMIT")
"""


def attempt_columns(report: Path, path: Path) -> None:
    """Every attempt of ``report`` as recording stages it (history.reports.attempt_row of the
    reader's untracked testcases, less those of the tests it tracked in the end, then every
    attempt of those, as record.RunRecorder does), by column (see ``LOAD``), with its identity
    key, its test's id and its place among the test's attempts (seq). A test's attempts are
    together, so ids numbered by first appearance ascend, as the attempts' primary key does.

    Run in a process of its own (``attempt_columns_in_child``): a child's peak RSS counts its
    parent's at the start, and this one holds a million rows."""
    from junit_flaky.history.reports import attempt_row, read_reports
    from junit_flaky.history.store import key_of
    from junit_flaky.junit_attempts import parse_time

    untracked = []
    reports = read_reports([report], lambda test, outcome, time: untracked.append(attempt_row(test, outcome, parse_time(time))))
    tracked = dict(reports.tracked_attempts())
    rows = [row for row in untracked if row[:4] not in tracked]
    rows += [attempt_row(test, attempt.outcome, attempt.time) for test, attempts in tracked.items() for attempt in attempts]
    ids: Dict[tuple, int] = {}
    seen: Dict[int, int] = {}  # attempts so far by test id
    numbers = {name: array("q") for name in NUMBERS}
    for *identity, outcome, duration in rows:
        test_id = ids.setdefault(tuple(identity), len(ids) + 1)
        for name, value in zip(NUMBERS, (outcome, duration, test_id, seen.get(test_id, 0))):
            numbers[name].append(value)
        seen[test_id] = seen.get(test_id, 0) + 1
    # NUL cannot occur in XML text: it separates a column's values.
    packed = {name: "\0".join(column).encode("utf-8", "surrogatepass") for name, column in zip(TEXTS, zip(*rows))}
    packed.update((name, column.tobytes()) for name, column in numbers.items())
    packed["key"] = b"".join(key_of(row[:4]) for row in rows)
    with open(path, "wb") as out:
        marshal.dump(packed, out)


def attempt_columns_in_child(report: Path, path: Path) -> None:
    """``attempt_columns`` in a Python process of its own."""
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import bench_floors;"
        " bench_floors.attempt_columns(Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    subprocess.run([sys.executable, "-c", script, str(Path(__file__).resolve().parent), str(report), str(path)], check=True)


def python(script: str, *args: object) -> List[str]:
    return [sys.executable, "-c", script, *map(str, args)]


def reading_rows(report: Path, out: Path) -> Dict[str, List[str]]:
    return {
        BASELINE: lxml_round_trip(report, out / "floors-lxml.xml"),
        PYTHON: python("pass"),
        STARTUP: python("import junit_flaky.cli"),
        EXPAT: python(EXPAT_PARSER + EXPAT_LOOP, report, CHUNK),
        HANDLERS: python(EXPAT_PARSER + EMPTY_HANDLERS + EXPAT_LOOP, report, CHUNK),
        IDENTITY: python(EXPAT_PARSER + IDENTITY_HANDLERS + EXPAT_LOOP, report, CHUNK),
        RUN: junit_flaky("run", str(report), "--no-rerun", "--no-flakybot", "--output", str(out / "floors-junit-flaky.xml")),
    }


def recording_rows(columns: Path, db: Path) -> Dict[str, List[str]]:
    return {
        INPUT: python(LOAD, columns, db),
        KEY_OF: python(LOAD + KEY_OF_EACH, columns, db),
        STAGE: python(LOAD + STAGE_ROWS, columns, db),
        ATTEMPTS: python(LOAD + INSERT_ATTEMPTS, columns, db),
    }


def inserted(db: Path) -> str:
    """What the last row inserted, printed so that a floor that did nothing cannot pass for a fast one."""
    connection = sqlite3.connect(db)
    try:
        return f"{db.name}: {connection.execute('SELECT COUNT(*) FROM attempts').fetchone()[0]} attempts inserted"
    finally:
        connection.close()


def remove_database(db: Path) -> None:
    for path in db.parent.glob(db.name + "*"):
        path.unlink()


def pick(rows: Dict[str, Measure], names: Sequence[str]) -> Dict[str, Measure]:
    return {name: rows[name] for name in names}


def seconds(rows: Dict[str, Measure], name: str, less: Optional[str] = None) -> str:
    """The row's median CPU time (wall time in brackets), less another row's."""
    cpu, wall = rows[name].cpu_median, rows[name].median
    if less is not None:
        cpu, wall = cpu - rows[less].cpu_median, wall - rows[less].median
    return f"{cpu:.2f} s ({wall:.2f} s wall)"


def exceeding(rows: Dict[str, Measure], budget: float, floors: Sequence[str], less: str) -> str:
    over = [name for name in floors if rows[name].cpu_median - rows[less].cpu_median > budget]
    return "exceeding it alone: " + ("; ".join(over) if over else "none")


def reading_budget(title: str, rows: Dict[str, Measure]) -> List[str]:
    budget = rows[BASELINE].cpu_median - rows[STARTUP].cpu_median
    wall = rows[BASELINE].median - rows[STARTUP].median
    floors = (EXPAT, HANDLERS, IDENTITY)
    return [
        f"reading, {title}: 1.0x leaves lxml's {seconds(rows, BASELINE)} less start-up"
        f" {seconds(rows, STARTUP)} = {budget:.2f} s ({wall:.2f} s wall) to read and write the report",
        *(f"  floor, {name} (less {PYTHON}): {seconds(rows, name, PYTHON)}" for name in floors),
        f"  {exceeding(rows, budget, floors, PYTHON)}; left after the last floor:"
        f" {budget - rows[IDENTITY].cpu_median + rows[PYTHON].cpu_median:.2f} s",
    ]


def recording_budget(rows: Dict[str, Measure]) -> List[str]:
    budget = 1.5 * rows[BASELINE].cpu_median - rows[RUN].cpu_median
    wall = 1.5 * rows[BASELINE].median - rows[RUN].median
    floors = (KEY_OF, STAGE, ATTEMPTS)
    together = sum(rows[name].cpu_median - rows[INPUT].cpu_median for name in floors)
    return [
        f"recording: 1.5x leaves 1.5 x lxml's {seconds(rows, BASELINE)} less {RUN}'s {seconds(rows, RUN)}"
        f" = {budget:.2f} s ({wall:.2f} s wall) to record the history",
        *(f"  floor, {name} (less its input): {seconds(rows, name, INPUT)}" for name in floors),
        f"  {exceeding(rows, budget, floors, INPUT)}; the three together: {together:.2f} s, {together - budget:.2f} s over",
    ]


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testcases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_out_option(parser)
    args = parser.parse_args(argv)
    out, n = args.out, args.testcases
    failing = cached(out / f"failing-{n}.xml", lambda path: bench_failing_report.generate(path, n))
    pytest_report = cached(out / f"pytest-{n}.xml", lambda path: bench_large_report.generate(path, n))
    columns = cached(out / f"floors-attempts-{n}.marshal", lambda path: attempt_columns_in_child(pytest_report, path))
    db = out / "floors.sqlite"

    print(f"failing report: {failing} ({failing.stat().st_size / 1e6:.0f} MB, {n} testcases)")
    on_failing = alternate(reading_rows(failing, out), args.repeat, ok_codes=(0, 1))
    print(table(on_failing, BASELINE))

    print(f"\npytest report: {pytest_report} ({pytest_report.stat().st_size / 1e6:.0f} MB, {n} testcases)")
    reading = reading_rows(pytest_report, out)
    on_pytest = alternate({**reading, **recording_rows(columns, db)}, args.repeat, before=lambda: remove_database(db), ok_codes=(0, 1))
    print(table(pick(on_pytest, list(reading)), BASELINE))
    print("recording, the same runs:")
    print(table(pick(on_pytest, [BASELINE, RUN, INPUT, KEY_OF, STAGE, ATTEMPTS]), BASELINE))
    print(inserted(db))

    print("\nbudgets (median CPU time, wall time in brackets):")
    print("\n".join(reading_budget("failing report", on_failing)))
    print("\n".join(reading_budget("pytest report", on_pytest)))
    print("\n".join(recording_budget(on_pytest)))


if __name__ == "__main__":
    main()
