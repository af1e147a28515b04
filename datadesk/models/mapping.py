"""Copy reflected tables with their runtime types and map each to a fresh ORM class.

The reflected MetaData is never changed: the catalog works on copies whose columns carry the
legacy types (flags, '' as NULL, GUIDs), lower-case keys and configured sequences.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.types import TypeEngine

from datadesk.models.labels import format_row_label, strip_fk_suffix, words_of

GENERATED_MODULE = "datadesk.models.generated"


class CatalogRow:
    """Base of every generated model: keyword constructor and a readable ``str()``."""

    __datadesk_table__: ClassVar[str] = ""
    __datadesk_label__: ClassVar[str] = ""
    __datadesk_row_label__: ClassVar[str] = ""
    __datadesk_key__: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **values: Any) -> None:
        mapper = sa.inspect(type(self))
        for name, value in values.items():
            if name not in mapper.attrs:
                raise TypeError(f"{type(self).__name__} has no attribute {name!r}")
            setattr(self, name, value)

    def __str__(self) -> str:
        loaded = sa.inspect(self).dict
        text = ""
        if self.__datadesk_row_label__:
            text = format_row_label(self.__datadesk_row_label__, loaded)
        if text:
            return text
        key = " / ".join(str(loaded.get(name, "?")) for name in self.__datadesk_key__)
        return f"{self.__datadesk_label__} {key}".strip()

    def __repr__(self) -> str:
        loaded = sa.inspect(self).dict
        key = ", ".join(f"{name}={loaded.get(name)!r}" for name in self.__datadesk_key__)
        return f"<{type(self).__name__} {key}>"


def attribute_name(db_name: str, taken: set[str]) -> str:
    """A unique lower-case Python identifier for a column: 'DEPT_ID' -> 'dept_id'."""
    name = re.sub(r"[^0-9a-z_]", "_", db_name.lower()) or "column"
    if name[0].isdigit():
        name = f"c_{name}"
    if name.startswith("__"):
        name = f"c{name}"
    if keyword.iskeyword(name) or name in {"metadata", "registry"}:
        name = f"{name}_"
    return unique_name(name, taken)


def relationship_name(attribute: str, taken: set[str]) -> str:
    """'dept_id' -> 'dept', 'country_code' -> 'country'; '<column>_ref' when the stem is taken."""
    stem = strip_fk_suffix(attribute)
    if stem == attribute or stem in taken:
        stem = f"{attribute}_ref" if stem == attribute else stem
    return unique_name(stem, taken)


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3`` … when taken; the result is added to ``taken``."""
    candidate = name
    counter = 2
    while candidate in taken:
        candidate = f"{name}_{counter}"
        counter += 1
    taken.add(candidate)
    return candidate


def class_name(catalog_name: str, taken: set[str]) -> str:
    """'access_requests' -> 'AccessRequests', unique among the catalog's classes."""
    words = words_of(catalog_name)
    name = "".join(w[:1].upper() + w[1:] for w in words if w) or "Table"
    name = re.sub(r"\W", "", name)
    if not name or name[0].isdigit():
        name = f"T{name}"
    return unique_name(name, taken)


def copy_table(
    source: sa.Table,
    metadata: sa.MetaData,
    *,
    types: Mapping[str, TypeEngine[Any]],
    generated: Iterable[str] = (),
    sequence: sa.Sequence | None = None,
    sequence_column: str | None = None,
) -> sa.Table:
    """Copy ``source`` into ``metadata`` with runtime types; foreign keys are added later.

    Column names and keys stay as reflected.  ``types`` is indexed by column key; ``generated``
    lists keys of columns filled by the database; ``sequence`` is attached to ``sequence_column``.
    """
    generated_keys = set(generated)
    pk_keys = [c.key for c in source.primary_key.columns]
    columns: list[sa.Column[Any]] = []
    for col in source.columns:
        extra: list[Any] = []
        server_default: Any = None
        if col.identity is not None:
            ident = col.identity
            extra.append(
                sa.Identity(
                    always=ident.always,
                    on_null=ident.on_null,
                    start=ident.start,
                    increment=ident.increment,
                )
            )
        elif col.computed is not None:
            extra.append(sa.Computed(col.computed.sqltext, persisted=col.computed.persisted))
        elif isinstance(col.server_default, sa.DefaultClause):
            server_default = sa.DefaultClause(col.server_default.arg)
        elif col.server_default is not None:
            server_default = sa.FetchedValue()
        if sequence is not None and col.key == sequence_column:
            extra.append(sequence)
        is_generated = col.key in generated_keys
        autoincrement: Any = col.autoincrement if is_generated else False
        columns.append(
            sa.Column(
                col.name,
                types.get(col.key, col.type),
                *extra,
                key=col.key,
                nullable=col.nullable and col.key not in pk_keys,
                autoincrement=autoincrement,
                server_default=server_default,
                comment=col.comment,
                info=dict(col.info),
            )
        )
    constraints: list[Any] = []
    if pk_keys:
        constraints.append(
            sa.PrimaryKeyConstraint(*pk_keys, name=_constraint_name(source.primary_key))
        )
    for constraint in source.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            constraints.append(
                sa.UniqueConstraint(
                    *[c.key for c in constraint.columns], name=_constraint_name(constraint)
                )
            )
        elif isinstance(constraint, sa.CheckConstraint):
            constraints.append(
                sa.CheckConstraint(str(constraint.sqltext), name=_constraint_name(constraint))
            )
    table = sa.Table(
        source.name,
        metadata,
        *columns,
        *constraints,
        schema=source.schema,
        comment=source.comment,
        info=dict(source.info),
    )
    for index in source.indexes:
        if index.columns and len(index.columns) == len(index.expressions):
            sa.Index(index.name, *[table.c[c.key] for c in index.columns], unique=index.unique)
    return table


def _constraint_name(constraint: sa.Constraint) -> str | None:
    """The constraint's name as text, or None when it has none."""
    name = constraint.name
    return str(name) if isinstance(name, str) else None


def copy_foreign_keys(
    source: sa.Table, target: sa.Table, copies: Mapping[sa.Column[Any], sa.Column[Any]]
) -> None:
    """Re-create ``source``'s foreign keys on ``target``, skipping those whose target is unknown."""
    ordered = sorted(
        source.foreign_key_constraints, key=lambda c: (list(c.column_keys), str(c.name or ""))
    )
    for fkc in ordered:
        try:
            referenced = [fk.column for fk in fkc.elements]
        except (sa.exc.NoReferencedTableError, sa.exc.NoReferencedColumnError):
            continue
        if not all(r in copies for r in referenced):
            continue
        local = [copies[c] for c in fkc.columns]
        target.append_constraint(
            sa.ForeignKeyConstraint(
                local,
                [copies[r] for r in referenced],
                name=_constraint_name(fkc),
                ondelete=fkc.ondelete,
                onupdate=fkc.onupdate,
            )
        )


def make_model(
    registry: orm.registry,
    table: sa.Table,
    *,
    name: str,
    catalog_name: str,
    label: str,
    row_label: str,
    attributes: Mapping[str, str],
    key: tuple[str, ...],
    has_table_key: bool,
) -> type[CatalogRow]:
    """Map a fresh class onto ``table``, one attribute per column (``attributes``: key -> name).

    ``key`` (attribute names) becomes the mapper's primary key when the table has none.
    """
    model = type(
        name,
        (CatalogRow,),
        {
            "__module__": GENERATED_MODULE,
            "__qualname__": name,
            "__doc__": f"Rows of {table.fullname}.",
            "__datadesk_table__": catalog_name,
            "__datadesk_label__": label,
            "__datadesk_row_label__": row_label,
            "__datadesk_key__": key,
        },
    )
    properties: dict[str, Any] = {attributes[col.key]: col for col in table.columns}
    options: dict[str, Any] = {}
    if not has_table_key:
        options["primary_key"] = [properties[name] for name in key]
    registry.map_imperatively(model, table, properties=properties, **options)
    return model


def add_relationship(
    model: type[Any],
    name: str,
    *,
    target: type[Any],
    local: sa.Column[Any],
    remote: sa.Column[Any],
) -> None:
    """A read-only many-to-one ``model.name -> target`` over one column; never loaded implicitly.

    ``viewonly``: the foreign-key column is the one thing written, the relationship only reads.
    ``lazy="raise"``: rows are often used after their session closed (grids render in another
    thread), so callers load the relationship explicitly (``selectinload``/``joinedload``) and
    a forgotten load fails loudly instead of issuing one query per row.
    """
    sa.inspect(model).add_property(
        name,
        orm.relationship(
            target,
            primaryjoin=local == remote,
            foreign_keys=[local],
            remote_side=[remote],
            uselist=False,
            viewonly=True,
            lazy="raise",
        ),
    )
