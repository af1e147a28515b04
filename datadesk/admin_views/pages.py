"""Data for the grid page: parsed state, capped count, one page of formatted rows, links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from datadesk.admin_views.cells import format_cell, key_href, key_to_path
from datadesk.admin_views.model_view import DatadeskModelView
from datadesk.models.count_cache import CountCache
from datadesk.models.grid_query import GridQuery, GridState, filter_kind


@dataclass(frozen=True)
class FilterControl:
    """One filter input on the grid page (a select, a pair of range inputs, or a text box)."""

    name: str
    label: str
    kind: str  # choice | range | text
    options: list[tuple[str, str]] | None
    value: str
    value_from: str
    value_to: str


class GridPage:
    """Loads everything the list template shows, in one worker thread."""

    def __init__(
        self,
        view: DatadeskModelView,
        grid: GridQuery,
        counts: CountCache,
        count_cap: int,
        root: str = "/admin",
        count_scope: tuple[Any, ...] = (),
        extra_columns: Sequence[Any] = (),
    ) -> None:
        self.view = view
        self.extra_columns = extra_columns  # more labelled SELECT terms per row (edit mode)
        self._targets = [
            f"{root}/{c.foreign_key.target_table}/details/" if c.foreign_key else None
            for c in grid.columns
        ]
        self.grid = grid
        self.count_scope = count_scope
        self.root = root
        self.counts = counts
        self.count_cap = count_cap

    def load(self, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """Parse the query, count (capped, cached), fetch the page and format its cells."""
        view = self.view
        app = view.services.config.app
        grid = self.grid
        state = grid.parse_state(
            params, page_size=view.page_size_value, page_size_options=app.page_size_options
        )
        count_key = (self.count_scope, tuple(state.query_items(page=1, sort=(), page_size=0)))
        records = view.services.records

        def compute_count() -> int:
            with records.reading() as conn:
                return int(conn.execute(grid.count_statement(state, self.count_cap)).scalar_one())

        count = self.counts.get_or_compute(view.table_info.name, count_key, compute_count)
        is_capped = count > self.count_cap
        last_page = max(1, -(-min(count, self.count_cap) // state.page_size))
        page = state.page if is_capped else min(state.page, last_page)
        if page != state.page:
            return {"state": state, "page": page}
        stmt = grid.rows_statement(state)
        if self.extra_columns:
            stmt = stmt.add_columns(*self.extra_columns)
        with records.reading() as conn:
            rows = conn.execute(stmt).mappings().all()
        columns = grid.columns
        key_names = view.table_info.primary_key
        memo: dict[tuple[str, Any], str] = {}
        table_rows = []
        raw_keys = []
        for row in rows:
            key_values = [row[n] for n in key_names]
            raw_keys.append(key_to_path(key_values))
            table_rows.append((key_href(key_values), self.cells(row, memo)))
        has_next = len(rows) == state.page_size and (is_capped or page < last_page)
        return {
            "state": state,
            "page": page,
            "columns": columns,
            "rows": table_rows,
            "records": rows,
            "raw_keys": raw_keys,
            "root": self.root,
            "count": count,
            "count_text": (f"{self.count_cap:,}+" if is_capped else f"{count:,}"),
            "last_page": None if is_capped else last_page,
            "has_next": has_next,
            "links": self._links(state, page, None if is_capped else last_page),
            "filters": self._filter_controls(state),
            "search_labels": ", ".join(c.label for c in grid.search_columns),
        }

    def cells(self, row: Any, memo: dict[tuple[str, Any], str]) -> list[tuple[str, str | None]]:
        """(display text, link or None) of each grid column of a row: references by label and
        linked to the referenced row; ``memo`` shares labels across the rows of a page."""
        labels = self.grid.row_labels(row, memo)
        cells: list[tuple[str, str | None]] = []
        for column, target in zip(self.grid.columns, self._targets, strict=True):
            value = row[column.name]
            ref = labels.get(column.name) if target is not None else None
            if ref is not None:
                cells.append((ref, f"{target}{key_href([value])}"))
            else:
                cells.append((format_cell(column, value), None))
        return cells

    def _links(self, state: GridState, page: int, last_page: int | None) -> dict[str, Any]:
        def href(**changes: Any) -> str:
            return "?" + urlencode(state.query_items(**changes))

        sort_links = {}
        current = state.sort or self.grid.default_sort
        for column in self.grid.columns:
            if not column.is_sortable:
                continue
            is_desc = current[:1] == ((column.name, False),)
            sort_links[column.name] = href(sort=((column.name, is_desc),), page=1)
        sizes = [
            (n, href(page_size=n, page=1)) for n in self.view.services.config.app.page_size_options
        ]
        return {
            "first": href(page=1) if page > 1 else None,
            "prev": href(page=page - 1) if page > 1 else None,
            "next": href(page=page + 1),
            "last": href(page=last_page) if last_page and page < last_page else None,
            "sort": sort_links,
            "sizes": sizes,
            "current_sort": {name: desc for name, desc in current},
            "export_query": urlencode(state.query_items(page=1)),
            "this_page": urlencode(state.query_items(page=page)),
        }

    def _filter_controls(self, state: GridState) -> list[FilterControl]:
        active = {(f.column, f.op): f.raw for f in state.filters}
        controls = []
        catalog = self.view.services.catalog
        for name, column in self.grid.filter_columns.items():
            kind = filter_kind(column)
            options: list[tuple[str, str]] | None = None
            if column.kind == "boolean":
                options = [("1", "Yes"), ("0", "No")]
            elif column.choices:
                options = [(str(v), str(v)) for v in column.choices]
            elif column.foreign_key is not None:
                target = catalog.tables.get(column.foreign_key.target_table)
                found = (
                    self.view.services.choices.options(target, column.foreign_key.target_column)
                    if target is not None
                    else None
                )
                if found is None:
                    kind = "text_key"
                else:
                    options = [(str(k), label) for k, label in found]
            controls.append(
                FilterControl(
                    name=name,
                    label=column.label,
                    kind=kind,
                    options=options,
                    value=active.get((name, "eq"), active.get((name, "contains"), "")),
                    value_from=active.get((name, "from"), ""),
                    value_to=active.get((name, "to"), ""),
                )
            )
        return controls
