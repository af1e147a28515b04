"""Report SQL compiled by the Oracle dialect, from Oracle-typed metadata.

No Oracle server runs here: the catalog is built from metadata typed as SQLAlchemy reflects
Oracle (NUMBER, VARCHAR2, DATE with a time, CHAR(1) flags, CLOB), the report is resolved and
planned exactly as for a run, and the statements are checked as Oracle would get them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import oracle

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.config.schema import Config
from datadesk.exports.reports_filters import RunValues
from datadesk.exports.reports_query import ReportQuery
from datadesk.exports.reports_spec import find_report_problems, resolve_reports
from datadesk.models.catalog import Catalog
from datadesk.models.reflection import build_catalog

ORACLE = oracle.dialect()
READER = Actor("reader1", frozenset({"reader"}), {"department_id": "7"})


def oracle_metadata() -> sa.MetaData:
    """Departments, staff, immunizations: Oracle types as reflection reports them."""
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
        sa.Column("dept_id", oracle.NUMBER(10, 0), sa.ForeignKey("departments.dept_id")),
        sa.Column("hire_date", oracle.DATE()),
        sa.Column("salary", oracle.NUMBER(10, 2)),
        sa.Column("active", oracle.NUMBER(1, 0)),
        sa.Column("notes", oracle.CLOB()),
        sa.CheckConstraint("ACTIVE IN (0,1)"),
    )
    sa.Table(
        "immunizations",
        md,
        sa.Column("imm_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("staff_id", oracle.NUMBER(10, 0), sa.ForeignKey("staff.staff_id")),
        sa.Column("vaccine_code", oracle.VARCHAR2(10), nullable=False),
        sa.Column("admin_date", oracle.DATE(), nullable=False),
        sa.Column("verified", oracle.CHAR(1)),
        sa.CheckConstraint("VERIFIED IN ('Y','N')"),
    )
    return md


REPORT: dict[str, Any] = {
    "title": "Overdue staff",
    "table": "immunizations",
    "roles": ["reader"],
    "parameters": {
        "since": {"type": "date", "default": "today-365"},
        "window": {"type": "date_range", "required": False},
    },
    "filters": [
        {"column": "verified", "equals": True},
        {"column": "staff_id", "in": list(range(1, 1501))},
        {"column": "admin_date", "between": {"param": "window"}},
        {"column": "staff_id.active", "equals": True},
        {
            "column": "staff_id",
            "in_table": {
                "table": "staff",
                "column": "staff_id",
                "where": [{"column": "dept_id.dept_name", "contains": "Med_"}],
            },
        },
    ],
    "sheets": [
        {
            "name": "By department",
            "columns": [
                {"column": "staff_id.dept_id.dept_name", "label": "Department"},
                {"aggregate": "count"},
                {
                    "aggregate": "count",
                    "label": "Overdue",
                    "where": [
                        {
                            "column": "staff_id",
                            "not_in_table": {
                                "table": "immunizations",
                                "column": "staff_id",
                                "where": [{"column": "admin_date", "at_least": {"param": "since"}}],
                            },
                        }
                    ],
                },
                {"column": "staff_id.salary", "aggregate": "avg"},
            ],
            "totals": True,
        },
        {"name": "Detail", "columns": ["imm_id", "staff_id.last_name", "admin_date"]},
    ],
}


def oracle_setup(report: dict[str, Any]) -> tuple[Config, Catalog, RolePolicy]:
    config = Config.model_validate(
        {
            "tables": {"staff": {"columns": {"active": {"flag": "01"}}}},
            "roles": {
                "reader": {
                    "tables": {
                        "immunizations": {"actions": ["list", "export"]},
                        "staff": {
                            "actions": ["list", "export"],
                            "rows": [{"column": "dept_id", "equals_user": "department_id"}],
                        },
                        "departments": {"actions": ["list", "export"]},
                    }
                }
            },
            "reports": {"overdue": report},
        }
    )
    catalog = build_catalog(oracle_metadata(), config, "oracle")
    return config, catalog, RolePolicy(config, catalog)


def test_grouped_sheet_compiles_for_oracle() -> None:
    config, catalog, policy = oracle_setup(REPORT)
    assert find_report_problems(config, catalog, policy) == []
    specs, _ = resolve_reports(config, catalog)
    spec = specs["overdue"]
    run = RunValues(
        {"since": dt.date(2025, 1, 1), "window": (dt.date(2025, 1, 1), dt.date(2025, 12, 31))},
        dt.date(2026, 1, 1),
        READER.attributes,
    )
    plan = ReportQuery(spec, catalog, policy, READER).plan(spec.sheets[0], run, limit=5001)
    compiled = plan.rows.compile(dialect=ORACLE)
    sql = " ".join(str(compiled).split())
    # References are outer joins; staff, which the role limits, is joined as its own rows only.
    assert re.search(
        r"LEFT OUTER JOIN \(SELECT staff\.staff_id .* FROM staff WHERE staff\.dept_id = "
        r":\w+\) j1 ON j1\.staff_id = immunizations\.staff_id",
        sql,
    )
    assert "LEFT OUTER JOIN departments j2 ON j2.dept_id = j1.dept_id" in sql
    assert "GROUP BY j2.dept_name ORDER BY j2.dept_name ASC" in sql
    # A conditional count, and NOT IN that an empty staff_id in the subquery cannot void.
    assert re.search(r"count\(CASE WHEN \(immunizations\.staff_id IS NULL OR", sql)
    assert re.search(
        r"NOT IN \(SELECT \w+\.staff_id FROM immunizations \w+ WHERE \w+\.staff_id IS NOT NULL"
        r" AND \w+\.admin_date >= :\w+\)",
        sql,
    )
    assert "FETCH FIRST" in sql
    # A path inside a subquery joins there, under names of its own; LIKE wildcards escaped.
    assert re.search(
        r"immunizations\.staff_id IN \(SELECT (\w+)\.staff_id FROM staff \1 LEFT OUTER JOIN"
        r" departments (\w+) ON \2\.dept_id = \1\.dept_id WHERE lower\(\2\.dept_name\) LIKE"
        r" :\w+ ESCAPE '\\'\)",
        sql,
    )
    assert "%med\\_%" in compiled.params.values()
    # IN lists of at most 1000 values (ORA-01795), flags bound as Oracle stores them.
    lists = [v for v in compiled.params.values() if isinstance(v, list | tuple)]
    assert sorted(len(v) for v in lists) == [500, 1000]
    processors = compiled._bind_processors
    flags = {
        name: processors[name](value) if name in processors else value
        for name, value in compiled.params.items()
        if isinstance(value, bool)
    }
    assert sorted(map(str, flags.values())) == ["1", "Y"]
    # A day compared with a DATE (which carries a time) covers the whole last day.
    dates = [v for v in compiled.params.values() if isinstance(v, dt.datetime)]
    assert dt.datetime(2026, 1, 1) in dates and dt.datetime(2025, 1, 1) in dates
    # The totals row's overall average comes from a query without GROUP BY.
    assert plan.overall is not None
    overall = " ".join(str(plan.overall.compile(dialect=ORACLE)).split())
    assert "avg(j1.salary)" in overall and "GROUP BY" not in overall


def test_lobs_cannot_be_grouped_or_sorted() -> None:
    report = {
        **REPORT,
        "sheets": [
            {"name": "A", "columns": ["staff_id.notes", {"aggregate": "count"}]},
            {"name": "B", "columns": ["imm_id"], "sort": ["staff_id.notes"]},
        ],
    }
    config, catalog, policy = oracle_setup(report)
    problems = find_report_problems(config, catalog, policy)
    assert (
        "reports.overdue.sheets[0].columns[0].column: notes (long_text) cannot be grouped by"
        in problems
    )
    assert "reports.overdue.sheets[1].sort[0]: notes (long_text) cannot be sorted" in problems
