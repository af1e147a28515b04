"""Grid exports: the rows a grid shows for a list state, as the acting user may see them.

The web page and ``datadesk export`` both call ``GridExporter``: ``plan`` checks the ``export``
action and validates the list state with the grid's own parser, ``write`` counts (capped), then
streams the rows (``yield_per``) into a streaming writer. A file is only ever complete: on any
error it is removed, so nothing partial is handed out.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.config.schema import Config
from datadesk.errors import InvalidInput, TooManyRows
from datadesk.exports.columns import ExportColumn
from datadesk.exports.csv_writer import CsvWriter
from datadesk.exports.xlsx import XlsxWorkbook
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo
from datadesk.models.grid_layout import GridLayout
from datadesk.models.grid_query import GridQuery, GridState
from datadesk.observability import metrics

FileFormat = Literal["xlsx", "csv"]
FORMATS: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
LABEL_SUFFIX = "__label"  # the export column holding a reference's label
STATE_KEYS = ("search", "sort", "page", "page_size")  # besides the f.* filters
logger = logging.getLogger("datadesk.exports")


@dataclass(frozen=True)
class ExportPlan:
    """A validated export: who, which table, which list state, which columns, which format."""

    actor: Actor
    table: TableInfo
    grid: GridQuery
    state: GridState
    columns: tuple[ExportColumn, ...]
    file_format: FileFormat

    @property
    def file_name(self) -> str:
        """Download name: the table's catalog name and the format's extension."""
        return f"{self.table.name}.{self.file_format}"

    @property
    def media_type(self) -> str:
        """The Content-Type of the file."""
        return FORMATS[self.file_format]


@dataclass(frozen=True)
class ExportResult:
    """A complete export file and what it took."""

    path: Path
    rows: int
    seconds: float


class GridExporter:
    """Plans and writes grid exports for any actor (web or CLI)."""

    def __init__(self, engine: sa.Engine, catalog: Catalog, policy: RolePolicy, config: Config):
        self.engine = engine
        self.catalog = catalog
        self.policy = policy
        self.config = config
        self.settings = config.exports

    def plan(
        self,
        actor: Actor,
        table_name: str,
        params: Sequence[tuple[str, str]],
        file_format: str,
        *,
        all_columns: bool = False,
    ) -> ExportPlan:
        """Check access and validate the list state; AccessDenied, NotFound or InvalidInput."""
        if file_format not in FORMATS:
            raise InvalidInput(f"export format must be xlsx or csv, not '{file_format[:20]}'")
        access = self.policy.access(actor, table_name)
        access.require("export")
        table = self.catalog.tables[access.table_name]
        layout = GridLayout.of(table, self.config.table(table.name))
        grid = layout.query(
            table,
            self.catalog,
            columns=layout.detail if all_columns else None,
            hidden=access.hidden,
            scope=access.where_for("export"),
        )
        app = self.config.app
        state_params = [(k, v) for k, v in params if k in STATE_KEYS or k.startswith("f.")]
        state = grid.parse_state(
            state_params,
            page_size=self.config.table(table.name).page_size or app.page_size,
            page_size_options=app.page_size_options,
        )
        return ExportPlan(
            actor=actor,
            table=table,
            grid=grid,
            state=state,
            columns=tuple(self._columns(table, grid)),
            file_format=cast(FileFormat, file_format),
        )

    def temp_path(self, plan: ExportPlan) -> Path:
        """A new, empty temporary file for an export (in ``exports.temp_dir``)."""
        handle, name = tempfile.mkstemp(
            prefix="datadesk-export-", suffix=f".{plan.file_format}", dir=self.settings.temp_dir
        )
        os.close(handle)
        return Path(name)

    def write(self, plan: ExportPlan, path: Path) -> ExportResult:
        """Write the whole export to ``path``; on any error the file is removed and the error
        raised (TooManyRows when the rows exceed ``exports.max_rows``)."""
        started = time.perf_counter()
        try:
            with metrics.export_observed(plan.file_format):
                rows = self._write(plan, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        seconds = time.perf_counter() - started
        logger.info(
            "export user=%s table=%s format=%s rows=%d seconds=%.2f",
            plan.actor.username,
            plan.table.name,
            plan.file_format,
            rows,
            seconds,
        )
        return ExportResult(path, rows, seconds)

    # -- internals ----------------------------------------------------------------------------

    def _columns(self, table: TableInfo, grid: GridQuery) -> Iterator[ExportColumn]:
        """One column per grid column; a reference also gets the referenced row's label, as
        the grid shows it, before its key."""
        for column in grid.columns:
            guard = not self.settings.formulas_allowed(table.name, column.name)
            if self._has_label(column):
                yield ExportColumn(column.name + LABEL_SUFFIX, column.label, "text", guard=guard)
                key = ExportColumn.from_column_info(column, guard=guard)
                yield ExportColumn(
                    key.name, f"{column.label} (key)", key.kind, key.number_format, None, guard
                )
            else:
                yield ExportColumn.from_column_info(column, guard=guard)

    def _has_label(self, column: ColumnInfo) -> bool:
        fk = column.foreign_key
        return fk is not None and fk.target_table in self.catalog.tables

    def statement(self, plan: ExportPlan) -> sa.Select[Any]:
        """The SELECT of every row of the export: the grid's, in its order, without paging."""
        grid, state = plan.grid, plan.state
        return grid.base_select(state).order_by(*grid.order_by(state))

    def count_statement(self, plan: ExportPlan) -> sa.Select[Any]:
        """COUNT of the export's rows, over at most ``exports.max_rows`` + 1 of them."""
        return plan.grid.count_statement(plan.state, self.settings.max_rows)

    def _write(self, plan: ExportPlan, path: Path) -> int:
        cap = self.settings.max_rows
        with self.engine.connect() as conn:
            found = int(conn.execute(self.count_statement(plan)).scalar_one())
            if found > cap:
                raise _too_many(plan, cap)
            rows = self.rows(plan, conn)
            if plan.file_format == "csv":
                with path.open("w", newline="", encoding="utf-8-sig") as stream:
                    return CsvWriter(stream, plan.columns).write_rows(rows)
            with XlsxWorkbook(
                path,
                title=plan.table.label_plural,
                author=plan.actor.username,
                subject=f"Export of {plan.table.label_plural}",
                temp_dir=self.settings.temp_dir,
            ) as book:
                sheet = book.add_sheet(plan.table.label_plural, plan.columns)
                return sheet.write_rows(rows)

    def rows(self, plan: ExportPlan, conn: sa.Connection) -> Iterator[list[Any]]:
        """The export's rows, fetched ``exports.fetch_rows`` at a time: values in column order,
        references with their labels; TooManyRows as soon as a row beyond the cap arrives
        (rows added since the count)."""
        cap = self.settings.max_rows
        statement = self.statement(plan)
        fetched = conn.execution_options(yield_per=self.settings.fetch_rows).execute(statement)
        rows = fetched.mappings()
        grid = plan.grid
        # (is a label, name): labels come from the referenced row, everything else from the row
        sources = [
            (column.name.endswith(LABEL_SUFFIX), column.name.removesuffix(LABEL_SUFFIX))
            for column in plan.columns
        ]
        memo: dict[tuple[str, Any], str] = {}
        has_labels = any(is_label for is_label, _ in sources)
        no_labels: dict[str, str] = {}
        for count, row in enumerate(rows, start=1):
            if count > cap:
                raise _too_many(plan, cap)
            labels = grid.row_labels(row, memo) if has_labels else no_labels
            yield [labels.get(name) if is_label else row[name] for is_label, name in sources]
            if len(memo) > 100_000:  # labels repeat; a table of distinct ones is not kept
                memo.clear()


def _too_many(plan: ExportPlan, cap: int) -> TooManyRows:
    return TooManyRows(
        f"{plan.table.label_plural}: the export would hold more than {cap:,} rows, the most one "
        "export may hold; narrow it down with the search or filters"
    )
