"""Many rows into one table at the database's own bulk speed, inside the caller's transaction.

PostgreSQL (psycopg) gets ``COPY ... FROM STDIN``; the other databases (SQLite, Oracle) get the
driver's executemany with the values already passed through each column type's bind processing.
SQLAlchemy Core's executemany builds and processes one parameter dictionary per row, which for
narrow rows costs more than the database's own work; here each column's bind processor is
looked up once and the rows go to the driver as tuples. COPY checks constraints and fires row
triggers like INSERT does. A driver error is raised as SQLAlchemy's ``DBAPIError``, as
``Connection.execute`` raises it, so callers handle both paths alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

Processor = Callable[[Any], Any]


class BulkInsert:
    """Inserts rows (tuples of values in ``columns`` order) into ``table``: the statement and
    the bind processing are prepared once for a dialect, ``write`` runs them on a connection."""

    def __init__(self, table: sa.Table, columns: Sequence[str], dialect: sa.Dialect) -> None:
        self.dialect = dialect
        self.table = table
        self.columns = list(columns)
        found = [table.c[name] for name in self.columns]
        self.processors: list[Processor | None] = [
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in found
        ]
        self.uses_copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self.order: list[int] | None = None
        self.named = False
        if self.uses_copy:
            preparer = dialect.identifier_preparer
            names = ", ".join(preparer.format_column(column) for column in found)
            self.sql = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN"
        else:
            compiled = table.insert().compile(dialect=dialect, column_keys=self.columns)
            self.sql = str(compiled)
            if compiled.positiontup is not None:
                order = [self.columns.index(name) for name in compiled.positiontup]
                self.order = None if order == list(range(len(order))) else order
            else:
                self.named = True
                self.bind_names = [compiled.binds[name].key for name in self.columns]

    def prepare(self, rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        """The rows with every value bind-processed, column by column."""
        if not any(self.processors):
            return list(rows)
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for index, process in enumerate(self.processors):
            if process is not None:
                columns[index] = _processed(process, columns[index])
        return list(zip(*columns, strict=True))

    def write(self, conn: sa.Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert the rows; DBAPIError when the database refuses one (nothing is then known to
        be written: the caller rolls back to its savepoint)."""
        if not rows:
            return
        prepared = self.prepare(rows)
        if self.uses_copy:
            self._copy(conn, prepared)
            return
        params: list[Any]
        if self.named:
            params = [dict(zip(self.bind_names, row, strict=True)) for row in prepared]
        elif self.order is not None:
            order = self.order
            params = [tuple(row[i] for i in order) for row in prepared]
        else:
            params = [tuple(row) for row in prepared]
        conn.exec_driver_sql(self.sql, params)

    def _copy(self, conn: sa.Connection, rows: Sequence[Sequence[Any]]) -> None:
        dialect = conn.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        cursor = conn.connection.cursor()
        try:
            with cursor.copy(self.sql) as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        except dbapi_error as error:
            raise sa_exc.DBAPIError.instance(
                self.sql, None, error, dbapi_error, dialect=dialect
            ) from error
        finally:
            cursor.close()


def _processed(process: Processor, values: Sequence[Any]) -> list[Any]:
    """``process`` applied to every value; once per distinct value when there are few (flags,
    codes, one timestamp for every row) and they are of one type (1, 1.0 and True hash alike
    but may be bound differently)."""
    try:
        distinct = set(values)
    except TypeError:  # unhashable values: processed one by one
        return [process(v) for v in values]
    if len(distinct) * 4 > len(values) or len({type(v) for v in distinct} - {type(None)}) > 1:
        return [process(v) for v in values]
    done = {value: process(value) for value in distinct}
    return [done[v] for v in values]
