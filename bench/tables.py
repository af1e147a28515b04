"""Reflect the demo tables the grid benchmark reads, with lower-case names and column keys.

The demo schema is created with upper-case names; SQLite keeps them upper-case and PostgreSQL
folds them to lower case.  The hand-written baseline addresses the reflected tables as
``tables["immunizations"].c.imm_id`` on either backend; the sqladmin baseline keeps the names
as reflected (sqladmin reads primary keys by column name) and looks them up with
``column_name``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

GRID_TABLES = ("immunizations", "staff", "students", "vaccines")


def _lower_key(inspector: Any, table: sa.Table, column_info: dict[str, Any]) -> None:
    column_info["key"] = column_info["name"].lower()


def reflect_tables(
    engine: sa.Engine, names: tuple[str, ...] = GRID_TABLES, *, lower_keys: bool = True
) -> dict[str, sa.Table]:
    """The named tables, reflected, keyed by lower-case name; with ``lower_keys`` their columns
    are keyed lower-case too (otherwise by their names as the database reports them)."""
    actual = {name.lower(): name for name in sa.inspect(engine).get_table_names()}
    missing = [name for name in names if name not in actual]
    if missing:
        raise LookupError(f"tables not found (build the demo first): {', '.join(missing)}")
    metadata = sa.MetaData()
    if lower_keys:
        sa.event.listen(metadata, "column_reflect", _lower_key)
    metadata.reflect(engine, only=[actual[name] for name in names])
    return {name.lower(): table for name, table in metadata.tables.items()}


def column_name(table: sa.Table, name: str) -> str:
    """The column's name as the database reports it, found case-insensitively."""
    for column in table.columns:
        if column.name.lower() == name:
            return column.name
    raise LookupError(f"{table.name} has no column {name}")
