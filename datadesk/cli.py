"""The ``datadesk`` command: serve, demo, db, scaffold, check-config, users, import, export,
report.

Every command exits 0 on success and non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from datadesk.cli_backup import add_backup_parser
from datadesk.cli_data import add_data_parsers
from datadesk.cli_exports import add_export_parser
from datadesk.cli_reports import add_report_parser
from datadesk.cli_users import add_users_parser
from datadesk.config.schema import Config
from datadesk.errors import ConfigError, DatadeskError, InvalidInput
from datadesk.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    settings = Settings.from_environ()
    if getattr(args, "config", None):
        settings = _replace(settings, config_path=Path(args.config))
    if args.handler is not cmd_serve:  # serve sets up its own (server) logging
        from datadesk.observability.logs import configure_logging

        configure_logging(settings.log_format, settings.command_log_level)
    try:
        return int(args.handler(args, settings) or 0)
    except DatadeskError as exc:
        print(f"datadesk: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("datadesk: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI edge: one line, never a traceback
        if settings.debug:
            raise
        print(f"datadesk: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="datadesk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the admin over HTTP")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument(
        "--refresh-schema",
        action="store_true",
        help="re-read the schema instead of using the reflection cache",
    )
    serve.add_argument(
        "--workers",
        type=_at_least_one,
        default=None,
        help="worker processes, restarted one at a time on SIGHUP (default $DATADESK_WORKERS; "
        "unset: one process without a supervisor)",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=_at_least_one,
        default=None,
        help="seconds requests in flight may take to finish on shutdown or restart "
        "(default $DATADESK_GRACEFUL_TIMEOUT or 60)",
    )
    serve.add_argument("--config", help="path to datadesk.yaml (default: $DATADESK_CONFIG)")
    serve.set_defaults(handler=cmd_serve)

    demo = sub.add_parser("demo", help="create and seed the demo database")
    demo.add_argument("--replace", action="store_true", help="drop and rebuild the demo tables")
    demo.add_argument(
        "--if-missing", action="store_true", help="do nothing when the demo is already built"
    )
    demo.add_argument(
        "--immunizations",
        type=int,
        default=100_000,
        help="rows in the largest table (default 100000)",
    )
    demo.set_defaults(handler=cmd_demo)

    db = sub.add_parser("db", help="migrations of datadesk's own tables")
    db_sub = db.add_subparsers(metavar="ACTION")
    upgrade = db_sub.add_parser(
        "upgrade", help="apply pending migrations (idempotent) and ensure the admin user"
    )
    upgrade.add_argument("--config", help="path to datadesk.yaml (default: $DATADESK_CONFIG)")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    downgrade = db_sub.add_parser(
        "downgrade", help="revert migrations down to REV (drops what later revisions added)"
    )
    downgrade.add_argument("revision", metavar="REV", help="revision to go back to, e.g. 0003")
    downgrade.add_argument("--config", help="path to datadesk.yaml (default: $DATADESK_CONFIG)")
    downgrade.set_defaults(handler=cmd_db_downgrade)
    current = db_sub.add_parser("current", help="show the revision of datadesk's own tables")
    current.add_argument("--config", help="path to datadesk.yaml (default: $DATADESK_CONFIG)")
    current.set_defaults(handler=cmd_db_current)

    scaffold = sub.add_parser("scaffold", help="write a starter datadesk.yaml from the schema")
    scaffold.add_argument("-o", "--output", help="file to write (default: standard output)")
    scaffold.add_argument("--force", action="store_true", help="overwrite an existing file")
    scaffold.add_argument("--config", help="config whose database section selects the tables")
    scaffold.set_defaults(handler=cmd_scaffold)

    check = sub.add_parser("check-config", help="validate datadesk.yaml against the schema")
    check.add_argument("--config", help="path to datadesk.yaml (default: $DATADESK_CONFIG)")
    check.set_defaults(handler=cmd_check_config)
    add_users_parser(sub)
    add_data_parsers(sub)
    add_export_parser(sub)
    add_report_parser(sub)
    add_backup_parser(sub)
    return parser


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the admin: one process, or a supervisor with worker processes (--workers N);
    the demo database is built first when it is the default."""
    import os

    from datadesk.app import create_app, open_runtime
    from datadesk.models.schema_version import require_current_schema
    from datadesk.server import ServeOptions, serve_single, serve_workers

    options = ServeOptions(
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
        workers=args.workers if args.workers is not None else settings.workers,
        graceful_timeout=args.graceful_timeout or settings.graceful_timeout,
    )
    if settings.is_demo_database:
        _ensure_demo(settings)
    # Checked here once, so that a bad config or a missing migration is one clear line before
    # any worker starts (and --refresh-schema refreshes the cache the workers read).
    runtime = open_runtime(settings, refresh_schema=args.refresh_schema)
    require_current_schema(runtime.engine, runtime.config.app_tables)
    served = f"{len(runtime.catalog.tables)} tables at http://{options.host}:{options.port}/admin/"
    if options.workers is None:
        print(f"datadesk: serving {served}", flush=True)
        serve_single(create_app(runtime=runtime), options)
        return 0
    runtime.engine.dispose()
    del runtime
    # The workers read their settings from the environment they inherit.
    os.environ["DATADESK_CONFIG"] = str(settings.config_path)
    workers = f"{options.workers} worker{'s' if options.workers != 1 else ''}"
    print(f"datadesk: serving {served} with {workers}", flush=True)
    serve_workers(settings, options)
    return 0


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Create and seed the demo schema in the configured database."""
    from datadesk.demo.build import build_demo, is_demo_built
    from datadesk.models.engine import create_db_engine

    engine = create_db_engine(settings.database_url)
    try:
        if args.if_missing and is_demo_built(engine):
            print("datadesk: demo already built")
            return 0
        started = time.perf_counter()
        counts = build_demo(engine, immunizations=args.immunizations, replace=args.replace)
    finally:
        engine.dispose()
    total = sum(counts.values())
    print(
        f"datadesk: demo built with {total:,} rows in {len(counts)} tables "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Apply datadesk's own migrations, then make sure the admin user exists."""
    from datadesk.cli_users import ensure_admin_user
    from datadesk.config.loader import load_config
    from datadesk.models.migrations import upgrade_database

    config = load_config(settings.config_path)
    revision = upgrade_database(settings.database_url, config.app_tables)
    print(f"datadesk: database at revision {revision}", flush=True)
    ensure_admin_user(settings, config)
    if settings.is_demo_database:
        _ensure_demo_users(settings)
    return 0


def cmd_db_downgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Revert datadesk's own migrations to an older revision (before running an older version)."""
    from datadesk.config.loader import load_config
    from datadesk.models.migrations import downgrade_database, known_revision

    config = load_config(settings.config_path)
    revision = known_revision(args.revision)
    reached = downgrade_database(settings.database_url, config.app_tables, revision=revision)
    print(f"datadesk: database at revision {reached}", flush=True)
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    """Print the revision of datadesk's own tables and whether it is this version's."""
    from datadesk.config.loader import load_config
    from datadesk.models.engine import check_connection, create_db_engine
    from datadesk.models.schema_version import current_revision, head_revision

    config = load_config(settings.config_path)
    engine = create_db_engine(settings.database_url)
    try:
        check_connection(engine)
        revision = current_revision(engine, config.app_tables)
    finally:
        engine.dispose()
    head = head_revision()
    state = (
        "current" if revision == head else f"this version needs {head}: run `datadesk db upgrade`"
    )
    print(f"datadesk: database at revision {revision or 'none'} ({state})")
    return 0 if revision == head else 1


def _ensure_demo_users(settings: Settings) -> None:
    """The embedded demo gets one user per demo role (password in the README)."""
    from datadesk.cli_users import _user_store, cli_audit_context
    from datadesk.demo.users import DEMO_PASSWORD, ensure_demo_users

    with _user_store(settings) as store:
        created = ensure_demo_users(store, cli_audit_context())
    if created:
        print(f"datadesk: demo users {', '.join(created)} (password {DEMO_PASSWORD})")


def cmd_scaffold(args: argparse.Namespace, settings: Settings) -> int:
    """Reflect the live schema and write a starter config."""
    from datadesk.config.loader import load_config
    from datadesk.config.scaffold import scaffold_config
    from datadesk.models.engine import create_db_engine
    from datadesk.models.reflection import reflect_catalog
    from datadesk.models.table_sizes import referenced_tables, small_tables

    base = load_config(Path(args.config)) if args.config else Config()
    plain = Config(database=base.database, app=base.app)
    engine = create_db_engine(settings.database_url)
    try:
        catalog = reflect_catalog(engine, plain, cache_dir=None, refresh=True)
        # References to tables that fit a drop-down are offered for editing in the grid.
        small = small_tables(engine, catalog, referenced_tables(catalog), plain.app.select_limit)
    finally:
        engine.dispose()
    text = scaffold_config(catalog, small)
    if not args.output:
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists() and not args.force:
        raise InvalidInput(f"{out} exists; use --force to overwrite it")
    out.write_text(text, encoding="utf-8")
    print(f"datadesk: wrote {out} ({len(catalog.tables)} tables)")
    return 0


def cmd_check_config(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the config file and cross-check it against the live schema."""
    from datadesk.runtime import open_runtime

    try:
        runtime = open_runtime(settings, refresh_schema=True)
    except ConfigError as exc:
        print(f"datadesk: error: {exc.message}", file=sys.stderr)
        return 1
    runtime.engine.dispose()
    print(f"datadesk: {settings.config_path} is valid ({len(runtime.catalog.tables)} tables)")
    return 0


def _ensure_demo(settings: Settings) -> None:
    from datadesk.demo.build import build_demo, is_demo_built
    from datadesk.models.engine import create_db_engine

    engine = create_db_engine(settings.database_url)
    try:
        if not is_demo_built(engine):
            print("datadesk: building the demo database (first run)...", flush=True)
            build_demo(engine)
    finally:
        engine.dispose()


def _replace(settings: Settings, **changes: object) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


if __name__ == "__main__":
    raise SystemExit(main())
