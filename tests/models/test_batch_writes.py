"""Batch updates: all rows or none, refusals as data, IN lists Oracle accepts.

The real-database tests run on the suite's backend (SQLite, or PostgreSQL when
DATADESK_TEST_DATABASE_URL is set) over a reflected legacy-style table; the Oracle tests
compile the same statements with the Oracle dialect from Oracle-typed metadata.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.orm import sessionmaker

from datadesk.config.schema import Config
from datadesk.models.audit import AuditContext
from datadesk.models.batch_writes import BatchUpdate, RowChange, fingerprint, select_rows
from datadesk.models.catalog import TableInfo
from datadesk.models.records import RecordStore
from datadesk.models.reflection import build_catalog, reflect_catalog
from datadesk.models.row_keys import IN_LIST_LIMIT, keys_condition
from tests.models.conftest import raw_rows, run_ddl

AUDIT = AuditContext("tester", "grid")


def ward_table(engine: sa.Engine, rows: int = 3) -> tuple[RecordStore, TableInfo]:
    """A reflected WARDS table (unique code, a floor) with ``rows`` rows, and a store."""
    run_ddl(
        engine,
        [
            "CREATE TABLE WARDS (WARD_ID INTEGER NOT NULL PRIMARY KEY, CODE VARCHAR(8) NOT NULL"
            " UNIQUE, FLOOR_NO INTEGER NOT NULL)"
        ],
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO WARDS (WARD_ID, CODE, FLOOR_NO) VALUES (:i, :c, 1)"),
            [{"i": n, "c": f"W{n}"} for n in range(1, rows + 1)],
        )
    catalog = reflect_catalog(engine, Config(), cache_dir=None)
    return RecordStore(sessionmaker(bind=engine)), catalog.tables["wards"]


def stored(engine: sa.Engine) -> list[tuple[object, ...]]:
    return raw_rows(engine, "SELECT WARD_ID, CODE, FLOOR_NO FROM WARDS ORDER BY WARD_ID")


def test_all_rows_or_none_and_a_conflict_is_reported_with_the_row_now(engine: sa.Engine) -> None:
    store, table = ward_table(engine)
    batch = BatchUpdate(store, table, None, AUDIT)
    seen = {"ward_id": 2, "code": "W2", "floor_no": 1}
    run_ddl(engine, ["UPDATE WARDS SET FLOOR_NO = 5 WHERE WARD_ID = 2"])  # someone else
    outcome = batch.apply(
        [
            RowChange((1,), {"code": "A1"}, {"ward_id": 1, "code": "W1", "floor_no": 1}),
            RowChange((2,), {"code": "A2"}, seen),
        ]
    )
    assert not outcome.is_written and outcome.written == []
    [refusal] = outcome.refusals
    assert (refusal.key, refusal.code, refusal.changed) == ((2,), "conflict", ("floor_no",))
    assert refusal.current is not None and refusal.current["floor_no"] == 5
    assert "Floor number: '1' is now '5'" in refusal.message
    assert stored(engine) == [(1, "W1", 1), (2, "W2", 5), (3, "W3", 1)]
    done = batch.apply([RowChange((1,), {"code": "A1"}), RowChange((3,), {"floor_no": 1})])
    assert done.is_written and done.written == [(1,)] and done.unchanged == [(3,)]
    assert stored(engine)[0] == (1, "A1", 1)


def test_a_refused_row_is_named_with_its_column_and_nothing_is_written(engine: sa.Engine) -> None:
    store, table = ward_table(engine)
    batch = BatchUpdate(store, table, None, AUDIT)
    outcome = batch.apply(
        [
            RowChange((1,), {"floor_no": 7}),
            RowChange((2,), {"code": "SAME"}),
            RowChange((3,), {"code": "SAME"}),
        ]
    )
    assert [(r.key, r.code, r.column) for r in outcome.refusals] == [((3,), "database", "code")]
    assert "already exists" in outcome.refusals[0].message
    assert stored(engine) == [(1, "W1", 1), (2, "W2", 1), (3, "W3", 1)]


def test_missing_rows_and_rows_leaving_the_scope_are_refused(engine: sa.Engine) -> None:
    store, table = ward_table(engine)
    t = table.table
    ground_floor = t.c[table.columns["floor_no"].db_name] == 1
    batch = BatchUpdate(store, table, ground_floor, AUDIT)
    run_ddl(engine, ["UPDATE WARDS SET FLOOR_NO = 2 WHERE WARD_ID = 3"])  # out of scope
    missing = batch.apply([RowChange((3,), {"code": "X"}), RowChange((99,), {"code": "Y"})])
    assert [(r.key, r.code) for r in missing.refusals] == [((3,), "missing"), ((99,), "missing")]
    moved = batch.apply([RowChange((1,), {"code": "B1"}), RowChange((2,), {"floor_no": 4})])
    assert [(r.key, r.code) for r in moved.refusals] == [((2,), "scope")]
    assert stored(engine) == [(1, "W1", 1), (2, "W2", 1), (3, "W3", 2)]


def test_set_column_needs_the_confirmed_set(engine: sa.Engine) -> None:
    store, table = ward_table(engine, rows=5)
    batch = BatchUpdate(store, table, None, AUDIT)
    where = [table.table.c[table.columns["ward_id"].db_name] <= 4]
    shown = ["ward_id", "code", "floor_no"]
    seen = batch.preview(where, "floor_no", 3, version_columns=shown, limit=10)
    assert (seen.matched, len(seen.written), seen.unchanged) == (4, 4, [])
    run_ddl(engine, ["UPDATE WARDS SET CODE = 'Q2' WHERE WARD_ID = 2"])
    stale = batch.set_column(
        where, "floor_no", 3, confirmed=seen.fingerprint, version_columns=shown, limit=10
    )
    assert stale.is_stale and not stale.is_written and stale.fingerprint != seen.fingerprint
    assert {row[2] for row in stored(engine)} == {1}
    again = batch.set_column(
        where, "floor_no", 3, confirmed=stale.fingerprint, version_columns=shown, limit=10
    )
    assert again.is_written and len(again.written) == 4
    assert [row[2] for row in stored(engine)] == [3, 3, 3, 3, 1]
    capped = batch.preview(where, "floor_no", 1, version_columns=shown, limit=3)
    assert capped.matched == 4  # one more than the limit: the caller says "too many"


def test_thousands_of_keys_in_one_batch(engine: sa.Engine) -> None:
    store, table = ward_table(engine, rows=2_500)
    batch = BatchUpdate(store, table, None, AUDIT)
    outcome = batch.apply([RowChange((n,), {"floor_no": 2}) for n in range(1, 2_501)])
    assert outcome.is_written and len(outcome.written) == 2_500
    assert raw_rows(engine, "SELECT COUNT(*) FROM WARDS WHERE FLOOR_NO = 2") == [(2_500,)]


# -- Oracle ---------------------------------------------------------------------------------------


def oracle_tables() -> tuple[TableInfo, TableInfo]:
    """A one-column key and a composite key, typed as reflected from Oracle."""
    md = sa.MetaData()
    sa.Table(
        "wards",
        md,
        sa.Column("ward_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("code", oracle.VARCHAR2(8), nullable=False),
    )
    sa.Table(
        "shifts",
        md,
        sa.Column("ward_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("shift_date", oracle.DATE(), primary_key=True),
        sa.Column("nurse", oracle.VARCHAR2(30)),
    )
    catalog = build_catalog(md, Config(), "oracle")
    return catalog.tables["wards"], catalog.tables["shifts"]


def oracle_sql(stmt: sa.ClauseElement) -> str:
    return str(stmt.compile(dialect=oracle.dialect(), compile_kwargs={"literal_binds": True}))


def test_oracle_in_lists_hold_at_most_1000_keys() -> None:
    wards, shifts = oracle_tables()
    sql = oracle_sql(select_rows(wards, keys_condition(wards, [(n,) for n in range(2_500)])))
    lists = re.findall(r"IN \(([^)]*)\)", sql)
    assert [len(items.split(",")) for items in lists] == [1000, 1000, 500]
    assert max(len(items.split(",")) for items in lists) <= IN_LIST_LIMIT
    assert sql.count(" OR ") == 2
    keys = [(n, dt.datetime(2026, 1, 1)) for n in range(1_200)]
    composite = oracle_sql(sa.select(sa.literal(1)).where(keys_condition(shifts, keys)))
    assert composite.count("(shifts.ward_id, shifts.shift_date) IN (") == 2


def test_oracle_update_and_locking_select_compile() -> None:
    wards, _ = oracle_tables()
    stmt = select_rows(wards, keys_condition(wards, [(1,), (2,)])).with_for_update()
    sql = oracle_sql(stmt)
    assert sql.endswith("FOR UPDATE") and "wards.ward_id IN (1, 2)" in sql
    scope = wards.table.c.code.in_(["A", "B"])
    editable = sa.case((scope, 1), else_=0).label("__editable")
    assert "CASE WHEN (wards.code IN ('A', 'B')) THEN 1 ELSE 0 END" in oracle_sql(
        sa.select(wards.table.c.ward_id, editable)
    )


def test_fingerprint_follows_keys_and_values_not_order() -> None:
    wards, _ = oracle_tables()
    rows = [{"ward_id": 1, "code": "A"}, {"ward_id": 2, "code": "B"}]
    same = fingerprint(wards, list(reversed(rows)), ["code"])
    assert fingerprint(wards, rows, ["code"]) == same
    assert fingerprint(wards, [rows[0], {"ward_id": 2, "code": "C"}], ["code"]) != same
    assert fingerprint(wards, rows[:1], ["code"]) != same
