"""The bulk insert and the audit entries of created rows, on the real database (SQLite, or
PostgreSQL's COPY with DATADESK_TEST_DATABASE_URL), and the statement Oracle would get."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import oracle

from datadesk.models.app_tables import app_tables
from datadesk.models.audit import AuditContext, AuditLog, diff
from datadesk.models.bulk import BulkInsert
from datadesk.models.catalog import TableInfo
from datadesk.models.types import YesNoFlag
from tests.models.conftest import raw_rows


def _table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "bulk_things",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("born", sa.Date),
        sa.Column("seen", sa.DateTime),
        sa.Column("amount", sa.Numeric(10, 2)),
        sa.Column("active", YesNoFlag(), nullable=False),
        sa.CheckConstraint("amount >= 0", name="bulk_things_amount_ck"),
    )


ROWS = [
    (1, "Ann", dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5), Decimal("1.50"), True),
    (2, "Bob & <b>", None, None, None, False),
    (3, "Zoë", dt.date(1999, 12, 31), dt.datetime(2001, 1, 1), Decimal("0"), True),
]


def test_bulk_insert_writes_what_core_writes(engine: sa.Engine) -> None:
    metadata = sa.MetaData()
    table = _table(metadata)
    metadata.create_all(engine)
    names = [c.name for c in table.columns]
    with engine.begin() as conn:
        backwards = names[::-1]  # values in another order than the table's columns
        BulkInsert(table, backwards, conn.dialect).write(conn, [row[::-1] for row in ROWS])
        conn.execute(
            table.insert(), [dict(zip(names, (r[0] + 10, *r[1:]), strict=True)) for r in ROWS]
        )
    stored = raw_rows(engine, "SELECT * FROM bulk_things ORDER BY id")
    assert [row[1:] for row in stored[:3]] == [row[1:] for row in stored[3:]]  # same text as Core
    assert [row[5] for row in stored[:3]] == ["Y", "N", "Y"]  # the flag type's own processing
    with engine.connect() as conn:
        read = conn.execute(sa.select(table).order_by(table.c.id)).all()
    assert [tuple(r) for r in read[:3]] == ROWS


def test_a_refused_row_raises_dbapi_error_and_rolls_back_to_the_savepoint(
    engine: sa.Engine,
) -> None:
    metadata = sa.MetaData()
    table = _table(metadata)
    metadata.create_all(engine)
    bulk = BulkInsert(table, [c.name for c in table.columns], engine.dialect)
    bad = (9, "Neg", None, None, Decimal("-1"), True)
    with engine.begin() as conn:
        bulk.write(conn, ROWS[:1])
        with pytest.raises(sa.exc.DBAPIError) as raised, conn.begin_nested():
            bulk.write(conn, [ROWS[1], bad])
        assert "bulk_things_amount_ck" in str(raised.value.orig) or "CHECK" in str(
            raised.value.orig
        )
        bulk.write(conn, ROWS[2:])
    assert [r[0] for r in raw_rows(engine, "SELECT id FROM bulk_things ORDER BY id")] == [1, 3]


def test_oracle_gets_an_insert_with_named_binds() -> None:
    metadata = sa.MetaData()
    table = _table(metadata)
    bulk = BulkInsert(table, ["name", "id", "active"], oracle.dialect())
    assert not bulk.uses_copy and bulk.named
    # Columns in the table's order; the rows' values go by name.
    assert bulk.sql == "INSERT INTO bulk_things (id, name, active) VALUES (:id, :name, :active)"
    assert bulk.bind_names == ["name", "id", "active"]
    assert bulk.prepare([("A", 1, True)]) == [("A", 1, "Y")]


VALUES: list[Any] = [
    1,
    -7,
    10**20,
    2.5,
    1e-7,
    float("inf"),
    "text",
    'quote " backslash \\ tab \t',
    "Zoë ✓ 😀",
    "",
    True,
    False,
    dt.date(2024, 2, 29),
    dt.datetime(2024, 2, 29, 23, 59, 1, 5),
    dt.time(7, 30),
    Decimal("12.50"),
    Decimal("3"),
    dt.timedelta(hours=2),
    None,
]


def test_created_entries_hold_the_json_a_diff_gives(engine: sa.Engine) -> None:
    tables = app_tables()
    tables.metadata.create_all(engine, tables=[tables.audit])
    log = AuditLog(tables)
    things = _table(sa.MetaData())
    info = TableInfo(
        name="things",
        db_name="things",
        table=things,
        model=object,
        label="Thing",
        label_plural="Things",
        help=None,
        columns={},
        primary_key=("id",),
    )
    names = ["b_value", "a_value", "c_same"]
    created = [((i,), (v, VALUES[-1 - i], "same")) for i, v in enumerate(VALUES)]
    created.append(((99,), (None, None, None)))  # nothing to record: no entry
    context = AuditContext("tester", "import", job_id=7)
    with engine.begin() as conn:
        written = log.record_created(conn, context, info, names, created)
    assert written == len(VALUES)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(tables.audit.c.row_key, tables.audit.c.changes, tables.audit.c.job_id)
        ).all()
    by_key = {row_key: (changes, job) for row_key, changes, job in stored}
    for key, values in created[:-1]:
        expected = json.dumps(
            diff(None, dict(zip(names, values, strict=True))), ensure_ascii=False, sort_keys=True
        )
        assert by_key[str(key[0])] == (expected, 7)
