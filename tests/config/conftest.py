"""A hand-built Catalog shaped like a legacy Oracle schema, for scaffold tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import registry

from datadesk.models.catalog import Catalog, ColumnInfo, ForeignKeyInfo, TableInfo

_TYPES: dict[str, Callable[[ColumnInfo], Any]] = {
    "text": lambda c: sa.String(c.length or 100),
    "long_text": lambda c: sa.Text(),
    "integer": lambda c: sa.Integer(),
    "decimal": lambda c: sa.Numeric(c.length or 10, c.scale or 2),
    "number": lambda c: sa.Numeric(),
    "float": lambda c: sa.Float(),
    "date": lambda c: sa.Date(),
    "datetime": lambda c: sa.DateTime(),
    "time": lambda c: sa.Time(),
    "boolean": lambda c: {"yn": sa.String(1), "01": sa.Integer()}.get(
        c.flag_style or "", sa.Boolean()
    ),
    "guid": lambda c: sa.Uuid(),
    "binary": lambda c: sa.LargeBinary(),
    "interval": lambda c: sa.Interval(),
    "unsupported": lambda c: sa.types.NullType(),
}


def col(name: str, kind: Any, **options: Any) -> ColumnInfo:
    """A column as reflection would describe it; the Oracle name is the upper-cased name."""
    label = name.replace("_", " ").capitalize()
    return ColumnInfo(name=name, db_name=name.upper(), kind=kind, label=label, **options)


def fk(name: str, target: str, target_column: str = "id", **options: Any) -> ColumnInfo:
    """An integer column referencing ``target``."""
    relation = name.removesuffix("_id")
    info = ForeignKeyInfo(target_table=target, target_column=target_column, relationship=relation)
    return col(name, "integer", foreign_key=info, **options)


def add_table(
    catalog: Catalog,
    name: str,
    columns: Sequence[ColumnInfo],
    *,
    key: Sequence[str] = (),
    is_view: bool = False,
    **options: Any,
) -> TableInfo:
    """Create the sa.Table, map a class onto it and register the TableInfo in ``catalog``."""
    real_key = bool(key) and not is_view and options.get("has_real_key", True)
    sa_columns = [
        sa.Column(c.db_name, _TYPES[c.kind](c), key=c.name, primary_key=real_key and c.name in key)
        for c in columns
    ]
    table = sa.Table(name.upper(), catalog.metadata, *sa_columns)
    model = type(name.title().replace("_", ""), (), {})
    mapped_key = [table.c[k] for k in (key or [columns[0].name])]
    registry().map_imperatively(model, table, primary_key=mapped_key)
    marked = [replace(c, is_primary_key=c.name in key and real_key) for c in columns]
    options.setdefault("has_real_key", real_key)
    options.setdefault("is_read_only", not key)
    info = TableInfo(
        name=name,
        db_name=name.upper(),
        table=table,
        model=model,
        label=options.pop("label", name.replace("_", " ").capitalize()),
        label_plural=options.pop("label_plural", name.replace("_", " ").capitalize()),
        help=options.pop("help", None),
        columns={c.name: c for c in marked},
        primary_key=tuple(key),
        is_view=is_view,
        **options,
    )
    catalog.tables[name] = info
    return info


@pytest.fixture
def empty_catalog() -> Catalog:
    """A catalog with no tables."""
    return Catalog(metadata=sa.MetaData(), schema_name="HR")


@pytest.fixture
def legacy_catalog() -> Catalog:
    """Departments, staff with Y/N and 0/1 flags, immunizations, a view and a key-less log."""
    return build_legacy_catalog()


def build_legacy_catalog() -> Catalog:
    """The catalog behind ``legacy_catalog``, callable outside pytest."""
    catalog = Catalog(metadata=sa.MetaData(), schema_name="HR")
    add_table(
        catalog,
        "department",
        [
            col("id", "integer", nullable=False, is_generated=True),
            col("code", "text", length=10, nullable=False),
            col("name", "text", length=100),
            col("notes", "long_text"),
        ],
        key=["id"],
    )
    add_table(
        catalog,
        "staff",
        [
            col("staff_id", "integer", nullable=False),
            col("personal_no", "text", length=12),
            col("last_name", "text", length=60),
            col("first_name", "text", length=60),
            col("email", "text", length=200),
            fk("department_id", "department"),
            col("active", "boolean", flag_style="yn", type_name="CHAR(1)"),
            col("is_external", "boolean", flag_style="01", type_name="NUMBER(1)"),
            col("birth_date", "datetime"),
            col("hired_on", "datetime"),
            col("salary", "decimal", length=10, scale=2),
            col("photo", "binary"),
            col("cv", "long_text"),
            col("remarks", "text", length=4000),
            col("secret", "text", length=20, is_hidden=True),
        ],
        key=["staff_id"],
        label="Staff member",
        label_plural="Staff",
    )
    add_table(
        catalog,
        "immunization",
        [
            fk("staff_id", "staff", "staff_id", nullable=False),
            col("vaccine_code", "text", length=20, nullable=False),
            col("dose_no", "integer", nullable=False),
            col("given_date", "date"),
            col("valid", "boolean"),
        ],
        key=["staff_id", "vaccine_code", "dose_no"],
    )
    add_table(
        catalog,
        "v_staff_overview",
        [
            col("staff_id", "integer"),
            col("full_name", "text", length=130),
            col("department_name", "text", length=100),
        ],
        is_view=True,
    )
    add_table(
        catalog,
        "access_log",
        [
            col("logged_at", "datetime"),
            col("login", "text", length=30),
            col("action", "text", length=20),
            col("details", "long_text"),
        ],
    )
    return catalog
