"""The grid's SQL compiled by the Oracle dialect, from Oracle-typed metadata.

No Oracle server runs here: these tests build the catalog from metadata typed the way
SQLAlchemy reflects Oracle, build the grid statements exactly as the web grid does, and check
the SQL the Oracle dialect produces for list, search, filters, sort, paging, capped count,
insert and update.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.dialects import oracle

from datadesk.config.schema import Config
from datadesk.models.catalog import Catalog
from datadesk.models.grid_query import GridQuery
from datadesk.models.reflection import build_catalog

ORACLE = oracle.dialect()


def oracle_catalog() -> Catalog:
    """Departments, staff (flags, DATE, CLOB) and a sequence-fed key, as reflected from Oracle."""
    md = sa.MetaData()
    sa.Table(
        "departments",
        md,
        sa.Column("dept_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("dept_name", oracle.VARCHAR2(60), nullable=False),
    )
    sa.Table(
        "staff",
        md,
        sa.Column("staff_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("last_name", oracle.VARCHAR2(30), nullable=False),
        sa.Column("employee_no", oracle.VARCHAR2(6), nullable=False),
        sa.Column("dept_id", oracle.NUMBER(10, 0), sa.ForeignKey("departments.dept_id")),
        sa.Column("hire_date", oracle.DATE()),
        sa.Column("active", oracle.NUMBER(1, 0)),
        sa.Column("clinical", oracle.CHAR(1)),
        sa.Column("notes", oracle.CLOB()),
        sa.CheckConstraint("ACTIVE IN (0,1)"),
        sa.CheckConstraint("CLINICAL IN ('Y','N')"),
    )
    config = Config.model_validate(
        {
            "tables": {
                "staff": {"sequence": "STAFF_SEQ", "row_label": "{last_name}"},
                "departments": {"row_label": "{dept_name}"},
            }
        }
    )
    return build_catalog(md, config, "oracle")


def grid(catalog: Catalog) -> GridQuery:
    """The staff grid as the view factory would configure it."""
    return GridQuery(
        catalog.tables["staff"],
        catalog,
        ["staff_id", "last_name", "dept_id", "hire_date", "active", "clinical"],
        search_columns=["last_name", "employee_no"],
        filter_columns=["active", "clinical", "dept_id", "hire_date"],
        default_sort=["-hire_date"],
    )


def compile_oracle(stmt: sa.ClauseElement) -> str:
    """Oracle SQL text of a statement, binds as placeholders."""
    return str(stmt.compile(dialect=ORACLE))


def test_list_page_search_filter_sort_and_offset_compile_for_oracle() -> None:
    catalog = oracle_catalog()
    query = grid(catalog)
    state = query.parse_state(
        [
            ("search", "Smith"),
            ("f.active", "1"),
            ("f.clinical", "0"),
            ("f.hire_date.from", "2020-01-01"),
            ("f.hire_date.to", "2020-12-31"),
            ("sort", "-last_name"),
            ("page", "3"),
        ],
        page_size=50,
        page_size_options=[25, 50, 100],
    )
    stmt = query.rows_statement(state)
    sql = compile_oracle(stmt)
    # Case-insensitive search without casting every row to VARCHAR2.
    assert "lower(staff.last_name) LIKE lower" not in sql
    assert re.search(r"lower\(staff\.last_name\) LIKE :\w+ ESCAPE '\\'", sql)
    assert "CAST" not in sql.upper()
    # The reference label comes from an outer join, not one query per row.
    assert "LEFT OUTER JOIN departments" in sql
    # Sort, then the key as tie-breaker; paging with Oracle's OFFSET/FETCH.
    assert re.search(r"ORDER BY staff\.last_name DESC, staff\.staff_id", sql)
    assert "OFFSET" in sql and "FETCH FIRST" in sql
    # Flags bind their legacy storage values.
    compiled = stmt.compile(dialect=ORACLE)
    processors = compiled._bind_processors
    flag_values = {
        name: (processors[name](value) if name in processors else value)
        for name, value in compiled.params.items()
        if isinstance(value, bool)
    }
    assert sorted(map(str, flag_values.values())) == ["1", "N"]
    # A date 'to' bound covers the whole day on a DATE that carries a time.
    dates = [v for v in compiled.params.values() if isinstance(v, dt.datetime)]
    assert dt.datetime(2021, 1, 1) in dates


def test_capped_count_never_counts_the_whole_table() -> None:
    catalog = oracle_catalog()
    query = grid(catalog)
    state = query.parse_state([], page_size=50, page_size_options=[50])
    sql = str(
        query.count_statement(state, 10_000).compile(
            dialect=ORACLE, compile_kwargs={"literal_binds": True}
        )
    )
    assert "count(*)" in sql
    assert "FETCH FIRST 10001 ROWS ONLY" in sql


def test_clob_columns_are_not_sortable() -> None:
    catalog = oracle_catalog()
    assert not catalog.tables["staff"].columns["notes"].is_sortable


def test_insert_uses_the_configured_sequence_and_update_binds_flags() -> None:
    catalog = oracle_catalog()
    staff = catalog.tables["staff"]
    insert = sa.insert(staff.table).values(
        last_name="Smith", employee_no="000123", active=True, clinical=False
    )
    sql = compile_oracle(insert)
    assert "STAFF_SEQ.nextval" in sql or "staff_seq.nextval" in sql.lower()
    update = sa.update(staff.table).where(staff.table.c.staff_id == 7).values(clinical=True)
    compiled = update.compile(dialect=ORACLE)
    assert compiled._bind_processors["clinical"](True) == "Y"
    assert "UPDATE staff SET clinical=:clinical WHERE staff.staff_id = :staff_id_1" in str(compiled)
