"""CLI commands that read or write table data: ``datadesk import`` (and the acting user).

Every such command acts as a user: ``--as USER`` takes that user's roles and attributes, and the
access policy limits the command exactly as it limits the web pages; without ``--as`` the
command acts with full rights as ``system:<login name>``. Changes are audited under that name.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from datadesk.auth.actor import ADMIN_ROLE, Actor
from datadesk.cli_users import login_name
from datadesk.errors import AccessDenied, Interrupted, InvalidInput
from datadesk.settings import Settings

if TYPE_CHECKING:
    from datadesk.runtime import Runtime

CONFIG_HELP = "path to datadesk.yaml (default: $DATADESK_CONFIG)"
EXIT_TERMINATED = 143  # 128 + SIGTERM, as shells report a process ended by it
SHOWN_PROBLEMS = 20


def add_data_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``import`` to the command's sub-parsers."""
    imp = sub.add_parser(
        "import",
        help="import a workbook with an import profile",
        description="Read FILE with import profile PROFILE into its table, in one transaction.",
    )
    imp.add_argument("profile", metavar="PROFILE", help="name of an import profile")
    imp.add_argument("file", metavar="FILE", help=".xlsx, .xlsm, .xls, .ods or .csv file")
    imp.add_argument(
        "--dry-run", action="store_true", help="check everything, then roll back (no change)"
    )
    imp.add_argument(
        "--errors", metavar="OUT.xlsx", help="write the workbook with the problems marked here"
    )
    add_as_option(imp)
    imp.add_argument("--config", help=CONFIG_HELP)
    imp.set_defaults(handler=cmd_import)


def add_as_option(parser: argparse.ArgumentParser) -> None:
    """``--as USER``: the datadesk user a command acts as (see ``acting_user``)."""
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        help="act as this datadesk user, with their roles and row filters (default: full rights)",
    )


def acting_user(runtime: Runtime, username: str | None) -> Actor:
    """The actor of a CLI command: the named active user, or full rights as system:<login>."""
    if username is None:
        return Actor(f"system:{login_name()}", frozenset({ADMIN_ROLE}))
    actor = runtime.directory.load(username)
    if actor is None:
        raise AccessDenied(f"--as {username}: no active datadesk user of that name")
    return actor


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Run an import profile over a file: preview or commit, with a summary and exit code."""
    from datadesk.models.schema_version import require_current_schema
    from datadesk.runtime import open_runtime

    path = Path(args.file)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    runtime = open_runtime(settings)
    try:
        require_current_schema(runtime.engine, runtime.config.app_tables)
        actor = acting_user(runtime, args.as_user)
        service = runtime.imports
        profile = service.profile(args.profile)
        # Read where it lies: a big migration's file is neither copied nor kept in the database.
        job_id = service.start_file(
            actor=actor, profile=profile, profile_name=args.profile, path=path, channel="cli"
        )
        # SIGTERM (a deploy, `docker stop`) stops the import at its next batch: it rolls back
        # and the job is marked interrupted, instead of dying with the job left 'running'.
        previous = signal.signal(signal.SIGTERM, lambda *_: service.stop.set())
        try:
            with _ProgressBar(path.name) as bar:
                job, report = service.run(
                    job_id,
                    actor,
                    commit=not args.dry_run,
                    progress=bar.update,
                    path=path,
                    errors_out=Path(args.errors) if args.errors else None,
                )
        except Interrupted as exc:
            print(f"datadesk: interrupted: {exc.message}", file=sys.stderr)
            return EXIT_TERMINATED
        finally:
            signal.signal(signal.SIGTERM, previous)
        _print_summary(job, report, args)
        failed = bool(job.message) or bool(job.problem_count) or job.status == "failed"
        return 1 if failed else 0
    finally:
        runtime.engine.dispose()


def _print_summary(job: object, report: object, args: argparse.Namespace) -> None:
    from datadesk.importers.jobs import Job
    from datadesk.importers.report import ImportReport

    assert isinstance(job, Job)
    out = sys.stdout
    mode = "dry run, nothing written" if args.dry_run else job.status
    print(
        f"datadesk: import job {job.id} ({mode}): {job.rows_read or 0} rows read, "
        f"{job.inserted or 0} to insert, {job.updated or 0} to update, "
        f"{job.unchanged or 0} unchanged, {job.error_rows or 0} with problems"
        if args.dry_run
        else f"datadesk: import job {job.id} ({mode}): {job.rows_read or 0} rows read, "
        f"{job.inserted or 0} inserted, {job.updated or 0} updated, "
        f"{job.unchanged or 0} unchanged, {job.error_rows or 0} with problems",
        file=out,
    )
    for notice in job.report.get("notices", []):
        print(f"  note: {notice}", file=out)
    if isinstance(report, ImportReport):
        for problem in report.problems[:SHOWN_PROBLEMS]:
            where = f"row {problem.row}" + (f", column {problem.column}" if problem.column else "")
            print(f"  {where}: {problem.message}", file=sys.stderr)
        if report.problem_count > SHOWN_PROBLEMS:
            more = report.problem_count - SHOWN_PROBLEMS
            hint = f" (all in {args.errors})" if args.errors else " (use --errors OUT.xlsx)"
            print(f"  ... and {more} more problems{hint}", file=sys.stderr)
    if job.message:
        print(f"datadesk: {job.message}", file=sys.stderr)
    elif job.status == "committed":
        print("datadesk: committed", file=out)


class _ProgressBar:
    """A progress bar on a terminal (tqdm), nothing otherwise."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar: object | None = None

    def __enter__(self) -> _ProgressBar:
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(desc=self.name, unit=" rows", file=sys.stderr, leave=False)
        return self

    def update(self, rows: int) -> None:
        """Rows read so far."""
        if self.bar is not None:
            self.bar.n = rows  # type: ignore[attr-defined]
            self.bar.refresh()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()  # type: ignore[attr-defined]
