"""CSV writing with the same columns and formula-injection guard as the .xlsx writer.

Values are written as plain text a spreadsheet or an import reads back: ISO dates, numbers
without thousands separators, ``true``/``false``; formula-like text gets a leading apostrophe
unless the column's guard is off.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, TextIO

from datadesk.exports.columns import FORMULA_STARTS, ExportColumn, defuse

Render = Callable[[Any], str]


class CsvWriter:
    """Writes an optional preamble, a header and rows of ``ExportColumn``s to a text stream.

    Open the stream with ``newline=""``; for Excel, an ``utf-8-sig`` encoding (a byte-order
    mark) makes it read UTF-8 correctly.
    """

    def __init__(
        self,
        stream: TextIO,
        columns: Sequence[ExportColumn],
        *,
        preamble: Sequence[str] = (),
        delimiter: str = ",",
    ) -> None:
        if not columns:
            raise ValueError("no columns to write")
        self.columns = list(columns)
        self._writer = csv.writer(stream, delimiter=delimiter, lineterminator="\r\n")
        self._renders = [_render(column) for column in self.columns]
        self.rows_written = 0
        for line in preamble:
            self._writer.writerow([defuse(line)])
        if preamble:
            self._writer.writerow([])
        self._writer.writerow([defuse(column.label) for column in self.columns])

    def write_row(self, values: Sequence[Any]) -> None:
        """Write one row; ``values`` are in column order, None is an empty field."""
        renders = zip(self._renders, values, strict=True)
        self._writer.writerow(["" if value is None else render(value) for render, value in renders])
        self.rows_written += 1

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> int:
        """Write rows in order; returns how many were written."""
        before = self.rows_written
        for values in rows:
            self.write_row(values)
        return self.rows_written - before


def render_value(value: Any) -> str:
    """A value as CSV text, without the guard: ISO dates, plain numbers, true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    return str(value)


def _render(column: ExportColumn) -> Render:
    if column.kind not in {"text", "code"}:
        # Typed values pass unguarded (a negative number stays a number); anything else that
        # turns up in a typed column is text and guarded like text.
        def render_typed(value: Any) -> str:
            if isinstance(value, str):
                return defuse(value) if column.guard else value
            return render_value(value)

        return render_typed
    if not column.guard:
        return render_value

    def render_text(value: Any) -> str:
        text = value if isinstance(value, str) else render_value(value)
        return "'" + text if text.startswith(FORMULA_STARTS) else text

    return render_text
