"""Options of report parameters chosen from a table, as each user may see them, cached.

The options of a choice are the rows of its table that match its ``where`` and that the user
may list (``where_for("list")``), shown by the table's row label (from the columns the user
may see). They are kept in a ``TableCache``: at most ``size`` lists, until a write through the
app touches a table they read (the record store's and the import service's listeners call
``invalidate``) or ``seconds`` pass (writes from outside the app are noticed then).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.errors import InvalidInput
from datadesk.exports.reports_filters import RunValues, filter_clause
from datadesk.exports.reports_params import ParameterSpec
from datadesk.exports.reports_paths import JoinSet
from datadesk.models.catalog import Catalog
from datadesk.models.grid_query import coerce_value, format_row_label, label_attributes
from datadesk.models.table_cache import EVERY_TABLE, Missing, TableCache

Options = list[tuple[Any, str]]


class ReportChoices:
    """Cached (value, label) options of table choices, per parameter and user scope."""

    def __init__(
        self,
        engine: sa.Engine,
        catalog: Catalog,
        policy: RolePolicy,
        limit: int,
        *,
        size: int = 256,
        seconds: float = 60.0,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.policy = policy
        self.limit = limit
        self.today = today
        self._cache: TableCache[Options | None] = TableCache(seconds, size)

    def invalidate(self, table: str) -> None:
        """Forget every option list that reads ``table`` (called after each write)."""
        self._cache.invalidate(table)

    def options(self, spec: ParameterSpec, actor: Actor) -> Options | None:
        """The options, or None when the table holds more than ``limit`` of them."""
        today = self.today()
        key = (
            id(spec),
            tuple(sorted(actor.roles)),
            tuple(sorted(actor.attributes.items())),
            today,
        )
        found = self._cache.get(key)
        if not isinstance(found, Missing):
            return found
        started = time.monotonic()
        tables, result = self._load(spec, actor, today)
        self._cache.put(key, tables, result, read_at=started)
        return result

    def find(self, spec: ParameterSpec, actor: Actor, text: str) -> tuple[Any, str] | None:
        """The allowed choice ``text`` names: by its value, else by its label (ignoring case,
        when the label is unique); None when the user may not pick it."""
        assert spec.column is not None
        try:
            value = coerce_value(spec.column, text)
        except InvalidInput:
            value = None
        label = self.label_of(spec, actor, value) if value is not None else None
        if label is not None:
            return value, label
        named = [
            (k, name) for k, name in self.options(spec, actor) or [] if name.lower() == text.lower()
        ]
        return named[0] if len(named) == 1 else None

    def label_of(self, spec: ParameterSpec, actor: Actor, value: Any) -> str | None:
        """The label of an allowed value, or None when the user may not choose it."""
        found = self.options(spec, actor)
        if found is not None:
            return next((label for key, label in found if key == value), None)
        _, rows = self._load(spec, actor, self.today(), value=value)
        return rows[0][1] if rows else None

    def _load(
        self, spec: ParameterSpec, actor: Actor, today: dt.date, value: Any = None
    ) -> tuple[frozenset[str], Options | None]:
        """The tables read and the options (all, or the one with ``value``)."""
        table, column = spec.table, spec.column
        assert table is not None and column is not None
        access = self.policy.access(actor, table.name)
        shown = [a for a in label_attributes(table) if a not in access.hidden] or [column.name]
        joins = JoinSet(self.catalog, table, table.table)
        run = RunValues({}, today, actor.attributes)
        terms = [t for t in (filter_clause(f, joins, run) for f in spec.where) if t is not None]
        scope = access.where_for("list")
        if scope is not None:
            terms.append(scope)
        key = table.table.c[column.db_name]
        labels = [table.table.c[table.columns[a].db_name].label(a) for a in shown]
        stmt = sa.select(key.label("__key"), *labels).select_from(joins.from_clause())
        stmt = stmt.where(*terms)
        if value is not None:
            stmt = stmt.where(key == value).limit(1)
        else:
            sortable = [table.table.c[table.columns[a].db_name] for a in shown]
            stmt = stmt.order_by(
                *(c for c, a in zip(sortable, shown, strict=True) if table.columns[a].is_sortable)
            ).limit(self.limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        tables = frozenset({table.name, *(t.name for f in spec.where for t, _ in f.reads())})
        if access.needs_database:
            tables |= {EVERY_TABLE}  # the user's row rules look into other tables
        if value is None and len(rows) > self.limit:
            return tables, None
        options = [(r["__key"], format_row_label(table, {a: r[a] for a in shown})) for r in rows]
        return tables, [(k, label or str(k)) for k, label in options]
