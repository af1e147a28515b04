"""The child processes of the export benchmark (``bench.export``): each measurement, and the
preparation of the database, runs here in a fresh interpreter, started as
``python -m bench.export_children KIND SPEC_JSON``; it prints its result as one JSON line.

Every writer gets the same cells: the rows of datadesk's export of ``IMMUNIZATIONS`` (the
grid's columns, each reference with its label), fetched with the export's own SELECT.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.import_children import child_main

TABLE = "immunizations"
SHEET = "Immunizations"
DEMO_ROWS = 100_000  # the demo builds at most this many here; more are copies under new keys


def _prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """The demo schema and data with ``rows`` immunizations in an empty database: the demo
    (at most 100,000), then copies of its immunizations under new keys up to ``rows``."""
    import sqlalchemy as sa

    from datadesk.demo.build import build_demo
    from datadesk.models.engine import create_db_engine

    rows = spec["rows"]
    engine = create_db_engine(spec["url"])
    try:
        build_demo(engine, immunizations=min(rows, DEMO_ROWS))
        with engine.begin() as conn:
            top = int(conn.execute(sa.text("SELECT max(IMM_ID) FROM IMMUNIZATIONS")).scalar_one())
            copy = 1
            while copy * DEMO_ROWS < rows:
                conn.execute(
                    sa.text(
                        "INSERT INTO IMMUNIZATIONS (IMM_ID, STAFF_ID, STUDENT_ID, VACCINE_CODE, "
                        "DOSE_NO, ADMIN_DATE, LOT_NUMBER, VERIFIED) SELECT IMM_ID + :shift, "
                        "STAFF_ID, STUDENT_ID, VACCINE_CODE, DOSE_NO, ADMIN_DATE, LOT_NUMBER, "
                        "VERIFIED FROM IMMUNIZATIONS WHERE IMM_ID <= :top AND IMM_ID <= :last"
                    ),
                    {"shift": copy * top, "top": top, "last": rows - copy * DEMO_ROWS},
                )
                copy += 1
            count = int(conn.execute(sa.text("SELECT count(*) FROM IMMUNIZATIONS")).scalar_one())
    finally:
        engine.dispose()
    return {"rows": count}


def _exporter(spec: dict[str, Any]) -> tuple[Any, Any, Any]:
    """datadesk's runtime over the benchmark database, its exporter and the export's plan."""
    import yaml

    from datadesk.auth.actor import SYSTEM
    from datadesk.config.exports import XLSX_ROW_LIMIT
    from datadesk.runtime import open_runtime
    from datadesk.settings import DEMO_CONFIG, Settings

    # The demo's config, with the row cap raised to what one sheet holds (1M rows is above
    # the default cap).
    document = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    document["exports"] = {"max_rows": XLSX_ROW_LIMIT}
    config = Path(spec["var"]) / "datadesk.yaml"
    config.write_text(yaml.safe_dump(document), encoding="utf-8")
    settings = Settings(database_url=spec["url"], config_path=config, var_dir=Path(spec["var"]))
    runtime = open_runtime(settings)
    plan = runtime.exports.plan(SYSTEM, TABLE, [], "xlsx")
    return runtime, runtime.exports, plan


def _datadesk(spec: dict[str, Any]) -> dict[str, Any]:
    """The whole export as the web page and ``datadesk export`` run it: count, fetch, write."""
    runtime, exporter, plan = _exporter(spec)
    started, cpu = time.perf_counter(), time.process_time()
    result = exporter.write(plan, Path(spec["out"]))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    runtime.engine.dispose()
    return {"rows": result.rows, "seconds": seconds, "cpu": cpu, "columns": len(plan.columns)}


def _fetched(spec: dict[str, Any]) -> tuple[Any, list[list[Any]], float]:
    """The plan and every row of the export in a list, and how long fetching took."""
    runtime, exporter, plan = _exporter(spec)
    started = time.perf_counter()
    with runtime.engine.connect() as conn:
        rows = list(exporter.rows(plan, conn))
    fetch = time.perf_counter() - started
    runtime.engine.dispose()
    return plan, rows, fetch


def _measured(write: Callable[[Any, list[list[Any]], str], None]) -> Callable[..., Any]:
    """A child that fetches the rows first, then times ``write(plan, rows, path)`` alone."""

    def child(spec: dict[str, Any]) -> dict[str, Any]:
        plan, rows, fetch = _fetched(spec)
        started, cpu = time.perf_counter(), time.process_time()
        write(plan, rows, spec["out"])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return {"rows": len(rows), "fetch_seconds": fetch, "write_seconds": seconds, "cpu": cpu}

    return child


def _fmt_for(column: Any, value: Any) -> str | None:
    """The number format datadesk gives a value of a column (a midnight datetime: a date)."""
    if column.kind == "datetime" and isinstance(value, dt.datetime) and value.time() == dt.time():
        return "yyyy-mm-dd"
    fmt: str | None = column.excel_format
    return fmt


def _write_datadesk(plan: Any, rows: list[list[Any]], path: str) -> None:
    from datadesk.exports import XlsxWorkbook

    with XlsxWorkbook(path, title=SHEET, author="bench") as book:
        book.add_sheet(SHEET, plan.columns).write_rows(rows)


def _write_xlsxwriter(plan: Any, rows: list[list[Any]], path: str) -> None:
    """XlsxWriter in constant-memory mode: typed writes with the same formats, bold frozen
    header, autofilter, widths."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet(SHEET)
    bold = book.add_format({"bold": True})
    formats: dict[str, Any] = {}

    def fmt(code: str | None) -> Any:
        if code is None:
            return None
        if code not in formats:
            formats[code] = book.add_format({"num_format": code})
        return formats[code]

    columns = plan.columns
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.label, bold)
        sheet.set_column(col, col, 14)
    writers = {
        "integer": sheet.write_number,
        "decimal": sheet.write_number,
        "money": sheet.write_number,
        "float": sheet.write_number,
        "date": sheet.write_datetime,
        "datetime": sheet.write_datetime,
        "boolean": sheet.write_boolean,
    }
    plan_cells = [(writers.get(c.kind, sheet.write_string), c) for c in columns]
    for r, values in enumerate(rows, start=1):
        for col, (write, column) in enumerate(plan_cells):
            value = values[col]
            if value is not None:
                write(r, col, value, fmt(_fmt_for(column, value)))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), len(columns) - 1)
    book.close()


def _write_openpyxl(plan: Any, rows: list[list[Any]], path: str) -> None:
    """openpyxl's write-only mode: formatted cells as WriteOnlyCell, the rest as values."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    columns = plan.columns
    for col in range(len(columns)):
        sheet.column_dimensions[get_column_letter(col + 1)].width = 14
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.label)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for values in rows:
        out: list[Any] = []
        for column, value in zip(columns, values, strict=True):
            code = _fmt_for(column, value) if value is not None else None
            if code is None:
                out.append(value)
            else:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = code
                out.append(cell)
        sheet.append(out)
    book.save(path)


def _write_pandas(plan: Any, rows: list[list[Any]], path: str) -> None:
    """pandas ``DataFrame.to_excel`` with its default engine, dates formatted, header frozen."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=[c.label for c in plan.columns], dtype=object)
    with pd.ExcelWriter(
        path, date_format="yyyy-mm-dd", datetime_format="yyyy-mm-dd hh:mm:ss"
    ) as writer:
        frame.to_excel(writer, sheet_name=SHEET, index=False, freeze_panes=(1, 0))


def _pandas_engine(spec: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from pandas.io.excel._base import get_default_engine  # type: ignore[attr-defined]

    return {"engine": get_default_engine("xlsx", mode="writer"), "version": pd.__version__}


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "prepare": _prepare,
    "datadesk": _datadesk,
    "datadesk_writer": _measured(_write_datadesk),
    "xlsxwriter": _measured(_write_xlsxwriter),
    "openpyxl": _measured(_write_openpyxl),
    "pandas": _measured(_write_pandas),
    "pandas_engine": _pandas_engine,
}

if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1], sys.argv[2], CHILDREN))
