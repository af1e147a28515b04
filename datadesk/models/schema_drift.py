"""Compare the served catalog with the live schema: what a DBA dropped or renamed since start.

The catalog may come from the on-disk reflection cache or from a start hours ago; a table or
column that no longer exists makes pages fail.  ``find_schema_drift`` names each such object
with the ``datadesk.yaml`` path that serves it, for the log and the readiness answer.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.engine.reflection import ObjectKind

from datadesk.config.schema import Config
from datadesk.models.catalog import Catalog, TableInfo

LIST_SETTINGS = ("list_columns", "detail_columns", "form_columns", "search", "filters")


def find_schema_drift(engine: sa.Engine, catalog: Catalog, config: Config) -> list[str]:
    """Messages like ``tables.staff.columns.email: column staff.email no longer exists``."""
    groups: dict[str | None, list[TableInfo]] = defaultdict(list)
    for info in catalog.tables.values():
        groups[info.table.schema].append(info)
    problems: list[str] = []
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for schema, infos in groups.items():
            live = inspector.get_multi_columns(
                schema=schema, filter_names=[i.table.name for i in infos], kind=ObjectKind.ANY
            )
            columns = {
                name: {str(c["name"]) for c in found} for (_schema, name), found in live.items()
            }
            for info in infos:
                problems.extend(_table_drift(info, columns.get(info.table.name), config))
    return problems


def _table_drift(info: TableInfo, live: set[str] | None, config: Config) -> list[str]:
    if live is None:
        return [f"{_table_path(info, config)}: table {info.db_name} no longer exists"]
    problems = []
    for column in info.columns.values():
        if column.db_name not in live:
            path = _column_path(info, column.name, config)
            problems.append(f"{path}: column {info.db_name}.{column.db_name} no longer exists")
    return problems


def _table_path(info: TableInfo, config: Config) -> str:
    """``tables.<name>`` when the table is configured, else the selection that serves it."""
    for key in config.tables:
        if key.lower() == info.name:
            return f"tables.{key}"
    for name, profile in config.imports.items():
        if profile.table.lower() == info.name:
            return f"imports.{name}.table"
    return "database.include"


def _column_path(info: TableInfo, column: str, config: Config) -> str:
    """The most specific YAML path that mentions the column, else the table's."""
    for key, table in config.tables.items():
        if key.lower() != info.name:
            continue
        for name in table.columns:
            if name.lower() == column:
                return f"tables.{key}.columns.{name}"
        for setting in LIST_SETTINGS:
            values = getattr(table, setting) or ()
            if any(v.lstrip("-").lower() == column for v in values):
                return f"tables.{key}.{setting}"
    for name, profile in config.imports.items():
        if profile.table.lower() != info.name:
            continue
        for target in profile.columns:
            if target.lower() == column:
                return f"imports.{name}.columns.{target}"
    return _table_path(info, config)
