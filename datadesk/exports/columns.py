"""How one exported column is written: its heading, cell kind, number format, width and guard.

An ``ExportColumn`` is built from the catalog's ``ColumnInfo`` (grid exports) or given
explicitly (reports); both writers (``XlsxWorkbook`` and ``CsvWriter``) take a list of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from datadesk.models.catalog import ColumnInfo

CellKind = Literal[
    "text",  # written as text, never as a formula (see ``guard``)
    "code",  # text that looks like a number ("007"): kept as text, cells formatted as text
    "integer",
    "decimal",  # exact numbers; the format shows the column's scale
    "money",  # two decimals with thousands separators
    "float",
    "date",
    "datetime",  # a value at midnight is shown as a date, like the grid does
    "time",
    "duration",  # intervals, as [h]:mm:ss
    "boolean",
]

CELL_KINDS: tuple[CellKind, ...] = (
    "text",
    "code",
    "integer",
    "decimal",
    "money",
    "float",
    "date",
    "datetime",
    "time",
    "duration",
    "boolean",
)
NUMERIC_KINDS = frozenset({"integer", "decimal", "money", "float"})

# Text starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

DEFAULT_FORMATS: dict[str, str] = {
    "code": "@",
    "integer": "0",
    "money": "#,##0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "time": "hh:mm:ss",
    "duration": "[h]:mm:ss",
}
DEFAULT_WIDTHS: dict[str, float] = {
    "integer": 10,
    "decimal": 12,
    "money": 14,
    "float": 12,
    "date": 11,
    "datetime": 19,
    "time": 9,
    "duration": 10,
    "boolean": 7,
}
MIN_WIDTH = 6.0
MAX_WIDTH = 60.0

_KIND_OF: dict[str, CellKind] = {
    "text": "text",
    "long_text": "text",
    "integer": "integer",
    "decimal": "decimal",
    "number": "decimal",
    "float": "float",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "boolean": "boolean",
    "interval": "duration",
}


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: its heading and how its cells are typed and shown."""

    name: str  # key of the value in a row (attribute name for grid exports)
    label: str  # heading in the header row
    kind: CellKind = "text"
    number_format: str | None = None  # Excel number format; None means the kind's default
    width: float | None = None  # width in characters; None: from the heading and first rows
    guard: bool = True  # formula-injection guard; off only where the config allows formulas

    def __post_init__(self) -> None:
        if self.kind not in CELL_KINDS:
            raise ValueError(f"{self.name}: unknown cell kind '{self.kind}'")

    @classmethod
    def from_column_info(
        cls, info: ColumnInfo, *, label: str | None = None, guard: bool = True
    ) -> ExportColumn:
        """The export column for a reflected column: kind and format from its type."""
        kind = _KIND_OF.get(info.kind, "text")
        number_format = None
        if kind == "decimal" and info.kind == "decimal" and info.scale:
            if info.scale == 2:
                kind = "money"
            else:
                number_format = "#,##0." + "0" * min(info.scale, 15)
        return cls(
            name=info.name,
            label=label or info.label,
            kind=kind,
            number_format=number_format,
            guard=guard,
        )

    @property
    def excel_format(self) -> str | None:
        """The number format cells of this column get (None: Excel's General)."""
        return self.number_format or DEFAULT_FORMATS.get(self.kind)

    @property
    def is_numeric(self) -> bool:
        """Whether cells hold numbers (totals may sum them)."""
        return self.kind in NUMERIC_KINDS


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would run this text as a formula (or a DDE command)."""
    return text.startswith(FORMULA_STARTS)


def defuse(text: str) -> str:
    """Text made inert for CSV: a leading apostrophe before formula-like text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
