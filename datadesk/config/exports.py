"""The ``exports`` section of ``datadesk.yaml``: limits of grid exports and formula columns."""

from __future__ import annotations

from pydantic import Field, field_validator

from datadesk.config.base import StrictModel

XLSX_ROW_LIMIT = 1_048_575  # rows of one Excel sheet under its header row


class ExportsConfig(StrictModel):
    """Grid exports to .xlsx and .csv (the Export link of every grid, ``datadesk export``)."""

    max_rows: int = Field(default=200_000, ge=1, le=XLSX_ROW_LIMIT)
    """Most rows one export may hold; a larger one is refused with a message, never cut short."""
    concurrent: int = Field(default=2, ge=1, le=32)
    """Exports written at once per worker process; more wait their turn."""
    fetch_rows: int = Field(default=2_000, ge=10, le=100_000)
    """Rows fetched from the database at a time while an export is written."""
    temp_dir: str | None = None
    """Folder for export files while they are written and sent; not set: the system's."""
    allow_formulas: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Columns by table whose text starting with = is written as a live formula (guard off)."""

    @field_validator("allow_formulas")
    @classmethod
    def _lower_names(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {table.lower(): tuple(c.lower() for c in cols) for table, cols in value.items()}

    def formulas_allowed(self, table: str, column: str) -> bool:
        """Whether the config turns the formula-injection guard off for this column."""
        return column.lower() in self.allow_formulas.get(table.lower(), ())
