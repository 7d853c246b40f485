"""The command line: typer commands that wire the stages together (errors go through console.py)."""

# No `from __future__ import annotations`: typer reads the commands' annotations on every start,
# and as objects, not strings, they need no evaluation (about 5 ms of each start). Annotations
# that name modules imported only for type checking are strings.

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional, Sequence, Tuple

import typer

# Only what typer needs to build the commands is imported here; each command imports the stages
# it runs, so --version, --help and a run's own start do not pay for the others (sqlite3, the
# XML writer, rich's tables and progress bars).
from junit_flaky import __version__, cli_help, flakybot
from junit_flaky import quarantine_commands, quarantine_location
from junit_flaky.console import bounded, stderr, stdout, warn
from junit_flaky.errors import EXIT_FAILED, EXIT_OK, EXIT_UPLOAD, JunitFlakyError
from junit_flaky.history import commands as history_commands
from junit_flaky.history import location as history_location

if TYPE_CHECKING:
    from junit_flaky import codeowners, config, rerun_prestart
    from junit_flaky import thresholds as thresholds_mod

app = cli_help.command_group(
    "Decide flaky tests from JUnit XML by Flakybot thresholds, rerun only the open ones "
    "with pytest, and write one aggregated JUnit report."
)


def _resolver(
    project: "config.Project", thresholds_file: Optional[Path], min_passes: Optional[int], max_runs: Optional[int],
    use_flakybot: bool, flakybot_timeout: float, history_db: Optional[Path],
    quarantines: "Sequence[thresholds_mod.ThresholdTable]" = (),
) -> "thresholds_mod.Resolver":
    """All threshold sources, in increasing priority; ``history_db`` None: learn nothing from history.
    ``quarantines``: what quarantines a test whatever its rule (see ``_quarantines``)."""
    from junit_flaky import config
    from junit_flaky import thresholds as thresholds_mod

    default = thresholds_mod.defaults(project[0], min_passes, max_runs)
    tables = [thresholds_mod.ThresholdTable(config.entries(project, default))]
    if history_db is not None:  # learned, so below every list a person wrote
        tables.insert(0, thresholds_mod.ThresholdTable(_learned(history_db)))
    if thresholds_file is not None:
        tables.append(thresholds_mod.ThresholdTable(thresholds_mod.load_file(thresholds_file, default)))
    if use_flakybot:
        answer = flakybot.fetch(os.environ, default, timeout=flakybot_timeout)
        for warning in answer.warnings:
            warn(warning)
        tables.append(thresholds_mod.ThresholdTable(answer.entries))
    return thresholds_mod.Resolver(default, tables, quarantines)


def _quarantines(path: Path) -> "List[thresholds_mod.ThresholdTable]":
    """The entries in force today of the quarantine file at ``path`` (``quarantine_location``);
    an entry past its ``until`` is named in a warning (its test's failures fail the build again)."""
    from junit_flaky import quarantine_file
    from junit_flaky import thresholds as thresholds_mod

    entries = quarantine_file.load(path)
    today = quarantine_file.today()
    for entry in entries:
        if entry.expired(today):
            warn(f"{path}: the quarantine of {entry.test} ended on {entry.until}; remove it with `junit-flaky quarantine remove`")
    return [thresholds_mod.ThresholdTable(quarantine_file.threshold_entries(entries, f"quarantine file {path}", today))]


def _auto_quarantines(
    db: Optional[Path], by_hand: "Sequence[thresholds_mod.ThresholdTable]"
) -> "Tuple[List[thresholds_mod.ThresholdTable], List[str]]":
    """``--auto-quarantine``: start and end quarantines by the history's policy (a test listed
    ``by_hand`` is left to its file); the ones that hold now, and a note for the report on each
    it started or ended. A history that cannot be read is a warning: the build goes on with the
    quarantines listed by hand."""
    if db is None:
        return [], []
    import time

    from junit_flaky import thresholds as thresholds_mod
    from junit_flaky.history import auto_quarantine
    from junit_flaky.history.store import open_store

    try:
        with open_store(db, create=False) as store:
            changes = auto_quarantine.refresh(
                store, auto_quarantine.Policy(), time.time(), lambda test: any(t.match(test) for t in by_hand)
            )
    except JunitFlakyError as exc:
        warn(f"no automatic quarantine: {exc}")
        return [], []
    notes = [f"quarantined {auto_quarantine.label(q)} automatically: {q.reason}" for q in changes.started]
    notes += [f"released {auto_quarantine.label(q)} from quarantine: {q.release_reason}" for q in changes.released]
    return [thresholds_mod.ThresholdTable(auto_quarantine.threshold_entries(changes.active, f"history {db}"))], notes


def _learned(db: Path) -> "List[thresholds_mod.Entry]":
    """Thresholds from the history; one that cannot be read is a warning, as the Flakybot API
    being down is: the other sources still decide."""
    from junit_flaky.history.learn import thresholds_from_history

    try:
        return thresholds_from_history(db)
    except JunitFlakyError as exc:
        warn(f"no thresholds from history: {exc}")
        return []


def _history_dbs(
    project: "config.Project", start: Path, option: Optional[str], switches: Sequence[Tuple[str, Optional[bool]]]
) -> List[Optional[Path]]:
    """For each (pyproject key, option value) switch: the history database when it is on (by
    option, env var or pyproject.toml), else None."""
    from junit_flaky import config

    on = [config.switch(project[0], key, given) for key, given in switches]
    if not any(on):
        if option:
            names = [f"--{key}" for key, _ in switches]
            off = f"none of {', '.join(names[:-1])} or {names[-1]} is on" if len(names) > 1 else f"{names[0]} is off"
            warn(f"--history-db {history_location.shown(option)} is unused: {off}")
        return [None] * len(switches)
    db = history_location.resolve_db_path(option, os.environ, start)  # once, however many switches are on
    if isinstance(db, history_location.DatabaseUrl):  # bad set-up, not a history that is down
        from junit_flaky.history import postgres

        postgres.check_setup(db)
    return [db if is_on else None for is_on in on]


def _targets(requested: Sequence[str]) -> List[str]:
    """``--upload``/``--to`` values: target names, or ``auto`` for what fits this CI and its tokens."""
    if not requested:  # most runs upload nothing: no need for the uploaders and their HTTP client
        return []
    from junit_flaky import upload

    targets: List[str] = []
    for name in requested:
        if name == "auto":
            targets += upload.default_targets(os.environ)
        elif name in upload.TARGETS:
            targets.append(name)
        else:
            raise JunitFlakyError(f"unknown upload target {name!r} (known: auto, {', '.join(upload.TARGETS)})")
    return list(dict.fromkeys(targets))


def _upload(
    paths: Sequence[Path], targets: Sequence[str], build_passed: Optional[bool], artifact_base: Optional[str],
    timeout: Optional[float], owners: "Optional[codeowners.OwnerLookup]" = None,
) -> bool:
    """Send the reports; print one line per target. True when every upload went through.
    ``owners`` names each test's owners in the annotation and the job summary."""
    from junit_flaky import upload
    from junit_flaky.http_client import Http

    if not targets:
        stdout.print("junit-flaky: no upload target fits this environment; nothing uploaded", markup=False)
        return True
    http = Http() if timeout is None else Http(deadline=timeout)
    outcomes = upload.upload(
        paths, targets, os.environ, build_passed=build_passed, artifact_base=artifact_base, http=http, owners=owners
    )
    for outcome in outcomes:
        console = stdout if outcome.ok else stderr
        console.print(f"junit-flaky: upload {'ok' if outcome.ok else 'FAILED'}: {outcome}", markup=False)
    return all(outcome.ok for outcome in outcomes)


ReportsArg = Annotated[List[str], typer.Argument(metavar="REPORT...", help="JUnit XML files or globs; several are merged (parallel shards).", show_default=False)]
ThresholdsOpt = Annotated[Optional[Path], typer.Option("--thresholds", metavar="FILE", help="Thresholds file: JSON in the Flakybot API's shape ({\"flaky_tests\": [{\"test_name\", \"class_name\", \"min_passes\", \"max_runs\", \"quarantined\"}]}; a saved API answer works) or TOML ([[flaky_tests]] tables with the same keys). A quarantined test is never rerun and never fails the build.", envvar="JUNIT_FLAKY_THRESHOLDS", dir_okay=False)]
MinPassesOpt = Annotated[Optional[int], typer.Option("--min-passes", metavar="K", help="min_passes for tests no source lists (default: 1).", envvar="JUNIT_FLAKY_MIN_PASSES")]
MaxRunsOpt = Annotated[Optional[int], typer.Option("--max-runs", metavar="N", help="max_runs for tests no source lists (default: 1, or K).", envvar="JUNIT_FLAKY_MAX_RUNS")]
NoFlakybotOpt = Annotated[bool, typer.Option("--no-flakybot", help="Do not ask the Flakybot API, even with AVIATOR_API_TOKEN set.")]
# An HTTP request's deadline: an hour is plenty (more is a typo), and threads and sockets refuse
# timeouts beyond a few billion seconds.
REQUEST_TIMEOUT_MAX = 3600.0
FlakybotTimeoutOpt = Annotated[float, typer.Option("--flakybot-timeout", metavar="SECONDS", help="Seconds the Flakybot API may take in all, retries and waits included.", min=0.1, max=REQUEST_TIMEOUT_MAX)]
UploadOpt = Annotated[Optional[List[str]], typer.Option("--upload", metavar="TARGET", help="Upload the written report to TARGET (repeatable): auto, buildkite-artifact, buildkite-annotation, buildkite-test-engine, aviator, circleci, github-actions.", envvar="JUNIT_FLAKY_UPLOAD")]
StrictUploadOpt = Annotated[bool, typer.Option("--strict-upload", help="A failed upload fails the step (exit 3) instead of a warning.")]
UploadTimeoutOpt = Annotated[Optional[float], typer.Option("--upload-timeout", metavar="SECONDS", help="Seconds each HTTP upload request (Test Engine, Aviator) may take, retries and waits included (default: 300).", envvar="JUNIT_FLAKY_UPLOAD_TIMEOUT", min=0.1, max=REQUEST_TIMEOUT_MAX, show_default=False)]
ArtifactBaseOpt = Annotated[Optional[str], typer.Option("--artifact-base", metavar="URL", help="URL prefix for links to the reports in the Buildkite annotation.")]
HistoryDbOpt = Annotated[Optional[str], typer.Option("--history-db", metavar="PATH|URL", help=history_location.HELP, show_default=False)]
FromHistoryOpt = Annotated[Optional[bool], typer.Option("--thresholds-from-history/--no-thresholds-from-history", help="Learn thresholds from the history database (below the listed sources in priority).", envvar="JUNIT_FLAKY_THRESHOLDS_FROM_HISTORY", show_default=False)]
QuarantineFileOpt = Annotated[Optional[str], typer.Option("--quarantine-file", metavar="PATH", help=quarantine_location.HELP, show_default=False)]
CodeownersOpt = history_commands.CodeownersOpt
RootdirOpt = Annotated[Optional[Path], typer.Option("--rootdir", metavar="DIR", help="Where the reruns run and pyproject.toml is found (default: the current directory).", file_okay=False, exists=True)]
ProjectDirOpt = Annotated[Optional[Path], typer.Option("--rootdir", metavar="DIR", help="Where pyproject.toml is found (default: the current directory).", file_okay=False, exists=True)]


def _refuse_to_replace_inputs(
    reports: Sequence[Path], output: Optional[Path], json_path: Optional[Path], rerun_log: Optional[Path],
    others: Sequence[Tuple[str, "Optional[history_location.Location]"]],
) -> None:
    """run's outputs never land on a file it reads (``others``: what each is, and its path or
    None), nor on one another: --output alone may name a report, to rewrite it in place."""
    from junit_flaky.files import refuse_to_replace

    others = [(what, path) for what, path in others if isinstance(path, Path)]  # not a PostgreSQL URL
    read = [("a report it reads", report) for report in reports] + others
    refuse_to_replace(output, "--output", others)
    refuse_to_replace(json_path, "--json", read + [("the --output report", output)])
    refuse_to_replace(rerun_log, "--rerun-log", read + [("the --output report", output), ("the --json report", json_path)])


@dataclass(frozen=True)
class Invocation:
    """What the entry point (entry.py) took from the command line before click saw it."""

    rerun_command: List[str]
    rerun_ahead: "Optional[rerun_prestart.Prestart]" = None  # the reruns' interpreter, started meanwhile


@app.command(cls=cli_help.RunCommand)
@bounded
def run(
    ctx: typer.Context,
    reports: ReportsArg,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Where to write the aggregated JUnit XML (written atomically; may name an input).", dir_okay=False)] = None,
    thresholds: ThresholdsOpt = None,
    min_passes: MinPassesOpt = None,
    max_runs: MaxRunsOpt = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", metavar="FILE", help="Also write the machine-readable report here.", dir_okay=False)] = None,
    no_rerun: Annotated[bool, typer.Option("--no-rerun", help="Decide from the report alone; open tests end failed.")] = False,
    no_flakybot: NoFlakybotOpt = False,
    flakybot_timeout: FlakybotTimeoutOpt = flakybot.TIMEOUT,
    rootdir: RootdirOpt = None,
    workers: Annotated[int, typer.Option("--workers", metavar="N", help="Rerun in N processes with pytest-xdist (-n N).", min=1)] = 1,
    rerun_timeout: Annotated[float, typer.Option("--rerun-timeout", metavar="SECONDS", help="Seconds one rerun attempt (or pytest's start and collection, or any stretch without a test running, such as its exit) may take before the process is killed.", min=1)] = 600.0,
    max_reruns_total: Annotated[int, typer.Option("--max-reruns-total", metavar="N", help="Rerun nothing when more failing tests than this need reruns (a broken build, not flakiness); passing tests that only need more passes do not count.", min=0)] = 50,
    rerun_budget: Annotated[Optional[float], typer.Option("--rerun-budget", metavar="SECONDS", help="Seconds the whole rerun step may take; when spent, the rerun is stopped and the tests still open end failed (default: no limit).", min=1, show_default=False)] = None,
    rerun_log: Annotated[Optional[Path], typer.Option("--rerun-log", metavar="FILE", help="Append the rerun's pytest output to this file (default: shown only when something goes wrong).", dir_okay=False)] = None,
    upload: UploadOpt = None,
    strict_upload: StrictUploadOpt = False,
    upload_timeout: UploadTimeoutOpt = None,
    artifact_base: ArtifactBaseOpt = None,
    codeowners_file: CodeownersOpt = None,
    fail_on_flaky: Annotated[Optional[bool], typer.Option("--fail-on-flaky/--no-fail-on-flaky", help="A flaky verdict fails the build (exit 1), e.g. on release branches; quarantined tests still do not.", envvar="JUNIT_FLAKY_FAIL_ON_FLAKY", show_default=False)] = None,
    thresholds_from_history: FromHistoryOpt = None,
    record_history: Annotated[Optional[bool], typer.Option("--record-history/--no-record-history", help="Record every attempt of this run, reruns included, in the history database.", envvar="JUNIT_FLAKY_RECORD_HISTORY", show_default=False)] = None,
    fail_on_flake_regression: Annotated[Optional[bool], typer.Option("--fail-on-flake-regression/--no-fail-on-flake-regression", help="Fail the build when the history flags a test whose flake rate rose (needs --record-history: the check reads this run in the history).", envvar="JUNIT_FLAKY_FAIL_ON_FLAKE_REGRESSION", show_default=False)] = None,
    history_db: HistoryDbOpt = None,
    quarantine_file: QuarantineFileOpt = None,
    auto_quarantine: Annotated[Optional[bool], typer.Option("--auto-quarantine/--no-auto-quarantine", help="Quarantine the tests the history shows flaky beyond the policy, and release them after clean builds (README: Managing flaky tests).", envvar="JUNIT_FLAKY_AUTO_QUARANTINE", show_default=False)] = None,
    new_test_runs: Annotated[Optional[int], typer.Option("--new-test-runs", metavar="N", help="Run each test the history has never seen, that passed, until it has N runs in all; a failure among them makes it flaky on arrival, which fails the build (default: 8 when a history is in use; 1 turns it off).", envvar="JUNIT_FLAKY_NEW_TEST_RUNS", show_default=False)] = None,
    new_test_budget: Annotated[Optional[float], typer.Option("--new-test-budget", metavar="SECONDS", help="Seconds for all new tests' extra runs, by their durations in the report: slow tests get fewer runs (default: 300).", envvar="JUNIT_FLAKY_NEW_TEST_BUDGET", show_default=False)] = None,
    allow_new_flaky: Annotated[Optional[bool], typer.Option("--allow-new-flaky/--no-allow-new-flaky", help="A new test flaky on arrival is reported, but does not fail the build.", envvar="JUNIT_FLAKY_ALLOW_NEW_FLAKY", show_default=False)] = None,
    test_exit_code: Annotated[Optional[int], typer.Option("--test-exit-code", metavar="CODE", help="The test step's exit code: any but 0 and 1 (interrupted, internal error, usage error, no tests) fails the run, since its report may be partial; so does a report without a testcase.", envvar="JUNIT_FLAKY_TEST_EXIT_CODE", show_default=False)] = None,
) -> None:
    """Decide every test of REPORT..., rerun the open ones, write one report.

    Everything after "--" is the command the reruns start (default: this Python's "-m pytest").

    \b
    Exit code: 0 the build passes (flaky and quarantined tests do not fail it);
    1 it fails: a failed verdict, a new test flaky on arrival, a failure recorded
      on a suite, a test step cut short (--test-exit-code), a flaky verdict with
      --fail-on-flaky, a flake-rate regression with --fail-on-flake-regression;
    2 bad input or usage; 3 an upload failed with --strict-upload.
    """
    from junit_flaky import codeowners, config, junit_read, new_tests, pipeline, progress, report, reruns

    targets = _targets(upload or [])
    if targets and output is None:
        raise JunitFlakyError("--upload needs --output: the aggregated report is what is uploaded")
    start = rootdir or Path.cwd()
    paths = junit_read.expand(reports)  # before asking Flakybot: a missing report fails fast
    project = config.load(start)
    owners = codeowners.configured(start, codeowners_file, os.environ, warn)  # before the reruns: a bad file fails fast
    # --new-test-runs given (or new-test-runs in pyproject.toml) reads the history even when no
    # switch records or learns from it; otherwise it is on wherever a history is in use.
    learn_from, record_to, quarantine_from, asked_db = _history_dbs(
        project, start, history_db,
        [("thresholds-from-history", thresholds_from_history), ("record-history", record_history), ("auto-quarantine", auto_quarantine),
         ("new-test-runs", True if new_test_runs is not None else None)],
    )
    pyproject = config.find_pyproject(start)
    quarantine_path = quarantine_location.resolve_path(quarantine_file, os.environ, start)
    _refuse_to_replace_inputs(paths, output, json_path, rerun_log, [
        ("the --thresholds file", thresholds), ("pyproject.toml", pyproject), ("the quarantine file", quarantine_path),
        ("the CODEOWNERS file", owners.codeowners.path if isinstance(owners, codeowners.TestOwners) else None),
        *(("the history database", db) for db in (learn_from, record_to, quarantine_from)),
    ])
    fail_regressions = config.switch(project[0], "fail-on-flake-regression", fail_on_flake_regression)
    if fail_regressions and record_to is None:  # a gate that could never close must not look like one that passed
        raise JunitFlakyError("--fail-on-flake-regression needs --record-history: the check reads this run in the history")
    new_test_options = new_tests.options(
        project[0], pyproject, new_test_runs, new_test_budget,
        config.switch(project[0], "allow-new-flaky", allow_new_flaky),
        asked_db or learn_from or record_to or quarantine_from,
    )
    quarantines = _quarantines(quarantine_path)
    automatic, quarantine_notes = _auto_quarantines(quarantine_from, quarantines)
    quarantines += automatic
    resolver = _resolver(project, thresholds, min_passes, max_runs, not no_flakybot, flakybot_timeout, learn_from, quarantines)
    rerun = None if no_rerun else reruns.RerunOptions(
        command=ctx.obj.rerun_command if isinstance(ctx.obj, Invocation) else [], rootdir=start, workers=workers, timeout=rerun_timeout,
        max_tests=max_reruns_total, log=rerun_log, budget=rerun_budget,
        ahead=ctx.obj.rerun_ahead if isinstance(ctx.obj, Invocation) else None,
    )
    outcome = pipeline.run(
        paths, resolver, rerun, progress.for_console(stdout), output=output, record_to=record_to, test_exit_code=test_exit_code,
        new_test_options=new_test_options, fail_on_flake_regression=fail_regressions,
        fail_on_flaky=config.switch(project[0], "fail-on-flaky", fail_on_flaky),
    )
    outcome.notes[:0] = quarantine_notes
    if outcome.log_tail:
        stderr.print("junit-flaky: last lines of the rerun's output:", markup=False)
        for line in outcome.log_tail:
            stderr.print(f"  | {line}", markup=False)
    for warning in outcome.warnings:
        warn(warning)
    if outcome.recorded:
        stdout.print(f"junit-flaky: {outcome.recorded}", markup=False)
    results = outcome.results
    codeowners.assign(owners, results)
    summary = report.summarize(results, outcome.reading.scan.untracked_passed, outcome.reading.scan.untracked_skipped)
    report.print_report(stdout, results, summary, outcome.notes)
    if json_path is not None:
        report.write_json(
            json_path, results, summary, outcome.notes, outcome.failed, [r.as_json() for r in outcome.flake_regressions]
        )
    failed = outcome.failed
    uploaded = _upload([output], targets, not failed, artifact_base, upload_timeout, owners) if output and upload else True
    raise typer.Exit(EXIT_FAILED if failed else EXIT_UPLOAD if strict_upload and not uploaded else EXIT_OK)


@app.command("upload", cls=cli_help.Command)
@bounded
def upload_command(
    reports: ReportsArg,
    to: Annotated[Optional[List[str]], typer.Option("--to", metavar="TARGET", help="Target (repeatable): auto (default: what fits this CI and its tokens), buildkite-artifact, buildkite-annotation, buildkite-test-engine, aviator, circleci, github-actions.")] = None,
    strict_upload: StrictUploadOpt = False,
    upload_timeout: UploadTimeoutOpt = None,
    artifact_base: ArtifactBaseOpt = None,
    codeowners_file: CodeownersOpt = None,
) -> None:
    """Upload reports (usually run's --output) to Buildkite, Test Engine, Aviator, CircleCI or GitHub Actions.

    Exit code: 0 uploaded (or nothing fits), 2 bad input, 3 an upload failed with --strict-upload.
    """
    targets = _targets(to or ["auto"])
    from junit_flaky import codeowners, junit_read
    from junit_flaky.upload.reports import load

    # The same checks as run, once: malformed, hostile or non-JUnit XML stops here (exit 2).
    checked = [load(path) for path in junit_read.expand(reports)]
    owners = codeowners.configured(Path.cwd(), codeowners_file, os.environ, warn)
    uploaded = _upload(checked, targets, None, artifact_base, upload_timeout, owners)
    raise typer.Exit(EXIT_UPLOAD if strict_upload and not uploaded else EXIT_OK)


@app.command(cls=cli_help.Command)
@bounded
def merge(
    reports: ReportsArg,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Where to write the merged JUnit XML.", dir_okay=False)],
) -> None:
    """Merge reports, such as parallel shards each processed by "run", into one.

    Each test appears once with all its attempts; verdicts are what the reports say (no
    thresholds, no reruns). Exit code: 0 no failed test, 1 a failed test, 2 bad input.
    """
    from junit_flaky import junit_read, pipeline, report
    from junit_flaky.verdicts import plural

    outcome = pipeline.merge(junit_read.expand(reports), output)
    scan = outcome.reading.scan
    summary = report.summarize(outcome.results, scan.untracked_passed, scan.untracked_skipped)
    stdout.print(f"junit-flaky: merged {plural(len(scan.files), 'report')} into {output}: ", end="", markup=False)
    report.print_summary_line(stdout, summary)
    for note in outcome.suite_failures:
        stdout.print(f"junit-flaky: {note}", markup=False)
    raise typer.Exit(EXIT_FAILED if outcome.failed else EXIT_OK)


thresholds_app = cli_help.command_group("Show the thresholds in force, or compute them from the history.")
app.add_typer(thresholds_app, name="thresholds")


@thresholds_app.command("show", cls=cli_help.Command)
@bounded
def show_thresholds(
    reports: Annotated[Optional[List[str]], typer.Argument(metavar="[REPORT...]", help="Show what each test of these reports resolves to.", show_default=False)] = None,
    thresholds: ThresholdsOpt = None,
    min_passes: MinPassesOpt = None,
    max_runs: MaxRunsOpt = None,
    no_flakybot: NoFlakybotOpt = False,
    flakybot_timeout: FlakybotTimeoutOpt = flakybot.TIMEOUT,
    thresholds_from_history: FromHistoryOpt = None,
    history_db: HistoryDbOpt = None,
    quarantine_file: QuarantineFileOpt = None,
    rootdir: ProjectDirOpt = None,
) -> None:
    """Show the thresholds each source gives and, with REPORT..., what each listed test resolves to."""
    from junit_flaky import config, junit_read, report

    start = rootdir or Path.cwd()
    project = config.load(start)
    [learn_from] = _history_dbs(project, start, history_db, [("thresholds-from-history", thresholds_from_history)])
    quarantines = _quarantines(quarantine_location.resolve_path(quarantine_file, os.environ, start))
    resolver = _resolver(project, thresholds, min_passes, max_runs, not no_flakybot, flakybot_timeout, learn_from, quarantines)
    report.print_thresholds(stdout, resolver)
    if reports:
        scan = junit_read.scan(junit_read.expand(reports), watch=resolver.watch())
        report.print_resolved(stdout, [(t, resolver.resolve(t)) for t in scan.tracked])


# The history's commands live beside its modules; they hang off the same app.
app.add_typer(history_commands.history_app, name="history")
thresholds_app.command("compute", cls=cli_help.Command)(history_commands.compute_command)
app.command("stats", cls=cli_help.Command)(history_commands.stats_command)
app.add_typer(quarantine_commands.quarantine_app, name="quarantine")


def _version(value: bool) -> None:
    if value:
        stdout.print(f"junit-flaky {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True)] = False,
) -> None:
    pass

