"""Typed schema of ``datadesk.yaml``; every model forbids unknown keys.

Table and column names are matched case-insensitively against the reflected schema
(Oracle reports upper-case names, SQLAlchemy reflects them lower-case).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FlagStyle = Literal["yn", "01", "none"]
Widget = Literal["auto", "select", "lookup", "text", "textarea"]


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(StrictModel):
    """Which part of the database is reflected."""

    schema_name: str | None = Field(default=None, alias="schema")
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    include_views: bool = True
    pool_size: int = Field(default=5, ge=1, le=100)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AppConfig(StrictModel):
    """Application-wide presentation and behaviour."""

    title: str = "datadesk"
    page_size: int = Field(default=50, ge=1, le=500)
    page_size_options: tuple[int, ...] = (25, 50, 100, 200)
    count_cap: int = Field(default=10_000, ge=100)
    count_cache_seconds: float = Field(default=30.0, ge=0)
    select_limit: int = Field(default=200, ge=1, le=5000)
    reflection_cache: bool = True


class ColumnConfig(StrictModel):
    """Per-column presentation and legacy-type overrides."""

    label: str | None = None
    help: str | None = None
    flag: FlagStyle | None = None
    widget: Widget = "auto"
    read_only: bool = False
    hidden: bool = False


class TableConfig(StrictModel):
    """Per-table grid, form and key settings."""

    label: str | None = None
    label_plural: str | None = None
    help: str | None = None
    category: str | None = None
    key: tuple[str, ...] | None = None
    sequence: str | None = None
    read_only: bool = False
    list_columns: tuple[str, ...] | None = None
    detail_columns: tuple[str, ...] | None = None
    form_columns: tuple[str, ...] | None = None
    search: tuple[str, ...] | None = None
    filters: tuple[str, ...] | None = None
    default_sort: tuple[str, ...] = ()
    page_size: int | None = Field(default=None, ge=1, le=500)
    row_label: str | None = None
    columns: dict[str, ColumnConfig] = Field(default_factory=dict)

    @field_validator("default_sort")
    @classmethod
    def _check_sort(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not item.lstrip("-").strip():
                raise ValueError("sort entries are column names, optionally prefixed with '-'")
        return value


class Config(StrictModel):
    """The whole ``datadesk.yaml`` file."""

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    app: AppConfig = Field(default_factory=AppConfig)
    tables: dict[str, TableConfig] = Field(default_factory=dict)

    def table(self, name: str) -> TableConfig:
        """The config of a table (case-insensitive), or defaults when it is not configured."""
        lowered = name.lower()
        for key, value in self.tables.items():
            if key.lower() == lowered:
                return value
        return TableConfig()
