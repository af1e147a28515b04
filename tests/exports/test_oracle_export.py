"""The export's SELECT and capped count compiled by the Oracle dialect, from Oracle-typed
metadata (no Oracle server runs here; see tests/admin/test_oracle_sql.py)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects import oracle

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.config.schema import Config
from datadesk.exports.grid_export import GridExporter
from datadesk.models.reflection import build_catalog
from tests.admin.test_oracle_sql import oracle_catalog

ORACLE = oracle.dialect()


def test_export_select_compiles_for_oracle_with_scope_hidden_columns_and_no_paging() -> None:
    catalog = oracle_catalog()
    config = Config.model_validate(
        {
            "tables": {
                "staff": {
                    "list_columns": ["staff_id", "last_name", "dept_id", "hire_date", "notes"],
                    "search": ["last_name"],
                    "filters": ["active", "dept_id"],
                    "default_sort": ["-hire_date"],
                }
            },
            "roles": {
                "reader": {
                    "tables": {
                        "staff": {
                            "actions": ["list", "export"],
                            "hidden": ["hire_date"],
                            "rows": [{"column": "dept_id", "equals_user": "department_id"}],
                        }
                    }
                }
            },
            "exports": {"max_rows": 5000},
        }
    )
    catalog = build_catalog(catalog.metadata, config, "oracle")
    engine = sa.create_engine("oracle+oracledb://scott:tiger@127.0.0.1:1/?service_name=NONE")
    exporter = GridExporter(engine, catalog, RolePolicy(config, catalog), config)
    actor = Actor("reader1", frozenset({"reader"}), {"department_id": "7"})
    plan = exporter.plan(
        actor, "STAFF", [("search", "smi"), ("f.active", "1"), ("page", "4")], "xlsx"
    )
    names = [c.name for c in plan.columns]
    assert names == ["staff_id", "last_name", "dept_id__label", "dept_id", "notes"]
    compiled = exporter.statement(plan).compile(dialect=ORACLE)
    sql = str(compiled)
    assert "hire_date" not in sql  # hidden: neither selected nor sorted by
    assert "OFFSET" not in sql and "FETCH" not in sql  # every row, not the page
    assert re.search(r"lower\(staff\.last_name\) LIKE :\w+ ESCAPE '\\'", sql)
    assert "LEFT OUTER JOIN departments" in sql
    assert re.search(r"staff\.dept_id = :\w+", sql)  # the row filter of the export action
    assert 7 in compiled.params.values()
    assert re.search(r"ORDER BY staff\.staff_id ASC$", sql)  # a CLOB is never sorted
    count = str(
        exporter.count_statement(plan).compile(
            dialect=ORACLE, compile_kwargs={"literal_binds": True}
        )
    )
    assert "FETCH FIRST 5001 ROWS ONLY" in count
    engine.dispose()
