"""WHERE terms that pick rows of a served table by their key values (one row or many).

Keys are given as values in primary-key order. Many keys become IN lists of at most 1000
values (Oracle refuses longer ones, ORA-01795), joined by OR; composite keys use row-value IN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from datadesk.models.audit import jsonable
from datadesk.models.catalog import TableInfo

Key = tuple[Any, ...]

IN_LIST_LIMIT = 1000  # Oracle refuses IN lists of more than 1000 expressions (ORA-01795)


def key_condition(table: TableInfo, key_values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """WHERE term selecting one row of a table by its key values (in primary-key order)."""
    t = table.table
    return sa.and_(
        *(
            t.c[table.columns[name].db_name] == value
            for name, value in zip(table.primary_key, key_values, strict=True)
        )
    )


def row_exists(
    conn: Any, table: TableInfo, key: Sequence[Any], scope: sa.ColumnElement[bool] | None = None
) -> bool:
    """Whether the row with this key exists (within ``scope``, when given)."""
    stmt = sa.select(sa.literal(1)).select_from(table.table).where(key_condition(table, key))
    if scope is not None:
        stmt = stmt.where(scope)
    return conn.execute(stmt.limit(1)).first() is not None


def keys_condition(table: TableInfo, keys: Sequence[Sequence[Any]]) -> sa.ColumnElement[bool]:
    """WHERE term matching rows by key, as IN lists of at most 1000 keys joined by OR."""
    t = table.table
    columns = [t.c[table.columns[n].db_name] for n in table.primary_key]
    chunks = [keys[i : i + IN_LIST_LIMIT] for i in range(0, len(keys), IN_LIST_LIMIT)]
    if len(columns) == 1:
        terms = [columns[0].in_([k[0] for k in chunk]) for chunk in chunks]
    else:
        terms = [sa.tuple_(*columns).in_([tuple(k) for k in chunk]) for chunk in chunks]
    if not terms:
        return sa.literal_column("1") == sa.literal_column("0")
    return terms[0] if len(terms) == 1 else sa.or_(*terms)


def match_key(key: Iterable[Any]) -> Key:
    """A key as compared between a request (or a file) and the database: types normalised, so
    that the same row matches whatever type the driver or the parser gave its key."""
    return tuple(jsonable(part) for part in key)


def key_text(key: Sequence[Any]) -> str:
    """A key as shown in messages: its parts joined by commas."""
    return ", ".join("" if part is None else str(jsonable(part)) for part in key)
