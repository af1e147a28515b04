"""Migrations of datadesk's own tables: up, down, up again, placement, Oracle DDL, exclusion."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.schema import CreateIndex, CreateTable

from datadesk.config.schema import AppTablesConfig, Config, DatabaseConfig
from datadesk.errors import ConfigError, SchemaError
from datadesk.models.app_tables import MAX_NAME_LENGTH, app_tables
from datadesk.models.builder import build_catalog, is_selected
from datadesk.models.migrations import downgrade_database, upgrade_database
from datadesk.models.reflection import reflect_catalog, reflect_metadata
from datadesk.models.schema_version import (
    current_revision,
    head_revision,
    is_schema_current,
    require_current_schema,
)
from tests.conftest import backend_name
from tests.models.conftest import auto_key, run_ddl

APP_TABLES = {
    "datadesk_users",
    "datadesk_user_roles",
    "datadesk_user_attributes",
    "datadesk_login_attempts",
    "datadesk_audit",
    "datadesk_import_jobs",
    "datadesk_import_files",
    "datadesk_import_profiles",
}
LONGEST_PREFIX = "dd_records_app_"  # 15 characters: the most that keeps names within 30


def table_names(engine: sa.Engine, schema: str | None = None) -> set[str]:
    """Tables present in the database (or one schema)."""
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names(schema))


def test_upgrade_creates_the_tables_and_is_idempotent(fresh_db_url: str, engine: sa.Engine) -> None:
    assert not is_schema_current(engine)
    assert current_revision(engine) is None
    assert upgrade_database(fresh_db_url) == head_revision() == "0005"
    assert table_names(engine) == APP_TABLES | {"datadesk_alembic_version"}
    assert is_schema_current(engine)
    require_current_schema(engine)
    assert upgrade_database(fresh_db_url) == "0005"
    assert table_names(engine) == APP_TABLES | {"datadesk_alembic_version"}


def test_head_revision_is_the_one_alembic_finds() -> None:
    from alembic.script import ScriptDirectory

    from datadesk.models.migrations import _alembic_config

    scripts = ScriptDirectory.from_config(_alembic_config())
    assert head_revision() == scripts.get_current_head()


def test_a_version_table_with_several_revisions_is_reported(
    fresh_db_url: str, engine: sa.Engine
) -> None:
    upgrade_database(fresh_db_url)
    version = sa.table("datadesk_alembic_version", sa.column("version_num"))
    with engine.begin() as conn:
        conn.execute(version.insert().values(version_num="0003"))
    with pytest.raises(SchemaError, match="several revisions"):
        current_revision(engine)


def test_downgrade_drops_the_tables_and_upgrade_restores_them(
    fresh_db_url: str, engine: sa.Engine
) -> None:
    upgrade_database(fresh_db_url)
    users = app_tables().users
    with engine.begin() as conn:
        conn.execute(users.insert().values(username="x", is_active=True, created_at=sa.func.now()))
    assert downgrade_database(fresh_db_url) == "base"
    assert table_names(engine) == {"datadesk_alembic_version"}
    assert not is_schema_current(engine)
    with pytest.raises(SchemaError, match="datadesk db upgrade"):
        require_current_schema(engine)
    assert upgrade_database(fresh_db_url) == "0005"
    assert table_names(engine) >= APP_TABLES
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 0


def test_downgrade_one_step_drops_only_the_import_tables(
    fresh_db_url: str, engine: sa.Engine
) -> None:
    upgrade_database(fresh_db_url)
    assert downgrade_database(fresh_db_url, revision="0002") == "0002"
    imports = {"datadesk_import_jobs", "datadesk_import_files", "datadesk_import_profiles"}
    assert table_names(engine) == (APP_TABLES - imports) | {"datadesk_alembic_version"}
    assert upgrade_database(fresh_db_url) == "0005"
    assert table_names(engine) >= APP_TABLES


def test_the_job_runner_column_comes_and_goes_with_revision_0005(
    fresh_db_url: str, engine: sa.Engine
) -> None:
    def job_columns() -> set[str]:
        with engine.connect() as conn:
            return {c["name"] for c in sa.inspect(conn).get_columns("datadesk_import_jobs")}

    upgrade_database(fresh_db_url)
    assert "runner" in job_columns()
    assert downgrade_database(fresh_db_url, revision="0004") == "0004"
    assert "runner" not in job_columns() and "status" in job_columns()
    assert upgrade_database(fresh_db_url) == "0005"
    assert "runner" in job_columns()


def test_downgrade_to_the_baseline_keeps_the_version(fresh_db_url: str, engine: sa.Engine) -> None:
    upgrade_database(fresh_db_url)
    assert downgrade_database(fresh_db_url, revision="0001") == "0001"
    assert current_revision(engine) == "0001"
    assert not table_names(engine) & APP_TABLES


def test_custom_prefix_places_tables_and_version_table(
    fresh_db_url: str, engine: sa.Engine
) -> None:
    placement = AppTablesConfig(prefix="DD_")
    assert upgrade_database(fresh_db_url, placement) == "0005"
    expected = {name.replace("datadesk_", "dd_") for name in APP_TABLES}
    assert table_names(engine) == expected | {"dd_alembic_version"}
    assert is_schema_current(engine, placement)
    assert not is_schema_current(engine)  # the default placement has nothing yet
    upgrade_database(fresh_db_url)
    assert table_names(engine) >= APP_TABLES | expected
    downgrade_database(fresh_db_url, placement)
    assert not table_names(engine) & expected
    assert table_names(engine) >= APP_TABLES


def test_a_long_prefix_still_migrates(fresh_db_url: str, engine: sa.Engine) -> None:
    placement = AppTablesConfig(prefix=LONGEST_PREFIX)
    upgrade_database(fresh_db_url, placement)
    assert f"{LONGEST_PREFIX}alembic_version" in table_names(engine)
    assert is_schema_current(engine, placement)


@pytest.mark.skipif(backend_name() != "postgresql", reason="schemas need PostgreSQL")
def test_tables_go_to_the_configured_schema(fresh_db_url: str, engine: sa.Engine) -> None:
    run_ddl(engine, ["DROP SCHEMA IF EXISTS dd_owner CASCADE", "CREATE SCHEMA dd_owner"])
    try:
        placement = AppTablesConfig(schema="dd_owner")
        upgrade_database(fresh_db_url, placement)
        assert table_names(engine, "dd_owner") == APP_TABLES | {"datadesk_alembic_version"}
        assert not table_names(engine) & APP_TABLES
        assert is_schema_current(engine, placement) and not is_schema_current(engine)
        downgrade_database(fresh_db_url, placement)
        assert table_names(engine, "dd_owner") == {"datadesk_alembic_version"}
    finally:
        run_ddl(engine, ["DROP SCHEMA dd_owner CASCADE"])


def test_audit_table_has_the_columns_writers_need(fresh_db_url: str, engine: sa.Engine) -> None:
    upgrade_database(fresh_db_url)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        columns = {c["name"] for c in inspector.get_columns("datadesk_audit")}
        indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("datadesk_audit")}
    assert columns == {
        "id",
        "occurred_at",
        "username",
        "source",
        "table_name",
        "row_key",
        "action",
        "changes",
        "job_id",
        "reverted_entry_id",
        "address",
    }
    assert {("table_name", "row_key"), ("occurred_at",), ("username",)} <= indexes


def test_identity_keys_are_generated(fresh_db_url: str, engine: sa.Engine) -> None:
    upgrade_database(fresh_db_url)
    audit = app_tables().audit
    row = {
        "occurred_at": sa.func.now(),
        "username": "admin",
        "source": "cli",
        "table_name": "staff",
        "row_key": "1",
        "action": "update",
        "changes": '{"salary": [1, 2]}',
    }
    with engine.begin() as conn:
        first = conn.execute(audit.insert().values(**row)).inserted_primary_key
        second = conn.execute(audit.insert().values(**row)).inserted_primary_key
    assert first is not None and second is not None and second[0] > first[0]


def oracle_ddl(prefix: str, *, native_boolean: bool = True) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements of every app table, compiled for Oracle."""
    dialect = oracle.dialect()
    dialect.supports_native_boolean = native_boolean  # False as on Oracle before 23ai
    statements = []
    for table in app_tables(prefix, "HR").tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements.extend(str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes)
    return statements


@pytest.mark.parametrize("prefix", ["datadesk_", "DD_", LONGEST_PREFIX])
def test_oracle_names_fit_30_characters(prefix: str) -> None:
    tables = app_tables(prefix)
    schema_objects = [tables.version_table, f"{tables.prefix}alembic_pk"]
    columns: list[str] = []
    for table in tables.tables:
        schema_objects.append(table.name)
        schema_objects.extend(str(c.name) for c in table.constraints)
        schema_objects.extend(str(ix.name) for ix in table.indexes)
        columns.extend(c.name for c in table.columns)
    names = schema_objects + columns
    assert all(name and name == name.lower() for name in names), names
    assert max(len(name) for name in names) <= MAX_NAME_LENGTH
    assert len(set(schema_objects)) == len(schema_objects)  # one namespace on Oracle


def test_oracle_ddl_uses_identity_clob_and_bounded_strings() -> None:
    ddl = "\n".join(oracle_ddl("datadesk_"))
    # users, attempts, audit, import jobs and profiles
    assert ddl.count("GENERATED BY DEFAULT AS IDENTITY") == 5
    assert "changes CLOB NOT NULL" in ddl
    assert "content BLOB NOT NULL" in ddl
    assert "VARCHAR2(400 CHAR)" in ddl
    assert "JSON" not in ddl and "VARCHAR2(" in ddl
    assert 'CREATE TABLE "HR".datadesk_users' in ddl
    assert 'REFERENCES "HR".datadesk_users (id) ON DELETE CASCADE' in ddl
    for statement in oracle_ddl("datadesk_"):
        assert "VARCHAR " not in statement and "VARCHAR2 " not in statement  # lengths everywhere


def test_oracle_ddl_before_23ai_stores_flags_as_numbers() -> None:
    ddl = "\n".join(oracle_ddl("datadesk_", native_boolean=False))
    assert "is_active SMALLINT NOT NULL" in ddl
    assert "BOOLEAN" not in ddl


def test_a_prefix_too_long_for_oracle_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"app_tables\.prefix.*at most 15"):
        app_tables("dd_records_apps_")


def test_app_prefix_is_never_selected() -> None:
    database = DatabaseConfig()
    assert is_selected("DATADESK_USERS", database)
    assert not is_selected("DATADESK_USERS", database, app_prefix="datadesk_")
    assert not is_selected("dd_audit", database, app_prefix="DD_")
    assert is_selected("staff", database, app_prefix="datadesk_")


def test_reflection_never_serves_app_tables(fresh_db_url: str, engine: sa.Engine) -> None:
    run_ddl(engine, [f"CREATE TABLE staff (staff_id {auto_key(engine)}, name VARCHAR(40))"])
    upgrade_database(fresh_db_url)
    upgrade_database(fresh_db_url, AppTablesConfig(prefix="Ops_"))
    default = reflect_catalog(engine, Config(), cache_dir=None)
    assert {"staff", "ops_users"} <= set(default.tables)  # not app tables under this config
    assert not any(name.startswith("datadesk_") for name in default.tables)
    custom = Config(app_tables=AppTablesConfig(prefix="OPS_"))
    served = set(reflect_catalog(engine, custom, cache_dir=None).tables)
    assert "staff" in served and not any(name.startswith("ops_") for name in served)
    reflected = reflect_metadata(engine, Config().database, app_prefix="datadesk_")
    assert not any(name.startswith("datadesk_") for name in reflected.served)


def test_catalog_building_skips_app_tables_even_from_metadata() -> None:
    metadata = app_tables().metadata
    sa.Table("staff", metadata, sa.Column("id", sa.Integer, primary_key=True))
    catalog = build_catalog(metadata, Config(), "oracle")
    assert set(catalog.tables) == {"staff"}
