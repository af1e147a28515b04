"""The ``datadesk`` command: serve, demo, db, scaffold, check-config, users, import.

Every command exits 0 on success and non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from datadesk.cli_data import add_data_parsers
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
    return parser


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the admin with uvicorn; the demo database is built first when it is the default."""
    import uvicorn

    from datadesk.app import create_app, open_runtime
    from datadesk.models.migrations import require_current_schema

    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    if settings.is_demo_database:
        _ensure_demo(settings)
    runtime = open_runtime(settings, refresh_schema=args.refresh_schema)
    require_current_schema(runtime.engine, runtime.config.app_tables)
    app = create_app(runtime=runtime)
    print(
        f"datadesk: serving {len(runtime.catalog.tables)} tables at http://{host}:{port}/admin/",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0


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

    base = load_config(Path(args.config)) if args.config else Config()
    plain = Config(database=base.database, app=base.app)
    engine = create_db_engine(settings.database_url)
    try:
        catalog = reflect_catalog(engine, plain, cache_dir=None, refresh=True)
    finally:
        engine.dispose()
    text = scaffold_config(catalog)
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
