"""Helpers of the report tests: run a report over the shared demo database, read it back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import sqlalchemy as sa
import yaml

from datadesk.app import Runtime
from datadesk.auth.actor import Actor
from datadesk.settings import DEMO_CONFIG

ADMIN = Actor("admin", frozenset({"admin"}))
OFFICIAL = Actor("official", frozenset({"official"}))
MANAGER = Actor("manager", frozenset({"data_manager"}))


@dataclass
class SheetData:
    """One sheet of a report: the preamble lines, header, data rows and the totals row."""

    preamble: list[str]
    header: list[Any]
    rows: list[list[Any]]
    totals: list[Any] | None

    def column(self, label: str) -> list[Any]:
        """The values of one column, by heading."""
        index = self.header.index(label)
        return [row[index] for row in self.rows]


def read_book(path: Path, totals: Mapping[str, bool] | None = None) -> dict[str, SheetData]:
    """Every sheet of a report workbook (cached formula values: what Excel shows)."""
    book = openpyxl.load_workbook(path, data_only=True)
    sheets = {}
    for sheet in book.worksheets:
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        blank = next(i for i, r in enumerate(rows) if all(v is None for v in r))
        preamble = [r[0] for r in rows[:blank]]
        header, data = rows[blank + 1], rows[blank + 2 :]
        has_totals = (totals or {}).get(sheet.title, False)
        sheets[sheet.title] = SheetData(
            preamble, header, data[:-1] if has_totals else data, data[-1] if has_totals else None
        )
    return sheets


def run_report(
    runtime: Runtime, name: str, actor: Actor, raw: Mapping[str, str], path: Path
) -> dict[str, SheetData]:
    """Run a report as the service does for the page and the CLI, and read the workbook."""
    service = runtime.reports
    spec = service.get(name)
    values = service.read_parameters(spec, actor, raw)
    service.write(spec, actor, values, path)
    return read_book(path, {sheet.name: sheet.totals for sheet in spec.sheets})


def demo_config_with(tmp_path: Path, change: Any) -> Path:
    """The demo config changed by ``change(document)``, written to a file of the test."""
    document = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "datadesk.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of SQL written in the test, independently of the report's own statements."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()
