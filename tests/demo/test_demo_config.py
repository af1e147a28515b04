"""The demo's datadesk.yaml: valid against the config schema and true to the demo schema."""

from __future__ import annotations

import string

import sqlalchemy as sa
import yaml

from datadesk.config.schema import Config, TableConfig
from datadesk.demo.schema import DEMO_TABLES, DEMO_VIEWS
from datadesk.settings import DEMO_CONFIG
from tests.demo.conftest import table_name


def _load() -> Config:
    return Config.model_validate(yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8")))


def _referenced_columns(table: TableConfig) -> set[str]:
    """Every column name a table's config mentions."""
    names: set[str] = set(table.columns)
    for group in (
        table.list_columns, table.detail_columns, table.form_columns, table.search,
        table.filters, table.key,
    ):  # fmt: skip
        names.update(group or ())
    names.update(item.lstrip("-") for item in table.default_sort)
    if table.row_label:
        names.update(field for _, field, _, _ in string.Formatter().parse(table.row_label) if field)
    return names


def test_demo_config_validates() -> None:
    config = _load()
    assert config.app.title
    assert config.table("IMMUNIZATIONS").label_plural == "Immunizations"
    assert config.table("staff").row_label == "{last_name}, {first_name} ({employee_no})"
    assert config.table("immunizations").default_sort == ("-admin_date",)


def test_every_demo_table_and_view_is_configured_in_a_category() -> None:
    config = _load()
    assert set(config.tables) == {name.lower() for name in (*DEMO_TABLES, *DEMO_VIEWS)}
    assert all(table.category and table.label_plural for table in config.tables.values())
    assert all(name == name.lower() for name in config.tables)


def test_views_and_keyless_tables_have_a_key() -> None:
    config = _load()
    assert config.table("v_staff_directory").key == ("staff_id",)
    assert config.table("legacy_access_log").key == ("username", "access_date")


def test_config_names_exist_in_the_built_schema(demo_engine: sa.Engine) -> None:
    inspector = sa.inspect(demo_engine)
    for name, table in _load().tables.items():
        actual = table_name(demo_engine, name)
        columns = {c["name"].lower(): c for c in inspector.get_columns(actual)}
        missing = _referenced_columns(table) - set(columns)
        assert not missing, f"tables.{name} names unknown columns {sorted(missing)}"
        for column in table.search or ():
            assert isinstance(columns[column]["type"], sa.String), f"{name}.{column} is not text"
