"""Turn reflected metadata plus the config into a Catalog of mapped tables; no database involved."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from datadesk.config.schema import ColumnConfig, Config, DatabaseConfig, TableConfig
from datadesk.errors import SchemaError
from datadesk.models import labels
from datadesk.models.catalog import Catalog, ColumnInfo, ForeignKeyInfo, TableInfo
from datadesk.models.checks import AllowedValues, allowed_values_by_column
from datadesk.models.collector import collector_paused
from datadesk.models.mapping import (
    add_relationship,
    attribute_name,
    class_name,
    copy_foreign_keys,
    copy_table,
    make_model,
    relationship_name,
    unique_name,
)
from datadesk.models.typemap import MappedType, accepts_flag, flag_type, map_type, type_name

VIEW_INFO = "datadesk_view"  # Table.info flag: the table is a view
REFERENCED_ONLY_INFO = (
    "datadesk_referenced_only"  # reflected only because a served table refers to it
)
UNFIT_KEY_KINDS = frozenset({"unsupported", "long_text", "binary"})


@dataclass
class _Plan:
    """Everything decided about one table before it is copied and mapped."""

    source: sa.Table
    name: str
    served: bool
    is_view: bool
    config: TableConfig
    attrs: dict[str, str] = field(default_factory=dict)  # source column key -> attribute
    mapped: dict[str, MappedType] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    generated: set[str] = field(default_factory=set)
    key: tuple[str, ...] = ()
    has_real_key: bool = True
    is_read_only: bool = False
    sequence: str | None = None
    table: sa.Table | None = None
    model: type[Any] | None = None
    foreign_keys: dict[str, ForeignKeyInfo] = field(default_factory=dict)


def is_selected(name: str, database: DatabaseConfig, *, app_prefix: str | None = None) -> bool:
    """Whether a table name passes the include/exclude patterns (case-insensitive fnmatch).

    Names starting with ``app_prefix`` (datadesk's own tables) are never selected.
    """
    lowered = name.lower()
    if app_prefix and lowered.startswith(app_prefix.lower()):
        return False
    included = any(fnmatch.fnmatchcase(lowered, p.lower()) for p in database.include)
    return included and not any(fnmatch.fnmatchcase(lowered, p.lower()) for p in database.exclude)


def build_catalog(
    metadata: sa.MetaData,
    config: Config,
    dialect_name: str,
    *,
    checks: Mapping[str, Iterable[str]] | None = None,
    comments: Mapping[str, str] | None = None,
    views: Iterable[str] | None = None,
) -> Catalog:
    """Build the Catalog from reflected (or hand-built) metadata and the config; pure.

    ``metadata`` is never altered: the catalog maps copies of its tables.

    ``checks`` adds CHECK constraint texts by lower-case table name, ``comments`` overrides comments
    keyed ``"table"`` or ``"table.column"``, ``views`` names the tables that are views; by default
    all three are read from the metadata itself.
    """
    with collector_paused():
        return _build(metadata, config, dialect_name, checks, comments, views)


def _build(
    metadata: sa.MetaData,
    config: Config,
    dialect_name: str,
    checks: Mapping[str, Iterable[str]] | None,
    comments: Mapping[str, str] | None,
    views: Iterable[str] | None,
) -> Catalog:
    """The body of ``build_catalog``."""
    view_names = {v.lower() for v in views} if views is not None else None
    plans = _plan_tables(metadata, config, dialect_name, checks or {}, view_names)
    copied = sa.MetaData()
    copies: dict[sa.Column[Any], sa.Column[Any]] = {}
    for plan in plans:
        sequence = _sequence(plan.sequence) if plan.sequence else None
        key_source = (
            _source_key(plan, plan.key[0]) if plan.sequence and len(plan.key) == 1 else None
        )
        plan.table = copy_table(
            plan.source,
            copied,
            types={k: m.type_ for k, m in plan.mapped.items()},
            generated=plan.generated,
            sequence=sequence,
            sequence_column=key_source,
        )
        for col in plan.source.columns:
            copies[col] = plan.table.c[col.key]
    for plan in plans:
        assert plan.table is not None
        copy_foreign_keys(plan.source, plan.table, copies)
    registry = orm.registry(metadata=copied)
    served = {plan.name: plan for plan in plans if plan.served}
    class_names: set[str] = set()
    for plan in served.values():
        assert plan.table is not None
        plan.model = make_model(
            registry,
            plan.table,
            name=class_name(plan.name, class_names),
            catalog_name=plan.name,
            label=_table_labels(plan, comments)[0],
            attributes=plan.attrs,
            row_label=_row_label(plan),
            key=plan.key,
            has_table_key=plan.has_real_key,
        )
    by_table = {plan.table: plan for plan in served.values() if plan.table is not None}
    for plan in served.values():
        _add_relationships(plan, by_table)
    try:
        registry.configure()
    except sa.exc.SQLAlchemyError as error:
        raise SchemaError(f"cannot map the reflected tables: {error}") from error
    catalog = Catalog(
        metadata=copied, schema_name=config.database.schema_name, dialect_name=dialect_name
    )
    for plan in served.values():
        catalog.tables[plan.name] = _table_info(plan, served, comments, dialect_name)
    return catalog


def _plan_tables(
    metadata: sa.MetaData,
    config: Config,
    dialect_name: str,
    checks: Mapping[str, Iterable[str]],
    view_names: set[str] | None,
) -> list[_Plan]:
    """Decide names, types, flags and keys for every table, served or only referenced."""
    plans: list[_Plan] = []
    taken: set[str] = set()
    for source in metadata.tables.values():
        lowered = source.name.lower()
        is_view = (
            lowered in view_names if view_names is not None else bool(source.info.get(VIEW_INFO))
        )
        served = not source.info.get(REFERENCED_ONLY_INFO) and is_selected(
            lowered, config.database, app_prefix=config.app_tables.prefix
        )
        name = unique_name(lowered, taken) if served else f"{source.fullname.lower()}\x00"
        plan = _Plan(source, name, served, is_view, config.table(name) if served else TableConfig())
        taken_attrs: set[str] = set()
        for col in source.columns:
            plan.attrs[col.key] = attribute_name(col.name, taken_attrs)
        found = list(source.constraints) + [k for col in source.columns for k in col.constraints]
        texts = [str(c.sqltext) for c in found if isinstance(c, sa.CheckConstraint)]
        texts.extend(checks.get(lowered, ()))
        allowed = allowed_values_by_column(texts)
        for col in source.columns:
            _plan_column(plan, col, dialect_name, allowed.get(col.name.lower()))
        _plan_key(plan, dialect_name)
        plans.append(plan)
    return plans


def _plan_column(
    plan: _Plan, col: sa.Column[Any], dialect_name: str, allowed: AllowedValues | None
) -> None:
    """Map one column's type, applying a configured or detected legacy flag."""
    mapped = map_type(col.type, dialect_name)
    setting = _column_config(plan, col)
    style: str | None = None
    if setting is not None and setting.flag is not None:
        style = None if setting.flag == "none" else setting.flag
        if style is not None and not accepts_flag(style, mapped):
            style = None
    elif allowed is not None and allowed.flag_style and accepts_flag(allowed.flag_style, mapped):
        style = allowed.flag_style
    if style is not None:
        lowercase = allowed is not None and allowed.flag_style == "yn" and allowed.is_lowercase
        mapped = MappedType("boolean", flag_type(style, col.type, lowercase=lowercase))
        plan.flags[col.key] = style
    elif allowed is not None and mapped.kind in {"text", "integer", "decimal", "number"}:
        mapped = MappedType(
            mapped.kind,
            mapped.type_,
            mapped.length,
            mapped.scale,
            mapped.is_read_only,
            allowed.values,
        )
    plan.mapped[col.key] = mapped
    if col.identity is not None or col.computed is not None:
        plan.generated.add(col.key)


def _plan_key(plan: _Plan, dialect_name: str) -> None:
    """Real key, configured key (views, key-less tables), or all usable columns as invented key."""
    source = plan.source
    real = [plan.attrs[c.key] for c in source.primary_key.columns]
    configured = _configured_key(plan)
    invented = False
    if real and not plan.is_view:
        plan.key, plan.has_real_key = tuple(real), True
    elif configured:
        plan.key, plan.has_real_key = configured, False
        plan.is_read_only = plan.is_view
    else:
        usable = [
            plan.attrs[c.key]
            for c in source.columns
            if plan.mapped[c.key].kind not in UNFIT_KEY_KINDS
        ]
        plan.key = tuple(usable or plan.attrs.values())
        plan.has_real_key, plan.is_read_only, invented = False, True, True
    plan.is_read_only = plan.is_read_only or plan.is_view or plan.config.read_only
    if plan.config.sequence and len(plan.key) == 1 and not invented and not plan.is_view:
        plan.sequence = plan.config.sequence
        plan.generated.add(_source_key(plan, plan.key[0]))
    for col in source.primary_key.columns:
        if _is_generated_key(col, source, dialect_name):
            plan.generated.add(col.key)


def _is_generated_key(col: sa.Column[Any], table: sa.Table, dialect_name: str) -> bool:
    """Identity, serial (nextval default), auto-increment, or SQLite's INTEGER PRIMARY KEY."""
    if col.identity is not None or col.autoincrement is True:
        return True
    default = col.server_default
    if isinstance(default, sa.DefaultClause) and "nextval(" in str(default.arg).lower():
        return True
    if dialect_name == "sqlite" and len(table.primary_key.columns) == 1:
        return isinstance(col.type, sa.Integer) and col.autoincrement == "auto"
    return False


def _configured_key(plan: _Plan) -> tuple[str, ...] | None:
    """The configured key as attribute names, or None when absent or naming unknown columns."""
    if not plan.config.key:
        return None
    found = []
    for wanted in plan.config.key:
        attr = _attribute_for(plan, wanted)
        if attr is None:
            return None
        found.append(attr)
    return tuple(found)


def _add_relationships(plan: _Plan, by_table: Mapping[sa.Table, _Plan]) -> None:
    """One many-to-one relationship per single-column foreign key to a served table."""
    assert plan.table is not None and plan.model is not None
    taken = set(plan.attrs.values())
    position = {col.key: n for n, col in enumerate(plan.table.columns)}
    ordered = sorted(  # a set: sort by column order so names are the same on every start
        plan.table.foreign_key_constraints,
        key=lambda c: (min(position[k] for k in c.column_keys), str(c.name or "")),
    )
    for fkc in ordered:
        if len(fkc.elements) != 1:
            continue
        element = fkc.elements[0]
        local, remote = element.parent, element.column
        target = by_table.get(remote.table)  # type: ignore[arg-type]
        attr = plan.attrs[local.key]
        if target is None or target.model is None or attr in plan.foreign_keys:
            continue
        name = relationship_name(attr, taken)
        add_relationship(plan.model, name, target=target.model, local=local, remote=remote)
        plan.foreign_keys[attr] = ForeignKeyInfo(target.name, target.attrs[remote.key], name)


def _table_info(
    plan: _Plan, served: Mapping[str, _Plan], comments: Mapping[str, str] | None, dialect_name: str
) -> TableInfo:
    """The TableInfo of a mapped table, with a ColumnInfo for every column."""
    assert plan.table is not None and plan.model is not None
    label, label_plural, help_text = _table_labels(plan, comments)
    columns: dict[str, ColumnInfo] = {}
    key = set(plan.key)
    for source_col in plan.source.columns:
        attr = plan.attrs[source_col.key]
        mapped = plan.mapped[source_col.key]
        setting = _column_config(plan, source_col) or ColumnConfig()
        fk = plan.foreign_keys.get(attr)
        comment = _comment(comments, plan, source_col)
        comment_label, comment_help = labels.split_comment(comment)
        default_label = labels.humanize(source_col.name)
        if fk is not None:
            target_label = _table_labels(served[fk.target_table], comments)[0]
            default_label = labels.foreign_key_label(source_col.name, target_label)
        is_generated = source_col.key in plan.generated
        columns[attr] = ColumnInfo(
            name=attr,
            db_name=source_col.name,
            kind=mapped.kind,
            label=setting.label or comment_label or default_label,
            help=setting.help or comment_help,
            nullable=bool(source_col.nullable) and not (plan.has_real_key and attr in key),
            length=mapped.length,
            scale=mapped.scale,
            is_primary_key=attr in key,
            is_generated=is_generated,
            is_read_only=mapped.is_read_only
            or setting.read_only
            or source_col.computed is not None,
            is_hidden=setting.hidden,
            flag_style=plan.flags.get(source_col.key),  # type: ignore[arg-type]
            foreign_key=fk,
            type_name=type_name(source_col.type, dialect_name),
            choices=mapped.choices,
        )
    return TableInfo(
        name=plan.name,
        db_name=plan.source.name,
        table=plan.table,
        model=plan.model,
        label=label,
        label_plural=label_plural,
        help=help_text,
        columns=columns,
        primary_key=plan.key,
        is_view=plan.is_view,
        has_real_key=plan.has_real_key,
        is_read_only=plan.is_read_only,
        sequence=plan.sequence,
        row_label=plan.model.__datadesk_row_label__ or None,
    )


def _row_label(plan: _Plan) -> str:
    """The configured row label with its placeholders as attribute names, else a guessed one."""
    template = plan.config.row_label
    if not template:
        return labels.default_row_label(plan.name, plan.attrs.values(), plan.key)

    def attribute(match: re.Match[str]) -> str:
        return "{" + (_attribute_for(plan, match.group(1)) or match.group(1))

    return re.sub(r"(?<!\{)\{([A-Za-z_][\w$#]*)", attribute, template)


def _table_labels(plan: _Plan, comments: Mapping[str, str] | None) -> tuple[str, str, str | None]:
    """(label, plural label, help) from the config, else the table comment, else the name."""
    comment = plan.source.comment
    if comments is not None and plan.source.name.lower() in comments:
        comment = comments[plan.source.name.lower()]
    comment_label, comment_help = labels.split_comment(comment)
    cfg = plan.config
    label = cfg.label or labels.singular(comment_label or labels.humanize(plan.source.name))
    plural = cfg.label_plural or labels.plural(label)
    return label, plural, cfg.help or comment_help


def _comment(comments: Mapping[str, str] | None, plan: _Plan, col: sa.Column[Any]) -> str | None:
    """A column's comment, overridden by ``comments['table.column']`` when given."""
    if comments is not None:
        key = f"{plan.source.name.lower()}.{col.name.lower()}"
        if key in comments:
            return comments[key]
    return col.comment


def _column_config(plan: _Plan, col: sa.Column[Any]) -> ColumnConfig | None:
    """The configured settings of a column, matched by attribute or database name."""
    wanted = {plan.attrs[col.key], col.name.lower()}
    for name, setting in plan.config.columns.items():
        if name.lower() in wanted:
            return setting
    return None


def _attribute_for(plan: _Plan, name: str) -> str | None:
    """The attribute of a column named by attribute or database name (case-insensitive)."""
    lowered = name.lower()
    for col in plan.source.columns:
        if lowered in {plan.attrs[col.key], col.name.lower()}:
            return plan.attrs[col.key]
    return None


def _source_key(plan: _Plan, attr: str) -> str:
    """The source column key of an attribute."""
    return next(k for k, a in plan.attrs.items() if a == attr)


def _sequence(name: str) -> sa.Sequence:
    """A Sequence for ``name`` or ``owner.name``; upper-case names are case-insensitive."""
    schema, _, seq = name.rpartition(".")

    def fold(part: str) -> str:
        return part.lower() if part == part.upper() else part

    # optional: used on Oracle; PostgreSQL and SQLite keep their own key generation.
    return sa.Sequence(fold(seq), schema=fold(schema) if schema else None, optional=True)
