"""The list state of a grid (search, filters, sort, page) and the SELECTs that serve it.

Framework-free: the web grid, exports and the CLI build the same statements from the same
``GridState``, so an export holds exactly the rows the grid shows.  Statements use only
portable constructs (``lower() LIKE``, ``LIMIT/OFFSET`` via SQLAlchemy) so they compile on
Oracle without per-row casts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from datadesk.errors import InvalidInput
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo
from datadesk.models.row_keys import key_condition

FILTER_PREFIX = "f."
LIST_SKIP_KINDS = frozenset({"long_text", "binary"})
DEFAULT_LIST_COLUMNS = 8
RANGE_SUFFIXES = (".from", ".to")
MAX_SEARCH_LENGTH = 200


@dataclass(frozen=True)
class FilterValue:
    """One active filter: a column, an operator ('eq', 'contains', 'from', 'to') and a value."""

    column: str
    op: str
    raw: str
    value: Any


@dataclass(frozen=True)
class GridState:
    """Everything that decides which rows a grid shows, parsed and validated."""

    search: str = ""
    filters: tuple[FilterValue, ...] = ()
    sort: tuple[tuple[str, bool], ...] = ()  # (column, is_descending)
    page: int = 1
    page_size: int = 50
    extra: Mapping[str, str] = field(default_factory=dict)

    def query_items(self, **changes: Any) -> list[tuple[str, str]]:
        """The state as query-string pairs, with some parts replaced (for links)."""
        search = changes.get("search", self.search)
        sort = changes.get("sort", self.sort)
        page = changes.get("page", self.page)
        page_size = changes.get("page_size", self.page_size)
        items: list[tuple[str, str]] = []
        if search:
            items.append(("search", search))
        for flt in changes.get("filters", self.filters):
            suffix = "" if flt.op in {"eq", "contains"} else f".{flt.op}"
            items.append((f"{FILTER_PREFIX}{flt.column}{suffix}", flt.raw))
        if sort:
            items.append(("sort", ",".join(("-" if desc else "") + col for col, desc in sort)))
        if page and page != 1:
            items.append(("page", str(page)))
        if page_size:
            items.append(("page_size", str(page_size)))
        return items


def default_list_columns(table: TableInfo) -> list[str]:
    """The grid's columns when ``list_columns`` is not set: the first eight that are shown,
    not long text and not binary."""
    shown = [c.name for c in table.columns.values() if not c.is_hidden]
    return [n for n in shown if table.columns[n].kind not in LIST_SKIP_KINDS][:DEFAULT_LIST_COLUMNS]


def filter_kind(column: ColumnInfo) -> str:
    """How a column is filtered: 'choice' (flags, references), 'range' (dates, numbers), 'text'."""
    if column.kind == "boolean" or column.foreign_key is not None or column.choices:
        return "choice"
    if column.kind in {"date", "datetime", "integer", "decimal", "number", "float"}:
        return "range"
    return "text"


def coerce_value(column: ColumnInfo, raw: str) -> Any:
    """Turn a query-string value into the column's Python type, or raise InvalidInput."""
    text = raw.strip()
    try:
        if column.kind == "boolean":
            lowered = text.lower()
            if lowered in {"1", "true", "yes", "y"}:
                return True
            if lowered in {"0", "false", "no", "n"}:
                return False
            raise ValueError(text)
        if column.kind == "integer":
            return int(text)
        if column.kind in {"decimal", "number"}:
            return Decimal(text)
        if column.kind == "float":
            return float(text)
        if column.kind == "date":
            return dt.date.fromisoformat(text)
        if column.kind == "datetime":
            return dt.datetime.fromisoformat(text)
    except (ValueError, InvalidOperation) as exc:
        raise InvalidInput(
            f"{column.label}: '{raw[:40]}' is not a valid {column.kind} value"
        ) from exc
    return text


class GridQuery:
    """Builds the list, count and single-row SELECTs of one table for a set of visible columns."""

    def __init__(
        self,
        table: TableInfo,
        catalog: Catalog,
        columns: Sequence[str],
        *,
        search_columns: Sequence[str] = (),
        filter_columns: Sequence[str] = (),
        default_sort: Sequence[str] = (),
        hidden: frozenset[str] = frozenset(),
        scope: sa.ColumnElement[bool] | None = None,
    ) -> None:
        self.table = table
        self.catalog = catalog
        self.hidden = hidden
        self.scope = scope  # the rows the acting user may see: ANDed into every statement
        self.columns = [table.columns[name] for name in columns if name not in hidden]
        self.search_columns = [table.columns[n] for n in search_columns if n not in hidden]
        self.filter_columns = {n: table.columns[n] for n in filter_columns if n not in hidden}
        self.default_sort = tuple(
            item for item in map(_parse_sort_item, default_sort) if item[0] not in hidden
        )
        self._label_joins = self._plan_label_joins()
        self._unfiltered: sa.Select[Any] | None = None  # built once; statements are immutable

    # -- parsing ------------------------------------------------------------------------------

    def parse_state(
        self,
        params: Mapping[str, str] | Sequence[tuple[str, str]],
        *,
        page_size: int,
        page_size_options: Sequence[int],
    ) -> GridState:
        """Validate query parameters; unknown columns or bad values raise InvalidInput."""
        items = list(params.items()) if isinstance(params, Mapping) else list(params)
        search = ""
        filters: list[FilterValue] = []
        sort: tuple[tuple[str, bool], ...] = ()
        page = 1
        size = page_size
        for key, raw in items:
            if key == "search":
                search = raw.strip()
                if len(search) > MAX_SEARCH_LENGTH:
                    raise InvalidInput(
                        f"the search text is longer than {MAX_SEARCH_LENGTH} characters"
                    )
            elif key == "sort":
                sort = self._parse_sort(raw)
            elif key == "page":
                page = _parse_positive(raw, "page")
            elif key == "page_size":
                size = _parse_positive(raw, "page size")
                if size not in page_size_options and size != page_size:
                    raise InvalidInput(
                        f"page size must be one of {', '.join(map(str, page_size_options))}"
                    )
            elif key.startswith(FILTER_PREFIX):
                flt = self._parse_filter(key[len(FILTER_PREFIX) :], raw)
                if flt is not None:
                    filters.append(flt)
        return GridState(
            search=search, filters=tuple(filters), sort=sort, page=page, page_size=size
        )

    def _parse_sort(self, raw: str) -> tuple[tuple[str, bool], ...]:
        result = []
        for item in raw.split(","):
            if not item.strip():
                continue
            name, desc = _parse_sort_item(item)
            column = self.table.columns.get(name)
            if column is None or column.is_hidden or name in self.hidden or not column.is_sortable:
                raise InvalidInput(f"cannot sort by '{name[:40]}'")
            result.append((name, desc))
        return tuple(result)

    def _parse_filter(self, key: str, raw: str) -> FilterValue | None:
        if not raw.strip():
            return None
        op = "eq"
        name = key
        for suffix in RANGE_SUFFIXES:
            if key.endswith(suffix):
                name, op = key[: -len(suffix)], suffix[1:]
        column = self.filter_columns.get(name)
        if column is None:
            raise InvalidInput(f"cannot filter by '{name[:40]}'")
        kind = filter_kind(column)
        if op != "eq" and kind != "range":
            raise InvalidInput(f"{column.label} has no range filter")
        if kind == "text":
            return FilterValue(name, "contains", raw, raw.strip())
        if column.foreign_key is not None:
            target = self.catalog.tables[column.foreign_key.target_table]
            target_column = target.columns[column.foreign_key.target_column]
            return FilterValue(name, "eq", raw, coerce_value(target_column, raw))
        return FilterValue(name, op, raw, coerce_value(column, raw))

    # -- statements ---------------------------------------------------------------------------

    def where_clauses(self, state: GridState) -> list[sa.ColumnElement[bool]]:
        """The WHERE terms for the search and filters of a state."""
        t = self.table.table
        clauses: list[sa.ColumnElement[bool]] = [] if self.scope is None else [self.scope]
        for flt in state.filters:
            col = t.c[self.table.columns[flt.column].db_name]
            if flt.op == "contains":
                clauses.append(sa.func.lower(col).like(like_pattern(flt.value), escape="\\"))
            elif flt.op == "from":
                clauses.append(col >= flt.value)
            elif flt.op == "to":
                upper = flt.value
                if isinstance(upper, dt.datetime) and len(flt.raw.strip()) <= 10:
                    # A bare date includes that whole day, also when the column carries a time.
                    clauses.append(col < upper + dt.timedelta(days=1))
                else:
                    clauses.append(col <= upper)
            else:
                clauses.append(col == flt.value)
        if state.search and self.search_columns:
            pattern = like_pattern(state.search)
            terms = [
                sa.func.lower(t.c[c.db_name]).like(pattern, escape="\\")
                for c in self.search_columns
            ]
            clauses.append(sa.or_(*terms))
        return clauses

    def order_by(self, state: GridState) -> list[sa.ColumnElement[Any]]:
        """ORDER BY terms: the chosen sort, else the default, then the key as a tie-breaker."""
        t = self.table.table
        sort = state.sort or self.default_sort
        terms: list[sa.ColumnElement[Any]] = []
        used = set()
        for name, desc in sort:
            col = t.c[self.table.columns[name].db_name]
            terms.append(col.desc() if desc else col.asc())
            used.add(name)
        for name in self.table.primary_key:
            if name not in used and self.table.columns[name].is_sortable:
                terms.append(t.c[self.table.columns[name].db_name].asc())
        return terms

    def rows_statement(self, state: GridState) -> sa.Select[Any]:
        """The page of rows: visible columns, key columns and the labels of referenced rows."""
        stmt = self.base_select(state).order_by(*self.order_by(state))
        return stmt.limit(state.page_size).offset((state.page - 1) * state.page_size)

    def base_select(self, state: GridState | None = None) -> sa.Select[Any]:
        """Unpaged, unordered SELECT of the grid's columns with label joins and WHERE terms."""
        if self._unfiltered is None:
            self._unfiltered = self._build_select()
        stmt = self._unfiltered
        if state is not None:
            clauses = self.where_clauses(state)
            if clauses:
                stmt = stmt.where(*clauses)
        return stmt

    def _build_select(self) -> sa.Select[Any]:
        t = self.table.table
        wanted = list(dict.fromkeys([*self.table.primary_key, *(c.name for c in self.columns)]))
        selected: list[Any] = [t.c[self.table.columns[n].db_name].label(n) for n in wanted]
        from_clause: Any = t
        for join in self._label_joins:
            alias = join.alias
            from_clause = from_clause.outerjoin(
                alias, t.c[join.column.db_name] == alias.c[join.target_key_db_name]
            )
            selected.extend(
                alias.c[db_name].label(f"{join.column.name}__{attr}")
                for attr, db_name in join.label_columns
            )
        return sa.select(*selected).select_from(from_clause)

    def count_statement(self, state: GridState, cap: int) -> sa.Select[Any]:
        """COUNT over at most cap+1 matching rows, so a huge table never forces a full count."""
        return capped_count(self.table.table, self.where_clauses(state), cap)

    def key_condition(self, key_values: Sequence[Any]) -> sa.ColumnElement[bool]:
        """WHERE term selecting one row by its key values (in primary-key order)."""
        return key_condition(self.table, key_values)

    def row_labels(
        self, row: Any, memo: dict[tuple[str, Any], str] | None = None
    ) -> dict[str, str]:
        """Readable labels of the rows referenced by one result row, by FK column name.

        ``memo`` shares labels across the rows of one page (many rows name the same target).
        """
        labels: dict[str, str] = {}
        for join in self._label_joins:
            name = join.column.name
            value = row[name]
            if value is None:
                continue
            if memo is not None and (name, value) in memo:
                labels[name] = memo[(name, value)]
                continue
            values = {attr: row[f"{name}__{attr}"] for attr, _ in join.label_columns}
            labels[name] = format_row_label(join.target, values)
            if memo is not None:
                memo[(name, value)] = labels[name]
        return labels

    def _plan_label_joins(self) -> list[_LabelJoin]:
        joins: list[_LabelJoin] = []
        for column in self.columns:
            fk = column.foreign_key
            if fk is None:
                continue
            target = self.catalog.tables.get(fk.target_table)
            if target is None:
                continue
            attrs = label_attributes(target)
            joins.append(
                _LabelJoin(
                    column=column,
                    target=target,
                    alias=target.table.alias(f"lbl_{len(joins)}"),
                    target_key_db_name=target.columns[fk.target_column].db_name,
                    label_columns=tuple((a, target.columns[a].db_name) for a in attrs),
                )
            )
        return joins


@dataclass(frozen=True)
class _LabelJoin:
    column: ColumnInfo
    target: TableInfo
    alias: Any
    target_key_db_name: str
    label_columns: tuple[tuple[str, str], ...]


def capped_count(
    table: sa.Table, where: Sequence[sa.ColumnElement[bool]], cap: int
) -> sa.Select[Any]:
    """COUNT of the rows matching ``where``, counting at most cap+1 of them: one more than
    ``cap`` says "more", without a full count of a huge table."""
    inner = sa.select(sa.literal(1).label("one")).select_from(table)
    if where:
        inner = inner.where(*where)
    return sa.select(sa.func.count()).select_from(inner.limit(cap + 1).subquery("capped"))


def label_attributes(table: TableInfo) -> list[str]:
    """Columns a row label needs: those named in ``row_label``, else the first text column."""
    if table.row_label:
        import string

        names = [
            name
            for _, name, _, _ in string.Formatter().parse(table.row_label)
            if name and name in table.columns
        ]
        if names:
            return list(dict.fromkeys(names))
    for column in table.columns.values():
        if column.kind == "text" and not column.is_primary_key and not column.is_hidden:
            return [column.name]
    return list(table.primary_key)


def format_row_label(table: TableInfo, values: Any) -> str:
    """Render a row's label from the values of ``label_attributes(table)``."""
    if table.row_label:
        try:
            return table.row_label.format_map(
                {k: ("" if v is None else v) for k, v in values.items()}
            ).strip()
        except (KeyError, ValueError, IndexError):
            pass
    return " ".join("" if v is None else str(v) for v in values.values()).strip()


def like_pattern(term: str) -> str:
    """A case-insensitive LIKE pattern matching ``term`` anywhere, wildcards escaped with '\\'."""
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _parse_sort_item(item: str) -> tuple[str, bool]:
    item = item.strip()
    return (item[1:].strip().lower(), True) if item.startswith("-") else (item.lower(), False)


def _parse_positive(raw: str, what: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{what} must be a whole number") from None
    if value < 1 or value > 1_000_000_000:
        raise InvalidInput(f"{what} must be between 1 and 1000000000")
    return value
