"""The scaffold: a starter datadesk.yaml from a reflected catalog, valid as written."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.config.loader import parse_config
from datadesk.config.scaffold import scaffold_config
from datadesk.config.schema import AppConfig, Config, DatabaseConfig
from datadesk.models.catalog import Catalog

from .conftest import add_table, col


def test_empty_catalog(empty_catalog: Catalog) -> None:
    text = scaffold_config(empty_catalog)
    assert "tables: {}" in text
    config = parse_config(text)
    assert config.tables == {}
    assert config.database == DatabaseConfig(schema="HR")


def test_header_explains_origin_and_reference(legacy_catalog: Catalog) -> None:
    header = scaffold_config(legacy_catalog).split("\ndatabase:")[0]
    assert "datadesk scaffold" in header
    assert "docs/configuration.md" in header
    assert "schema HR: 4 tables, 1 view" in header
    assert all(line.startswith("#") or not line for line in header.splitlines())


def test_round_trip_shows_defaults(legacy_catalog: Catalog) -> None:
    config = parse_config(scaffold_config(legacy_catalog))
    assert config.database == DatabaseConfig(schema="HR")
    assert config.app == AppConfig()


def test_defaults_are_written_with_their_descriptions(legacy_catalog: Catalog) -> None:
    text = scaffold_config(legacy_catalog)
    assert (
        "  # Rows per grid page, unless a table sets its own page_size.\n  page_size: 50\n" in text
    )
    assert "  include: ['*']\n" in text


def test_schema_placeholder_when_the_default_schema_was_reflected() -> None:
    text = scaffold_config(Catalog(metadata=sa.MetaData()))
    assert "# schema: OWNER_NAME" in text
    assert "from the default schema: 0 tables, 0 views" in text
    assert parse_config(text).database.schema_name is None


def test_tables_are_sorted(legacy_catalog: Catalog) -> None:
    config = parse_config(scaffold_config(legacy_catalog))
    assert list(config.tables) == sorted(legacy_catalog.tables)


def test_staff_guesses(legacy_catalog: Catalog) -> None:
    staff = parse_config(scaffold_config(legacy_catalog)).tables["staff"]
    assert staff.label == "Staff member"
    assert staff.label_plural == "Staff"
    assert staff.list_columns is not None
    assert staff.list_columns[0] == "staff_id"
    assert len(staff.list_columns) == 7
    assert not {"photo", "cv", "remarks", "secret"} & set(staff.list_columns)
    assert staff.search == ("last_name", "first_name", "personal_no")
    assert staff.filters == ("department_id", "active", "is_external", "birth_date", "hired_on")
    assert staff.default_sort == ("-staff_id",)
    assert staff.row_label == "{last_name}, {first_name}"
    assert staff.key is None


def test_legacy_flags_are_written_per_column(legacy_catalog: Catalog) -> None:
    text = scaffold_config(legacy_catalog)
    assert "        flag: '01'  # NUMBER(1) 1/0 shown as yes/no" in text
    columns = parse_config(text).tables["staff"].columns
    assert {name: c.flag for name, c in columns.items()} == {"active": "yn", "is_external": "01"}


def test_code_and_name_make_the_row_label(legacy_catalog: Catalog) -> None:
    department = parse_config(scaffold_config(legacy_catalog)).tables["department"]
    assert department.row_label == "{code} - {name}"
    assert department.list_columns == ("id", "code", "name")  # notes is a CLOB
    assert department.search == ("name", "code")
    assert department.filters is None


def test_composite_key_sorts_by_date(legacy_catalog: Catalog) -> None:
    immunization = parse_config(scaffold_config(legacy_catalog)).tables["immunization"]
    assert immunization.list_columns is not None
    assert immunization.list_columns[:3] == ("staff_id", "vaccine_code", "dose_no")
    assert immunization.default_sort == ("-given_date",)


def test_grid_edit_proposes_short_values_flags_dates_and_small_references(
    legacy_catalog: Catalog,
) -> None:
    tables = parse_config(scaffold_config(legacy_catalog, {"department"})).tables
    staff = tables["staff"]
    assert staff.list_columns is not None
    # Never the key; never e-mail (200 characters); the reference to a small table, yes.
    assert staff.grid_edit == ("personal_no", "last_name", "first_name", "department_id", "active")
    assert set(staff.grid_edit) <= set(staff.list_columns)
    assert tables["immunization"].grid_edit == ("given_date", "valid")  # the key is 3 columns
    assert tables["department"].grid_edit == ("code", "name")
    assert tables["v_staff_overview"].grid_edit == ()  # a view is read-only
    # Without knowing which tables are small, references stay out of the grid.
    unknown = parse_config(scaffold_config(legacy_catalog)).tables["staff"]
    assert "department_id" not in unknown.grid_edit


def test_grid_edit_leaves_out_generated_read_only_and_system_kept_columns(
    empty_catalog: Catalog,
) -> None:
    add_table(
        empty_catalog,
        "visit",
        [
            col("visit_id", "integer", is_generated=True),
            col("room", "text", length=10),
            col("fee", "decimal", length=8, scale=2),
            col("total", "decimal", length=12, scale=2),
            col("code", "text", length=4, is_read_only=True),
            col("created_date", "datetime"),
            col("seen", "boolean"),
        ],
        key=["visit_id"],
    )
    visit = parse_config(scaffold_config(empty_catalog)).tables["visit"]
    assert visit.grid_edit == ("room", "fee", "seen")


def test_view_gets_a_commented_key_hint(legacy_catalog: Catalog) -> None:
    text = scaffold_config(legacy_catalog)
    block = text.split("  v_staff_overview:")[1]
    assert block.startswith("  # view V_STAFF_OVERVIEW, read-only")
    assert "    # key: [staff_id]" in block
    view = parse_config(text).tables["v_staff_overview"]
    assert view.key is None
    assert view.row_label == "{full_name}"


def test_keyless_table_gets_a_commented_key_hint(legacy_catalog: Catalog) -> None:
    text = scaffold_config(legacy_catalog)
    block = text.split("  access_log:")[1].split("\n\n")[0]
    assert "no primary key, so it is read-only" in block
    assert "    # key: [column_name]" in block  # nothing looks like an identifier
    log = parse_config(text).tables["access_log"]
    assert log.default_sort == ("-logged_at",)
    assert log.list_columns == ("logged_at", "login", "action")


def test_configured_key_of_a_view_is_kept(empty_catalog: Catalog) -> None:
    add_table(
        empty_catalog,
        "v_course",
        [col("course_code", "text", length=10), col("title", "text", length=80)],
        key=["course_code"],
        is_view=True,
        has_real_key=False,
        is_read_only=False,
    )
    text = scaffold_config(empty_catalog)
    assert "# key:" not in text
    assert parse_config(text).tables["v_course"].key == ("course_code",)


def test_names_that_yaml_would_misread_are_quoted(empty_catalog: Catalog) -> None:
    add_table(
        empty_catalog,
        "yes",
        [
            col("id", "integer"),
            col("no", "text", length=10),
            col("null", "text", length=10),
            col("on", "boolean", flag_style="yn"),
        ],
        key=["id"],
        label="01",
        label_plural="true",
    )
    config = parse_config(scaffold_config(empty_catalog))
    table = config.tables["yes"]
    assert (table.label, table.label_plural) == ("01", "true")
    assert table.search == ("no",)
    assert table.list_columns == ("id", "no", "null", "on")
    assert table.columns["on"].flag == "yn"


def test_at_most_three_search_columns_and_six_filters(empty_catalog: Catalog) -> None:
    columns = [col("id", "integer")]
    columns += [col(f"name_{i}", "text", length=40) for i in range(5)]
    columns += [col(f"flag_{i}", "boolean") for i in range(8)]
    add_table(empty_catalog, "wide", columns, key=["id"])
    table = parse_config(scaffold_config(empty_catalog)).tables["wide"]
    assert table.search == ("name_0", "name_1", "name_2")
    assert table.filters is not None
    assert len(table.filters) == 6
    assert table.list_columns is not None
    assert len(table.list_columns) == 7


def test_table_without_useful_guesses_is_minimal(empty_catalog: Catalog) -> None:
    add_table(
        empty_catalog, "blob_store", [col("id", "integer"), col("data", "binary")], key=["id"]
    )
    text = scaffold_config(empty_catalog)
    block = text.split("  blob_store:")[1]
    assert "search" not in block
    assert "row_label" not in block
    assert parse_config(text).tables["blob_store"].list_columns == ("id",)


def test_row_label_in_effect_is_kept_when_nothing_better_is_found(empty_catalog: Catalog) -> None:
    add_table(
        empty_catalog,
        "dose",
        [col("dose_id", "integer"), col("amount", "decimal")],
        key=["dose_id"],
        row_label="Dose {dose_id}",
    )
    assert parse_config(scaffold_config(empty_catalog)).tables["dose"].row_label == "Dose {dose_id}"


def _find_config_problems() -> Callable[..., Any] | None:
    """The cross-check of models/ (where app.py imports it from), once it is importable."""
    try:
        module = importlib.import_module("datadesk.models.reflection")
    except ImportError:
        return None
    return getattr(module, "find_config_problems", None)


def test_scaffold_passes_the_cross_check(legacy_catalog: Catalog) -> None:
    find_config_problems = _find_config_problems()
    if find_config_problems is None:
        pytest.skip("datadesk.models.reflection.find_config_problems is not importable yet")
    config: Config = parse_config(scaffold_config(legacy_catalog))
    assert not find_config_problems(config, legacy_catalog)


def test_search_prefers_names_and_numbers_over_titles(empty_catalog: Catalog) -> None:
    add_table(
        empty_catalog,
        "person",
        [
            col("person_id", "integer"),
            col("title", "text", length=10),
            col("first_name", "text", length=40),
            col("last_name", "text", length=40),
            col("employee_no", "text", length=8),
        ],
        key=["person_id"],
    )
    person = parse_config(scaffold_config(empty_catalog)).tables["person"]
    assert person.search == ("last_name", "first_name", "employee_no")


def test_key_hint_uses_an_identifier_looking_column(empty_catalog: Catalog) -> None:
    add_table(
        empty_catalog,
        "old_grades",
        [col("mark", "integer"), col("student_no", "text", length=8)],
    )
    assert "    # key: [student_no]" in scaffold_config(empty_catalog)


def test_scaffold_of_the_reflected_demo_schema_is_clean(fresh_db_url: str) -> None:
    """End to end: real DDL, real reflection, then scaffold, parse and cross-check."""
    from datadesk.demo.build import build_demo
    from datadesk.models.engine import create_db_engine
    from datadesk.models.reflection import find_config_problems, reflect_catalog
    from datadesk.models.table_sizes import referenced_tables, small_tables

    engine = create_db_engine(fresh_db_url)
    try:
        build_demo(engine, immunizations=50)
        catalog = reflect_catalog(engine, Config(), cache_dir=None)
        small = small_tables(engine, catalog, referenced_tables(catalog), 200)
    finally:
        engine.dispose()
    config = parse_config(scaffold_config(catalog, small))
    assert set(config.tables) == set(catalog.tables)
    assert find_config_problems(config, catalog) == []
    assert config.tables["staff"].row_label == "{last_name}, {first_name}"
    # Vaccines fit a drop-down, staff (2,000 rows) does not: only the first is proposed.
    assert "vaccines" in small and "staff" not in small
    proposed = config.tables["immunizations"].grid_edit
    assert {"vaccine_code", "verified", "admin_date", "lot_number"} <= set(proposed)
    assert not {"imm_id", "staff_id", "student_id"} & set(proposed)
