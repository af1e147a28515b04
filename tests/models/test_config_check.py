"""Config entries that name tables or columns the schema does not have."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import oracle

from datadesk.config.schema import Config
from datadesk.models.reflection import build_catalog, find_config_problems


def metadata() -> sa.MetaData:
    """Two related tables and a key-less one."""
    md = sa.MetaData()
    sa.Table(
        "dept",
        md,
        sa.Column("dept_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("dept_name", oracle.VARCHAR2(40)),
    )
    sa.Table(
        "staff",
        md,
        sa.Column("staff_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("dept_id", oracle.NUMBER(10, 0), sa.ForeignKey("dept.dept_id")),
        sa.Column("last_name", oracle.VARCHAR2(40)),
        sa.Column("salary", oracle.NUMBER(10, 2)),
    )
    sa.Table("audit_log", md, sa.Column("at", oracle.DATE()), sa.Column("what", oracle.CLOB()))
    return md


def problems(settings: dict[str, Any]) -> list[str]:
    """Build the catalog under ``settings`` and cross-check them."""
    config = Config.model_validate(settings)
    catalog = build_catalog(metadata(), config, "oracle")
    return find_config_problems(config, catalog)


def test_a_matching_config_has_no_problems() -> None:
    assert (
        problems(
            {
                "tables": {
                    "STAFF": {
                        "list_columns": ["last_name", "dept", "dept.dept_name", "SALARY"],
                        "detail_columns": ["staff_id", "dept_id"],
                        "form_columns": ["last_name"],
                        "search": ["last_name"],
                        "filters": ["dept"],
                        "default_sort": ["-salary", "last_name"],
                        "row_label": "{last_name} ({salary:,.2f})",
                        "columns": {"LAST_NAME": {"label": "Surname"}},
                    },
                    "audit_log": {"key": ["at"]},
                }
            }
        )
        == []
    )


def test_unknown_table_with_suggestion() -> None:
    assert problems({"tables": {"staf": {}}}) == [
        "tables.staf: no such table (did you mean 'staff'?)"
    ]
    assert problems({"tables": {"payroll": {}}}) == ["tables.payroll: no such table"]


def test_excluded_table() -> None:
    result = problems({"database": {"exclude": ["audit_*"]}, "tables": {"audit_log": {}}})
    assert result == [
        "tables.audit_log: table is not served (excluded by database.include/exclude)"
    ]


def test_unknown_columns_everywhere() -> None:
    result = problems(
        {
            "tables": {
                "staff": {
                    "key": ["staf_id"],
                    "list_columns": ["last_name", "salry"],
                    "detail_columns": ["nope"],
                    "form_columns": ["dept_nme"],
                    "search": ["lastname"],
                    "filters": ["department"],
                    "default_sort": ["-salery"],
                    "row_label": "{last_nam}, {salary}",
                    "columns": {"salry": {"label": "Pay"}},
                }
            }
        }
    )
    assert result == [
        "tables.staff.columns.salry: no such column (did you mean 'salary'?)",
        "tables.staff.key[0]: no such column 'staf_id' (did you mean 'staff_id'?)",
        "tables.staff.list_columns[1]: no such column 'salry' (did you mean 'salary'?)",
        "tables.staff.detail_columns[0]: no such column 'nope'",
        "tables.staff.form_columns[0]: no such column 'dept_nme' (did you mean 'dept_id'?)",
        "tables.staff.search[0]: no such column 'lastname' (did you mean 'last_name'?)",
        "tables.staff.filters[0]: no such column 'department'",
        "tables.staff.default_sort[0]: no such column 'salery' (did you mean 'salary'?)",
        "tables.staff.row_label: no such column 'last_nam' (did you mean 'last_name'?)",
    ]


def test_relationship_paths() -> None:
    result = problems({"tables": {"staff": {"list_columns": ["dpt.dept_name", "dept.x"]}}})
    assert result == [
        "tables.staff.list_columns[0]: no such relationship 'dpt' (did you mean 'dept'?)"
    ]


def test_key_and_sequence_problems() -> None:
    assert problems({"tables": {"staff": {"key": ["last_name"]}}}) == [
        "tables.staff.key: ignored, the table has a primary key (staff_id)"
    ]
    assert problems({"tables": {"audit_log": {"sequence": "LOG_SEQ"}}}) == [
        "tables.audit_log.sequence: the table has no key; set tables.audit_log.key"
    ]
    assert problems({"tables": {"audit_log": {"key": ["at", "what"], "sequence": "S"}}}) == [
        "tables.audit_log.sequence: needs a single-column key, not 2"
    ]
    assert problems({"tables": {"staff": {"sequence": "STAFF_SEQ"}}}) == []


def test_build_catalog_does_not_crash_on_unknown_names() -> None:
    config = Config.model_validate(
        {
            "tables": {
                "nothing": {"key": ["x"]},
                "staff": {"key": ["nope"], "columns": {"ghost": {"flag": "yn"}}},
                "audit_log": {"key": ["missing"], "row_label": "{ghost}"},
            }
        }
    )
    catalog = build_catalog(metadata(), config, "oracle")
    assert catalog.tables["audit_log"].is_read_only  # the configured key is unusable
    assert catalog.tables["staff"].primary_key == ("staff_id",)


def test_import_profiles_are_checked_against_the_schema() -> None:
    from datadesk.config.loader import parse_config
    from datadesk.demo.build import build_demo
    from datadesk.models.config_check import find_config_problems
    from datadesk.models.engine import create_db_engine
    from datadesk.models.reflection import reflect_catalog

    engine = create_db_engine("sqlite://")
    build_demo(engine, immunizations=10)
    catalog = reflect_catalog(engine, parse_config("{}"), cache_dir=None)
    engine.dispose()
    config = parse_config(
        """
imports:
  p:
    table: staf
    mode: insert
    columns: {x: {from: X}}
  q:
    table: staff
    mode: insert
    columns:
      last_nam: {from: Surname}
      dept_id: {from: Dept, lookup: {table: vaccines, column: dept_code}}
      supervisor_id: {from: Boss, lookup: {table: staff, column: employe_no}}
"""
    )
    problems = find_config_problems(config, catalog)
    assert "imports.p.table: no such table (did you mean 'staff'?)" in problems
    assert any(p.startswith("imports.q.columns.last_nam: no such column") for p in problems)
    assert (
        "imports.q.columns.dept_id.lookup.table: dept_id references departments, not vaccines"
        in problems
    )
    assert any(p.startswith("imports.q.columns.supervisor_id.lookup.column") for p in problems)


def test_formula_columns_of_exports_must_exist() -> None:
    found = problems(
        {"exports": {"allow_formulas": {"STAFF": ["salary", "last_nam"], "staf": ["x"]}}}
    )
    assert found == [
        "exports.allow_formulas.staff: no such column 'last_nam' (did you mean 'last_name'?)",
        "exports.allow_formulas.staf: no such table (did you mean 'staff'?)",
    ]


def test_grid_edit_names_writable_grid_columns() -> None:
    assert problems({"tables": {"staff": {"grid_edit": ["LAST_NAME", "dept_id", "salary"]}}}) == []
    result = problems(
        {
            "tables": {
                "staff": {
                    "list_columns": ["staff_id", "last_name", "dept_id"],
                    "grid_edit": ["last_nme", "staff_id", "salary", "dept_id", "DEPT_ID"],
                    "columns": {"dept_id": {"read_only": True}},
                },
                "dept": {"read_only": True, "grid_edit": ["dept_name"]},
            }
        }
    )
    assert result == [
        "tables.staff.grid_edit[0]: no such column 'last_nme' (did you mean 'last_name'?)",
        "tables.staff.grid_edit[1]: staff_id cannot be edited in the grid: it is part of the key",
        "tables.staff.grid_edit[2]: salary cannot be edited in the grid: not a column of the "
        "grid; add it to list_columns",
        "tables.staff.grid_edit[3]: dept_id cannot be edited in the grid: it is read-only",
        "tables.staff.grid_edit[4]: dept_id cannot be edited in the grid: it is read-only",
        "tables.dept.grid_edit: dept is read-only, so nothing can be edited in its grid",
    ]


def test_grid_edit_refuses_hidden_long_and_key_less_columns() -> None:
    result = problems(
        {
            "tables": {
                "staff": {
                    "grid_edit": ["last_name", "last_name", "salary"],
                    "columns": {"salary": {"hidden": True}},
                },
                "audit_log": {"grid_edit": ["what"]},
            }
        }
    )
    assert result == [
        "tables.staff.grid_edit[1]: last_name cannot be edited in the grid: listed twice",
        "tables.staff.grid_edit[2]: salary cannot be edited in the grid: it is hidden",
        "tables.audit_log.grid_edit: audit_log is read-only, so nothing can be edited in its grid",
    ]
    keyed = problems({"tables": {"audit_log": {"key": ["at"], "grid_edit": ["what"]}}})
    assert keyed == [
        "tables.audit_log.grid_edit[0]: what cannot be edited in the grid: long text is "
        "edited in the form, not in the grid"
    ]
