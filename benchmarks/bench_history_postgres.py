"""The history in PostgreSQL against the SQLite file, in the same run: many builds recording at
once, and `thresholds compute` on a month of history.

    python benchmarks/bench_history_postgres.py [--recorders N] [--tests T] [--runs R] [--repeat K] [--out DIR]

Needs PostgreSQL's binaries (Debian's `postgresql` package, as .ci/run installs) and psycopg
(`pip install -e '.[test]'`): it starts its own server (tests/postgres_server.py) on loopback with
PostgreSQL's default durability (fsync on), and stops it at the end.

1. N (default 50) `history record` processes started at once, each recording a T-test report
   (default 10,000; 2% of the tests failed then passed on rerun) as a build of its own: the wall
   time until the last one is done, into a new SQLite file and into a new PostgreSQL database.
   SQLite writers queue for the file's one write lock; PostgreSQL's run side by side.
2. `thresholds compute` on T tests x R builds (default 720: 30 days hourly), bench_history.py's
   history (cached under benchmarks/out/), copied into PostgreSQL with `history copy`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from common import add_out_option, alternate, cached, junit_flaky, table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/postgres_server.py
from bench_history import build  # noqa: E402
from tests import postgres_server  # noqa: E402


def report(path: Path, tests: int) -> None:
    rng = random.Random(20261127)
    lines = ['<testsuite name="bench">']
    for t in range(tests):
        case = f'<testcase classname="tests.pkg{t % 100}.test_mod{t % 1000}" name="test_case_{t}" time="0.02"'
        if rng.random() < 0.02:
            lines.append(case + '><failure message="flaky">boom</failure></testcase>')
        lines.append(case + "/>")
    lines.append("</testsuite>")
    path.write_text("\n".join(lines) + "\n")


def recorders(target: str, xml: Path, count: int) -> float:
    """Wall time of ``count`` `history record` processes started at once into ``target``."""
    start = time.perf_counter()
    processes = [
        subprocess.Popen(junit_flaky("history", "record", str(xml), "--commit", f"c{n}", "--job", "bench", "--db", target),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for n in range(count)
    ]
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"history record failed: {err.decode(errors='replace')}")
    return time.perf_counter() - start


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recorders", type=int, default=50)
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=720)
    parser.add_argument("--repeat", type=int, default=3)
    add_out_option(parser)
    args = parser.parse_args(argv)
    out = args.out
    xml = cached(out / f"report-{args.tests}.xml", lambda path: report(path, args.tests))
    history = cached(out / f"history-{args.tests}x{args.runs}.sqlite", lambda path: build(path, args.tests, args.runs))
    with postgres_server.running(durable=True) as server:
        print(f"PostgreSQL {server.bindir.parent.name} on 127.0.0.1:{server.port}; SQLite {__import__('sqlite3').sqlite_version}")

        walls: Dict[str, List[float]] = {"SQLite file": [], "PostgreSQL": []}
        for n in range(args.repeat):
            fresh = out / f"recorders-{n}.sqlite"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{fresh}{suffix}").unlink(missing_ok=True)
            walls["SQLite file"].append(recorders(str(fresh), xml, args.recorders))
            walls["PostgreSQL"].append(recorders(server.new_database(), xml, args.recorders))
            fresh.unlink(missing_ok=True)
        print(f"\n{args.recorders} concurrent `history record` of a {args.tests}-test report, wall time until all are done:")
        base = statistics.median(walls["SQLite file"])
        for name, seconds in walls.items():
            median = statistics.median(seconds)
            print(f"  {name:<12} median {median:7.2f} s  ratio {median / base:5.2f}  runs {', '.join(f'{s:.2f}' for s in seconds)}")

        database = server.new_database()
        start = time.perf_counter()
        subprocess.run(junit_flaky("history", "copy", "--from", str(history), "--to", database), check=True)
        print(f"\n`history copy` of {history.name} into PostgreSQL: {time.perf_counter() - start:.1f} s")
        oldest = __import__("sqlite3").connect(history).execute("SELECT MIN(started) FROM runs").fetchone()[0]
        window = f"{(time.time() - oldest) / 86400 + 0.01:.3f}"
        commands = {
            "thresholds compute, SQLite file": junit_flaky("thresholds", "compute", "--db", str(history), "--window-days", window, "--output", str(out / "t-sqlite.json")),
            "thresholds compute, PostgreSQL": junit_flaky("thresholds", "compute", "--db", database, "--window-days", window, "--output", str(out / "t-postgres.json")),
        }
        print(f"\n`thresholds compute` on {args.tests} tests x {args.runs} builds:")
        print(table(alternate(commands, args.repeat), "thresholds compute, SQLite file"))
        same = (out / "t-sqlite.json").read_text() == (out / "t-postgres.json").read_text()
        print(f"the two thresholds files are {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
