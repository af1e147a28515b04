"""One batch of an import's rows on its way to the database: converted cell by cell, foreign keys
found, keys checked within the file, each row classified against the stored rows (insert,
update, unchanged) and checked against the importing user's row filter.

Conversion runs column by column (one converter over a column of the batch: the per-cell cost is
then little more than the converter's own), and a cell that does not convert becomes a problem on
that cell. Problems are values on their row; rows with problems are never written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from datadesk.auth.policy import TableAccess
from datadesk.config.schema import ImportColumn
from datadesk.importers.key_index import KeyIndex
from datadesk.importers.lookups import Lookup
from datadesk.importers.sheet import CellProblem, Heading, SourceRow
from datadesk.importers.transforms import ValueProblem
from datadesk.models.audit import jsonable
from datadesk.models.catalog import ColumnInfo, TableInfo


@dataclass
class Target:
    """One mapped target column: where its value comes from and how it is converted."""

    column: ColumnInfo
    spec: ImportColumn
    heading: Heading | None
    convert: Callable[[Any], Any]
    lookup: Lookup | None = None


@dataclass(slots=True)
class ImportRow:
    """One source row on its way: converted values, problems, and what will happen to it."""

    source: SourceRow
    values: dict[str, Any]
    problems: list[CellProblem] = field(default_factory=list)
    key: tuple[Any, ...] | None = None
    action: str = ""  # insert, update, unchanged, or '' while undecided / with problems
    before: dict[str, Any] | None = None


class RowChecks:
    """Everything done to a batch before it is written, for one run."""

    def __init__(
        self,
        table: TableInfo,
        targets: list[Target],
        *,
        key_names: list[str],
        insert_only: bool,
        access: TableAccess,
        conn: sa.Connection,
        constants: dict[str, Any],
    ) -> None:
        self.table = table
        self.t = table.table
        self.targets = targets
        self.key_names = key_names
        self.insert_only = insert_only
        self.access = access
        self.conn = conn
        self.constants = constants
        self.labels = {c.name: c.label for c in table.columns.values()}
        self.seen = KeyIndex()
        # A column whose optional heading is absent is not written (the database default
        # applies to new rows, existing rows keep their value), unless it has a default.
        self.sources = [
            t
            for t in targets
            if t.spec.constant is None and (t.heading is not None or t.spec.default is not None)
        ]
        self.mapped = [
            t.column.name for t in targets if t in self.sources or t.column.name in constants
        ]
        self.update_names = [n for n in self.mapped if n not in key_names]
        self.required = [
            c.name
            for c in table.columns.values()
            if not c.nullable and not c.is_generated and not _has_default(self.t.c[c.db_name])
        ]
        self._existing_stmt: sa.Select[Any] | None = None
        # The row filter is checked only when the actor has one for imports.
        self.scoped = access.where_for("import") is not None
        self.scope_connection = conn if access.needs_database else None
        indexes = [t.heading.index for t in self.sources if t.heading is not None]
        self.width = max(indexes, default=-1) + 1

    def rows(self, batch: list[SourceRow]) -> list[ImportRow]:
        """The batch converted, looked up, checked and classified."""
        rows = self._convert(batch)
        self._resolve_lookups(rows)
        self._check_keys(rows)
        self._classify(rows)
        if self.scoped:
            self._check_scope(rows)
        return rows

    # --- converting ------------------------------------------------------------------------

    def _convert(self, batch: list[SourceRow]) -> list[ImportRow]:
        width = self.width
        padded = [
            r.values if len(r.values) >= width else r.values + (None,) * (width - len(r.values))
            for r in batch
        ]
        names: list[str] = []
        columns: list[list[Any]] = []
        problems: dict[int, list[CellProblem]] = {}
        for target in self.sources:
            heading = target.heading
            raw: Sequence[Any]
            if heading is None:
                raw = [None] * len(batch)
            else:
                raw = list(map(itemgetter(heading.index), padded))
            names.append(target.column.name)
            columns.append(self._convert_column(target, raw, batch, problems))
        for name, value in self.constants.items():
            names.append(name)
            columns.append([value] * len(batch))
        rows = [
            ImportRow(source, dict(zip(names, values)))  # noqa: B905 (columns are as long as the batch)
            for source, values in zip(batch, zip(*columns))  # noqa: B905
        ]
        for position, found in problems.items():
            rows[position].problems.extend(found)
        return rows

    def _convert_column(
        self,
        target: Target,
        raw: Sequence[Any],
        batch: list[SourceRow],
        problems: dict[int, list[CellProblem]],
    ) -> list[Any]:
        try:
            return list(map(target.convert, raw))
        except ValueProblem:
            pass
        converted: list[Any] = []
        convert = target.convert
        for position, value in enumerate(raw):
            try:
                converted.append(convert(value))
            except ValueProblem as problem:
                converted.append(None)
                problems.setdefault(position, []).append(
                    self.cell_problem(batch[position], target, value, problem.message)
                )
        return converted

    def cell_problem(
        self, source: SourceRow, target: Target, raw: Any, message: str
    ) -> CellProblem:
        """A problem on the cell that feeds ``target``."""
        heading = target.heading
        return CellProblem(
            row=source.number,
            column=heading.letter if heading is not None else None,
            heading=heading.text if heading is not None else target.column.label,
            value=raw,
            message=f"{target.column.label}: {message}",
        )

    def _resolve_lookups(self, rows: list[ImportRow]) -> None:
        for target in self.targets:
            lookup = target.lookup
            if lookup is None:
                continue
            name = target.column.name
            lookup.resolve(row.values.get(name) for row in rows)
            found = lookup.found
            for row in rows:
                natural = row.values.get(name)
                if natural is None:
                    continue
                key = found.get(natural, found)
                if key is not found:
                    row.values[name] = key
                    continue
                try:
                    row.values[name] = lookup.key_of(natural)
                except ValueProblem as problem:
                    raw = row.source.value(target.heading.index) if target.heading else natural
                    row.problems.append(self.cell_problem(row.source, target, raw, problem.message))
                    row.values[name] = None

    # --- keys and classification -----------------------------------------------------------

    def _check_keys(self, rows: list[ImportRow]) -> None:
        """Key values present and not repeated within the file."""
        if not self.key_names:
            return
        names = self.key_names
        first_row = self.seen.first_row
        for row in rows:
            if row.problems:
                continue
            values = row.values
            key = tuple([values.get(n) for n in names])
            if None in key:
                row.problems.append(
                    self.row_problem(row, "a key column is blank: " + self._key_labels())
                )
                continue
            first = first_row(_match_key(key), row.source.number)
            if first is not None:
                row.problems.append(
                    self.row_problem(
                        row, f"same {self._key_labels()} as row {first} ({key_text(key)})"
                    )
                )
                continue
            row.key = key

    def _classify(self, rows: list[ImportRow]) -> None:
        """insert, update or unchanged, against the rows the database holds now (locked)."""
        keyed = [r for r in rows if r.key is not None and not r.problems]
        existing = self._existing([r.key for r in keyed if r.key is not None]) if keyed else {}
        required = self.required
        for row in rows:
            if row.problems:
                continue
            before = existing.get(_match_key(row.key)) if row.key is not None and existing else None
            if before is None:
                row.action = "insert"
                values = row.values
                missing = [n for n in required if values.get(n) is None]
                if missing:
                    labels = ", ".join(self.labels[n] for n in missing)
                    row.problems.append(self.row_problem(row, f"a value is required: {labels}"))
                continue
            row.before = before
            changed = {
                n for n in self.update_names if not same_value(before.get(n), row.values.get(n))
            }
            blanked = [n for n in changed if n in required and row.values.get(n) is None]
            if not changed:
                row.action = "unchanged"
            elif self.insert_only:
                row.problems.append(
                    self.row_problem(
                        row,
                        f"{key_text(row.key)} exists already with other values, and this "
                        "profile only inserts new rows",
                    )
                )
            elif blanked:
                labels = ", ".join(self.labels[n] for n in blanked)
                row.problems.append(self.row_problem(row, f"a value is required: {labels}"))
            else:
                row.action = "update"

    def _existing(self, keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The current rows for these keys, by key, locked for this transaction."""
        if self._existing_stmt is None:
            columns = [self.t.c[c.db_name] for c in self.table.columns.values()]
            key_columns = [self.t.c[self.table.columns[n].db_name] for n in self.key_names]
            # One statement for the run; the batch's keys (at most BATCH_ROWS, within Oracle's
            # 1000 items in IN) are expanded into it at each execution.
            wanted: sa.BindParameter[Any] = sa.bindparam("keys", expanding=True)
            if len(key_columns) == 1:
                condition = key_columns[0].in_(wanted)
            else:
                condition = sa.tuple_(*key_columns).in_(wanted)
            stmt = sa.select(*columns).where(condition)
            if self.conn.dialect.name != "sqlite":
                stmt = stmt.with_for_update()
            self._existing_stmt = stmt
        wanted_keys = [k[0] for k in keys] if len(self.key_names) == 1 else list(keys)
        names = list(self.table.columns)
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        for record in self.conn.execute(self._existing_stmt, {"keys": wanted_keys}):
            values = dict(zip(names, record, strict=True))
            found[_match_key(tuple(values[n] for n in self.key_names))] = values
        return found

    def _check_scope(self, rows: list[ImportRow]) -> None:
        """Rows outside the actor's row filter (before or after the change) are errors."""
        access = self.access
        connection = self.scope_connection
        for row in rows:
            if row.problems or row.action not in ("insert", "update"):
                continue
            if row.action == "update":
                assert row.before is not None
                after = {**row.before, **row.values}
                inside = access.row_matches(row.before, action="import", connection=connection)
                inside = inside and access.row_matches(
                    after, action="import", connection=connection
                )
            else:
                after = {n: row.values.get(n) for n in self.table.columns}
                inside = access.row_matches(after, action="import", connection=connection)
            if not inside:
                row.problems.append(
                    self.row_problem(row, "this row is outside the rows you may change")
                )

    # --- messages --------------------------------------------------------------------------

    def row_problem(self, row: ImportRow, message: str) -> CellProblem:
        """A problem with a whole row."""
        return CellProblem(
            row=row.source.number, column=None, heading=None, value=None, message=message
        )

    def _key_labels(self) -> str:
        return ", ".join(self.labels[n] for n in self.key_names)


def same_value(stored: Any, new: Any) -> bool:
    """Whether a value read from the file equals the stored one (1.50 == 1.5, 3 == 3.0)."""
    if stored is None or new is None:
        return stored is None and new is None
    if isinstance(stored, (int, float, Decimal)) and isinstance(new, (int, float, Decimal)):
        if isinstance(stored, bool) or isinstance(new, bool):
            return stored is new
        return _decimal(stored) == _decimal(new)
    if type(stored) is dt.datetime and type(new) is dt.date:
        return stored == dt.datetime(new.year, new.month, new.day)
    if type(stored) is dt.date and type(new) is dt.datetime:
        return dt.datetime(stored.year, stored.month, stored.day) == new
    return bool(stored == new)


def _decimal(value: int | float | Decimal) -> Decimal:
    return (
        value
        if isinstance(value, Decimal)
        else Decimal(repr(value) if isinstance(value, float) else value)
    )


def _has_default(column: sa.Column[Any]) -> bool:
    return (
        column.server_default is not None
        or column.default is not None
        or bool(column.autoincrement is True)
    )


def _match_key(key: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """A key as compared between the file and the database (types normalized)."""
    if key is not None and len(key) == 1 and type(key[0]) in _PLAIN:
        return key  # jsonable keeps ints and text as they are
    return tuple(jsonable(part) for part in key or ())


_PLAIN = frozenset({int, str})


def key_text(key: Sequence[Any] | None) -> str:
    """A key as shown in messages."""
    return ", ".join("" if part is None else str(jsonable(part)) for part in key or ())
