"""What the benchmarks share: timing a command with its peak memory, and printing ratios.

Machines are noisy, so every benchmark measures its baseline in the same run, alternating the
commands, and reports medians and ratios rather than trusting one absolute time.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence


OUT = Path(__file__).resolve().parent / "out"

# What any tree-based tool pays at least for a report: lxml parses it and writes it back.
LXML_ROUND_TRIP = """
import sys
from lxml import etree
parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
etree.parse(sys.argv[1], parser).write(sys.argv[2], encoding="utf-8", xml_declaration=True)
"""


def lxml_round_trip(report: Path, output: Path) -> List[str]:
    return [sys.executable, "-c", LXML_ROUND_TRIP, str(report), str(output)]


def junit_flaky(*args: str) -> List[str]:
    return [sys.executable, "-m", "junit_flaky", *args]


def add_out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=OUT, help="where inputs are cached and outputs written")


@dataclass
class Measure:
    seconds: List[float] = field(default_factory=list)
    peak_rss_mb: List[float] = field(default_factory=list)
    cpu_seconds: List[float] = field(default_factory=list)  # user + sys: less disturbed by the machine's load

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_rss_mb)

    @property
    def spread(self) -> str:
        return f"{min(self.seconds):.3f}-{max(self.seconds):.3f}"


def timed(command: Sequence[str], cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None,
          ok_codes: Sequence[int] = (0,)) -> tuple:
    """Wall time, peak RSS (MB) and CPU time (user + sys) of one command; wait4 gives the rusage of
    that child alone."""
    start = time.perf_counter()
    process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok_codes:
        error = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(command)}\n{error}")
    if process.stderr:
        process.stderr.close()
    process.returncode = code
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def cached(path: Path, make: Callable[[Path], None]) -> Path:
    """``path`` (under benchmarks/out/, which git ignores), made by ``make`` the first time; an
    interrupted ``make`` leaves nothing behind to be mistaken for a finished input."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        partial = path.with_name(path.name + ".partial")
        partial.unlink(missing_ok=True)
        make(partial)
        partial.rename(path)
    return path


def alternate(
    commands: Dict[str, Sequence[str]], repeat: int, before: Callable[[], None] = lambda: None,
    cwd: Optional[Path] = None, ok_codes: Sequence[int] = (0,),
) -> Dict[str, Measure]:
    """Each command ``repeat`` times, in turn, so drift on a noisy machine hits all alike;
    ``before`` runs untimed before every command (to reset what the last one changed)."""
    rows = {name: Measure() for name in commands}
    # An install has the package's bytecode (pip compiles it); a source checkout under
    # PYTHONDONTWRITEBYTECODE would compile every module on every run instead, and time that.
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "junit_flaky", quiet=1)
    for _ in range(repeat):
        for name, command in commands.items():
            before()
            seconds, rss, cpu = timed(command, cwd=cwd, ok_codes=ok_codes)
            rows[name].seconds.append(seconds)
            rows[name].peak_rss_mb.append(rss)
            rows[name].cpu_seconds.append(cpu)
    return rows


def written(report: Path) -> str:
    """What a benchmarked command wrote, printed so that a command that failed without writing
    (its exit code 1 is a failed verdict, not always an error) cannot pass for a fast one."""
    if not report.exists():
        raise SystemExit(f"benchmark: {report} was not written")
    data = report.read_bytes()
    return f"{report.name}: {data.count(b'<testcase')} testcases, {data.count(b'<failure')} failures"


def table(rows: Dict[str, Measure], baseline: str) -> str:
    """Medians, their ratio to the baseline's, the range of the runs (how noisy the machine was),
    the median CPU time and its ratio, and the highest peak RSS of any run; then the load average."""
    base, base_cpu = rows[baseline].median, rows[baseline].cpu_median
    lines = [f"{'command':<44} {'median s':>9} {'ratio':>7} {'min-max s':>15} {'CPU s':>7} {'ratio':>6} {'peak RSS MB':>12}"]
    for name, measure in rows.items():
        lines.append(
            f"{name:<44} {measure.median:>9.3f} {measure.median / base:>7.2f} {measure.spread:>15}"
            f" {measure.cpu_median:>7.2f} {measure.cpu_median / base_cpu:>6.2f} {measure.peak:>12.1f}"
        )
    lines.append("load average (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))
    return "\n".join(lines)
