"""Which migration revision datadesk's own tables are at, and which one this version needs.

Answered without loading Alembic: every CLI command that touches data, the server at start and
the readiness probe ask, and Alembic's import alone costs a command about 0.2 s. The stored
revision is the one row of ``{prefix}alembic_version`` (see ``datadesk.models.migrations``);
the needed one is the newest script in ``datadesk/alembic/versions``, read from the scripts'
``revision`` and ``down_revision`` assignments. ``tests/models/test_migrations.py`` checks that
Alembic finds the same head.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import sqlalchemy as sa

from datadesk.config.schema import AppTablesConfig
from datadesk.errors import SchemaError
from datadesk.models.app_tables import version_table_name

VERSIONS_DIR = Path(__file__).resolve().parent.parent / "alembic" / "versions"
RUN_UPGRADE_HINT = "run `datadesk db upgrade`"


def stored_revision(conn: sa.Connection, version_table: str, schema: str | None) -> str | None:
    """The revision recorded in ``version_table``; None when the table is missing or empty."""
    if not sa.inspect(conn).has_table(version_table, schema=schema):
        return None
    table = sa.table(version_table, sa.column("version_num"), schema=schema)
    found = list(conn.execute(sa.select(table.c.version_num)).scalars())
    if len(found) > 1:
        raise SchemaError(
            f"{version_table} records several revisions ({', '.join(sorted(found))}); "
            "datadesk's migrations form one line: ask the administrator to check it"
        )
    return found[0] if found else None


def current_revision(
    engine: sa.Engine, app_tables_config: AppTablesConfig | None = None
) -> str | None:
    """The revision the database is at, or None before the first upgrade."""
    placement = app_tables_config or AppTablesConfig()
    with engine.connect() as conn:
        return stored_revision(conn, version_table_name(placement.prefix), placement.schema_name)


@functools.cache
def head_revision() -> str:
    """The newest revision shipped with this version of datadesk."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted(VERSIONS_DIR.glob("*.py")):
        assigned = _assignments(script)
        if "revision" not in assigned:
            continue
        revisions.add(str(assigned["revision"]))
        parent = assigned.get("down_revision")
        if isinstance(parent, str):
            parents.add(parent)
        elif isinstance(parent, tuple | list):
            parents.update(parent)
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise SchemaError(f"the migration scripts in {VERSIONS_DIR} have heads {heads}, not one")
    return heads[0]


def _assignments(script: Path) -> dict[str, object]:
    """The module-level ``revision`` and ``down_revision`` constants of a migration script."""
    found: dict[str, object] = {}
    for node in ast.parse(script.read_text(encoding="utf-8"), str(script)).body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = ast.literal_eval(value)
    return found


def is_schema_current(engine: sa.Engine, app_tables_config: AppTablesConfig | None = None) -> bool:
    """Whether datadesk's own tables are at the newest revision (for readiness checks)."""
    return current_revision(engine, app_tables_config) == head_revision()


def require_current_schema(
    engine: sa.Engine, app_tables_config: AppTablesConfig | None = None
) -> None:
    """SchemaError with a one-line hint when datadesk's own tables are missing or outdated."""
    if not is_schema_current(engine, app_tables_config):
        raise SchemaError(f"datadesk's own tables are missing or out of date: {RUN_UPGRADE_HINT}")
