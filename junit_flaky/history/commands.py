"""The history commands: typer wiring only; the work is done in the modules beside this one.

``history_app`` holds ``history record|import|prune``; ``compute_command`` and ``stats_command``
are registered by the main CLI as ``thresholds compute`` and ``stats``.
"""

# No `from __future__ import annotations`: typer reads the commands' annotations on every start,
# and as objects, not strings, they need no evaluation (about 5 ms of each start). Annotations
# that name modules imported only for type checking are strings.

import enum
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Dict, List, Optional, Tuple

import typer

# Only what the options' help and defaults need is imported here (the CLI builds every command
# on each start); each command imports the modules that do its work.
from junit_flaky import cli_help
from junit_flaky.console import bounded, stderr, stdout, warn
from junit_flaky.errors import JunitFlakyError
from junit_flaky.history import location as history_location
from junit_flaky.history.estimate import Prior
from junit_flaky.history.location import resolve_db_path
from junit_flaky.history.settings import DAY, Settings
from junit_flaky.limits import MAX_RUNS

if TYPE_CHECKING:
    from junit_flaky.history.learn import Computed, TestHistory

history_app = cli_help.command_group(
    "Keep every test attempt in a SQLite file or a PostgreSQL database, to learn thresholds and flakiness from."
)


def _db(option: Optional[str]) -> Path:
    return resolve_db_path(option, os.environ, Path.cwd())


DbOpt = Annotated[Optional[str], typer.Option("--db", metavar="PATH|URL", help=history_location.HELP, show_default=False)]
WindowOpt = Annotated[float, typer.Option("--window-days", metavar="DAYS", help="Only runs this recent count.", min=0.01)]
BranchOpt = Annotated[Optional[str], typer.Option("--branch", metavar="BRANCH", help="Only runs on this branch count (default: every branch).", show_default=False)]
PriorRateOpt = Annotated[float, typer.Option("--prior-rate", metavar="RATE", help="Prior mean flake rate of a test with flaky evidence.", min=0.0, max=1.0)]
# Also run's and upload's option (cli.py): one definition for the three commands.
CodeownersOpt = Annotated[Optional[Path], typer.Option("--codeowners", metavar="FILE", help="CODEOWNERS file that names each test's owners (default: the repository's, where GitHub or GitLab reads it; pyproject.toml: codeowners).", envvar="JUNIT_FLAKY_CODEOWNERS", dir_okay=False, exists=True, show_default=False)]
PriorWeightOpt = Annotated[float, typer.Option("--prior-weight", metavar="RUNS", help="How many runs the prior weighs.", min=0.0)]


@history_app.command("record", cls=cli_help.Command)
@bounded
def record_command(
    reports: Annotated[List[str], typer.Argument(metavar="REPORT...", help="JUnit XML files or globs, recorded as one run.", show_default=False)],
    commit: Annotated[Optional[str], typer.Option("--commit", metavar="SHA", help="Commit SHA (default: the CI's).", show_default=False)] = None,
    branch: Annotated[Optional[str], typer.Option("--branch", metavar="BRANCH", help="Branch (default: the CI's).", show_default=False)] = None,
    job: Annotated[Optional[str], typer.Option("--job", metavar="NAME", help="Job name (default: the CI's).", show_default=False)] = None,
    db: DbOpt = None,
) -> None:
    """Record every attempt of every test of REPORT... as one run."""
    from dataclasses import replace

    from junit_flaky import ci_env, junit_read
    from junit_flaky.history.record import record_reports
    from junit_flaky.verdicts import plural

    ci = ci_env.detect(os.environ)
    ci = replace(
        ci,
        commit=ci.commit if commit is None else commit,
        branch=ci.branch if branch is None else branch,
        label=ci.label if job is None else job,
    )
    path = _db(db)
    recorded = record_reports(path, junit_read.expand(reports), ci, time.time())
    if recorded is None:
        stdout.print(f"junit-flaky: these reports are in {path} already (same content, from the same build); nothing added", markup=False)
    else:
        stdout.print(f"junit-flaky: recorded {plural(recorded.attempts, 'attempt')} as run {recorded.run_id} in {path}", markup=False)


@history_app.command("import", cls=cli_help.Command)
@bounded
def import_command(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="Folder of past JUnit reports (*.xml, searched recursively); each file is one run.", file_okay=False)],
    db: DbOpt = None,
) -> None:
    """Bootstrap the history from past reports; reports imported before are skipped."""
    from junit_flaky.history.importer import import_folder
    from junit_flaky.verdicts import plural

    path = _db(db)
    result = import_folder(path, folder)
    for line in result.not_junit:
        warn(f"left out {line}")
    stdout.print(
        f"junit-flaky: imported {plural(result.recorded, 'report')} into {path}"
        f" ({result.already_known} known already, {len(result.not_junit)} left out)",
        markup=False,
    )


@history_app.command("prune", cls=cli_help.Command)
@bounded
def prune_command(
    older_than: Annotated[Optional[float], typer.Option("--older-than", metavar="DAYS", help="Delete runs older than this many days.", min=0, show_default=False)] = None,
    keep_runs: Annotated[Optional[int], typer.Option("--keep-runs", metavar="N", help="Keep only the newest N runs.", min=1, show_default=False)] = None,
    db: DbOpt = None,
) -> None:
    """Delete old runs and give the space back (keeps CI caches small)."""
    if older_than is None and keep_runs is None:
        raise JunitFlakyError("prune needs --older-than DAYS or --keep-runs N")
    from junit_flaky.history.store import open_store
    from junit_flaky.verdicts import plural

    path = _db(db)
    cutoff = None if older_than is None else time.time() - older_than * DAY
    with open_store(path, create=False) as store:
        pruned = store.prune(cutoff, keep_runs)
    stdout.print(
        f"junit-flaky: pruned {plural(pruned.runs, 'run')} ({plural(pruned.attempts, 'attempt')};"
        f" {plural(pruned.tests, 'test')} with no run left forgotten) from {path}",
        markup=False,
    )


@history_app.command("copy", cls=cli_help.Command)
@bounded
def copy_command(
    source: Annotated[str, typer.Option("--from", metavar="PATH|URL", help="The history to copy: a SQLite file or a postgresql:// URL.", show_default=False)],
    target: Annotated[str, typer.Option("--to", metavar="PATH|URL", help="The history to copy it into (created if need be); the runs it has already are left out.", show_default=False)],
) -> None:
    """Copy every run of one history into another, SQLite or PostgreSQL either way; again adds nothing."""
    from junit_flaky.history.copy import copy_history
    from junit_flaky.verdicts import plural

    source_at, target_at = history_location.database_at(source), history_location.database_at(target)
    copied = copy_history(source_at, target_at)
    stdout.print(
        f"junit-flaky: copied {plural(copied.runs, 'run')} ({plural(copied.attempts, 'attempt')}) from {source_at}"
        f" to {target_at} ({copied.already_there} there already), and {plural(copied.quarantines, 'automatic quarantine')}",
        markup=False,
    )


@bounded
def compute_command(
    db: DbOpt = None,
    alpha: Annotated[float, typer.Option("--alpha", metavar="A", help="Most a correct test may fail the build.", min=0.0, max=1.0)] = Settings.alpha,
    beta: Annotated[float, typer.Option("--beta", metavar="B", help="Most a regressed test may pass the build.", min=0.0, max=1.0)] = Settings.beta,
    regression_factor: Annotated[float, typer.Option("--regression-factor", metavar="R", help="A regressed test passes this many times less often than it did.", min=1.0)] = Settings.regression_factor,
    max_runs: Annotated[int, typer.Option("--max-runs", metavar="N", help="Cap on max_runs (at most the largest max_runs run accepts).", min=1, max=MAX_RUNS)] = Settings.max_runs,
    window_days: WindowOpt = Settings.window_days,
    branch: BranchOpt = None,
    prior_rate: PriorRateOpt = Prior.mean,
    prior_weight: PriorWeightOpt = Prior.weight,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Write the thresholds here (default: standard output).", dir_okay=False, show_default=False)] = None,
) -> None:
    """Compute each flaky test's min_passes/max_runs from the history, in the Flakybot JSON shape
    that "run --thresholds" reads."""
    import json

    from junit_flaky.files import atomic_write, refuse_to_replace
    from junit_flaky.history.learn import compute
    from junit_flaky.verdicts import plural

    settings = Settings(alpha, beta, regression_factor, max_runs, window_days, Prior(prior_rate, prior_weight), branch)
    path = _db(db)
    refuse_to_replace(output, "--output", [("the history database", path if isinstance(path, Path) else None)])
    computed = compute(path, settings)
    records = [
        {
            "test_name": c.history.name,
            "class_name": c.history.classname,
            "min_passes": c.choice.min_passes,
            "max_runs": c.choice.max_runs,
            "flake_rate": round(c.history.flake_rate, 6),
            "runs": c.history.evidence.runs,
            "flaky_failures": c.history.evidence.flaky_failures,
            "fail_correct": c.choice.fail_correct,
            "pass_regressed": c.choice.pass_regressed,
            "expected_runs": round(c.choice.expected_runs, 4),
        }
        for c in computed
    ]
    text = json.dumps({"flaky_tests": records}, indent=2) + "\n"
    if output is None:
        stdout.out(text, end="", highlight=False)
    else:
        with atomic_write(output) as handle:
            handle.write(text.encode("utf-8"))
    for c in computed:
        if not (c.choice.meets_alpha and c.choice.meets_beta):
            warn(_unreachable(c, settings))
    where = f" to {output}" if output is not None else ""
    stderr.print(f"junit-flaky: thresholds for {plural(len(computed), 'test')} with flaky evidence{where}", markup=False)


def _unreachable(computed: "Computed", settings: Settings) -> str:
    from junit_flaky.history import stats
    from junit_flaky.verdicts import plural

    choice, rate = computed.choice, computed.history.flake_rate
    test = stats.test_label(computed.history)
    rule = f"{choice.min_passes} of {choice.max_runs}"
    within = plural(settings.max_runs, "run")
    if not choice.meets_alpha:
        return (
            f"{test}: flake rate {rate:.1%}: within {within} it still fails the build with"
            f" p={choice.fail_correct:.2g} > alpha={settings.alpha:g}; using {rule}"
        )
    return (
        f"{test}: flake rate {rate:.1%}: within {within} a regressed test still passes with"
        f" p={choice.pass_regressed:.2g} > beta={settings.beta:g}; using {rule}, which meets alpha"
    )


def _owners_of(tests: "List[TestHistory]", owner: Optional[str], option: Optional[Path]) -> "Dict[TestHistory, Tuple[str, ...]]":
    """Each test's owners from CODEOWNERS, by the file its reports named, else its classname (pytest
    classnames taken from the current directory), as ``run`` finds them;
    empty without a CODEOWNERS file, which ``--owner`` needs."""
    from junit_flaky import codeowners
    from junit_flaky.model import TestId

    lookup = codeowners.configured(Path.cwd(), option, os.environ, warn)
    if lookup is None:
        if owner is not None:
            raise JunitFlakyError(f"--owner {owner} needs a CODEOWNERS file: none found (--codeowners FILE names one)")
        return {}
    return {t: lookup(TestId(t.classname, t.name, t.file)) for t in tests}


class Format(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


@bounded
def stats_command(
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="Show this many tests, flakiest first.", min=1)] = 20,
    output_format: Annotated[Format, typer.Option("--format", metavar="table|json|markdown", help="How to show them.")] = Format.TABLE,
    html_path: Annotated[Optional[Path], typer.Option("--html", metavar="FILE", help="Also write a self-contained HTML page with charts here.", dir_okay=False, show_default=False)] = None,
    window_days: WindowOpt = Settings.window_days,
    branch: BranchOpt = None,
    prior_rate: PriorRateOpt = Prior.mean,
    prior_weight: PriorWeightOpt = Prior.weight,
    owner: Annotated[Optional[str], typer.Option("--owner", metavar="NAME", help="Only the tests CODEOWNERS gives this owner (@org/team or org/team).", show_default=False)] = None,
    codeowners_file: CodeownersOpt = None,
) -> None:
    """The flakiest tests: flake rate, runs, last flaky failure, reruns and time spent rerunning."""
    import json

    from rich.console import Console

    from junit_flaky import codeowners
    from junit_flaky.files import atomic_write, refuse_to_replace
    from junit_flaky.history import auto_quarantine, html, regression, stats
    from junit_flaky.model import TestId
    from junit_flaky.quarantine_location import resolve_path as resolve_quarantine_path
    from junit_flaky.history.learn import flaky_tests
    from junit_flaky.history.store import open_store
    from junit_flaky.verdicts import plural

    path = _db(db)
    refuse_to_replace(html_path, "--html", [("the history database", path if isinstance(path, Path) else None)])
    settings = Settings(window_days=window_days, prior=Prior(prior_rate, prior_weight), branch=branch)
    now = time.time()
    with open_store(path, create=False) as store:
        tests = regression.with_rises(store, flaky_tests(store, settings, now), settings, now)
        in_force = auto_quarantine.in_force(store, resolve_quarantine_path(None, os.environ, Path.cwd()))
    quarantines = {t: q for t in tests for q in [in_force.resolve(TestId(t.classname, t.name)).quarantine] if q}
    owners = _owners_of(tests, owner, codeowners_file)
    if owner is not None:
        tests = [t for t in tests if codeowners.owned_by(owners.get(t, ()), owner)]
    columns = [*stats.COLUMNS, stats.owners_column(owners)] if any(owners.values()) else stats.COLUMNS
    if quarantines:
        columns = [*columns, stats.quarantine_column(quarantines)]
    shown = tests[:limit]
    if output_format is Format.JSON:
        stdout.out(json.dumps(stats.as_json(shown, owners, quarantines), indent=2), highlight=False)
    elif not tests:
        # Said of what was looked at: the history may hold flaky tests of other owners or branches.
        scope = (f" owned by {owner}" if owner is not None else "") + (f" on branch {branch}" if branch else "")
        stdout.out(f"No flaky test{scope} in the last {window_days:g} days.", highlight=False)
    elif output_format is Format.MARKDOWN:
        stdout.out(stats.as_markdown(shown, columns), end="", highlight=False)
    else:
        shown_of = f" (showing {limit})" if len(tests) > limit else ""
        stdout.out(f"{plural(len(tests), 'flaky test')} in the last {window_days:g} days{shown_of}", highlight=False)
        # A CI log is not a terminal: rich would assume 80 columns and fold every test's name.
        wide = stdout if stdout.is_terminal else Console(file=stdout.file, width=max(stdout.width, 160), highlight=False, emoji=False)
        wide.print(stats.as_table(shown, columns))
    if html_path is not None:
        with atomic_write(html_path) as handle:
            handle.write(html.page(tests, now, window_days, str(path)).encode("utf-8"))
        stderr.print(f"junit-flaky: wrote {html_path}", markup=False)
