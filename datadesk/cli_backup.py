"""``datadesk backup DEST``: the embedded database copied online, or datadesk's own tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from datadesk.settings import Settings


def add_backup_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup`` to the command's sub-parsers."""
    backup = sub.add_parser(
        "backup",
        help="back up the embedded database (or export datadesk's own tables)",
        description=(
            "SQLite: a consistent copy of the whole database, taken while the app serves. "
            "PostgreSQL and Oracle: datadesk's own tables (users, roles, audit, import jobs) "
            "as a zip of JSON lines; back up the database itself with its own tools."
        ),
    )
    backup.add_argument(
        "dest", metavar="DEST", help="file to create, or a folder for a time-stamped file"
    )
    backup.add_argument("--config", help="path to datadesk.yaml (default: $DATADESK_CONFIG)")
    backup.set_defaults(handler=cmd_backup)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Write the backup and say where, how big and how long it took."""
    from datadesk.models.backup import (
        backup_path,
        backup_sqlite,
        export_app_tables,
        sqlite_file,
    )

    source = sqlite_file(settings.database_url)
    if source is not None:
        result = backup_sqlite(source, backup_path(Path(args.dest), ".sqlite3"))
        print(
            f"datadesk: backed up {source} to {result.path} "
            f"({result.size / 1048576:.1f} MB in {result.seconds:.1f} s)"
        )
        return 0
    from datadesk.config.loader import load_config
    from datadesk.models.app_tables import app_tables
    from datadesk.models.engine import check_connection, create_db_engine

    config = load_config(settings.config_path)
    tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
    engine = create_db_engine(settings.database_url)
    try:
        check_connection(engine)
        result = export_app_tables(engine, tables, backup_path(Path(args.dest), ".zip"))
    finally:
        engine.dispose()
    rows = sum((result.rows or {}).values())
    print(
        f"datadesk: exported datadesk's own tables ({rows} rows) to {result.path} "
        f"({result.size / 1048576:.1f} MB in {result.seconds:.1f} s); back up the database "
        "itself with its own tools (see docs/operations.md)"
    )
    return 0
