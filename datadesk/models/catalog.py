"""What reflection hands to the rest of the app: tables, columns and keys, described as data.

The catalog is built by ``datadesk.models.reflection.reflect_catalog`` from the live schema plus
``datadesk.yaml``; nothing above ``models/`` ever looks at SQLAlchemy's inspector directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

ColumnKind = Literal[
    "text",  # VARCHAR2/NVARCHAR2/CHAR/VARCHAR
    "long_text",  # CLOB/NCLOB/TEXT: not sortable on Oracle, textarea in forms
    "integer",  # NUMBER(p,0), INTEGER
    "decimal",  # NUMBER(p,s>0), NUMERIC: exact, money
    "number",  # unconstrained NUMBER: numeric of unknown kind, kept as Decimal
    "float",  # FLOAT, BINARY_DOUBLE, REAL, DOUBLE
    "date",  # DATE without time (non-Oracle)
    "datetime",  # Oracle DATE (carries a time), TIMESTAMP [WITH TIME ZONE]
    "time",
    "boolean",  # real booleans and legacy flags (CHAR(1) Y/N, NUMBER(1) 0/1)
    "guid",  # RAW(16), UUID
    "binary",  # BLOB, RAW(n), BYTEA: shown as size, not editable in forms
    "interval",  # INTERVAL DAY TO SECOND
    "unsupported",  # ROWID and anything unknown: shown read-only, never a crash
]


@dataclass(frozen=True)
class ForeignKeyInfo:
    """A single-column many-to-one reference from a column to a target table's column."""

    target_table: str  # catalog name of the referenced table
    target_column: str  # attribute name of the referenced column
    relationship: str  # attribute name of the many-to-one relationship on the model


@dataclass(frozen=True)
class ColumnInfo:
    """One reflected column with its presentation and editing rules."""

    name: str  # attribute name on the model (lower-case)
    db_name: str  # name as the database reports it
    kind: ColumnKind
    label: str
    help: str | None = None
    nullable: bool = True
    length: int | None = None  # max characters for text, precision for numbers
    scale: int | None = None
    is_primary_key: bool = False
    is_generated: bool = False  # identity, sequence-fed or server-computed key
    is_read_only: bool = False  # unsupported types, computed columns, configured read-only
    is_hidden: bool = False  # configured hidden: never shown nor written
    flag_style: Literal["yn", "01"] | None = None  # legacy boolean storage, if any
    foreign_key: ForeignKeyInfo | None = None
    type_name: str = ""  # the database type as text, for messages and docs
    choices: tuple[Any, ...] | None = None  # allowed values from a CHECK ... IN (...) or an ENUM

    @property
    def is_sortable(self) -> bool:
        """LOBs and unknown types cannot be ordered on Oracle."""
        return self.kind not in {"long_text", "binary", "unsupported"}

    @property
    def is_searchable(self) -> bool:
        """Text columns are searched; numbers/dates are matched by the filters instead."""
        return self.kind == "text"


@dataclass
class TableInfo:
    """One reflected table or view, mapped to an ORM class."""

    name: str  # catalog name: lower-case, unique, used in URLs and config
    db_name: str
    table: sa.Table
    model: type[Any]
    label: str
    label_plural: str
    help: str | None
    columns: dict[str, ColumnInfo]
    primary_key: tuple[str, ...]  # attribute names; configured key for views/key-less tables
    is_view: bool = False
    has_real_key: bool = True  # False when the key was configured or invented
    is_read_only: bool = False  # views and key-less tables without a configured key
    sequence: str | None = None  # Oracle sequence feeding the key, when configured
    row_label: str | None = None  # format string over columns, e.g. "{last_name}, {first_name}"

    @property
    def foreign_keys(self) -> list[ColumnInfo]:
        """Columns that reference another table."""
        return [c for c in self.columns.values() if c.foreign_key is not None]


@dataclass
class Catalog:
    """Every served table, by catalog name, plus the metadata they live in."""

    metadata: sa.MetaData
    tables: dict[str, TableInfo] = field(default_factory=dict)
    schema_name: str | None = None
    dialect_name: str = ""  # the database the catalog was reflected from: "oracle", "sqlite", ...

    def get(self, name: str) -> TableInfo | None:
        """Look up a table by catalog name, case-insensitively."""
        return self.tables.get(name.lower())
