"""Cross-check datadesk.yaml against the reflected catalog: every message names the YAML path."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from datadesk.config.schema import Config, ImportProfile, TableConfig
from datadesk.models.builder import is_selected
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo
from datadesk.models.grid_query import default_list_columns
from datadesk.models.labels import placeholders

LIST_SETTINGS = ("list_columns", "detail_columns", "form_columns", "search", "filters")
NOT_GRID_EDITABLE = {
    "long_text": "long text is edited in the form, not in the grid",
    "binary": "binary values cannot be edited",
    "unsupported": "its type cannot be edited",
}


def find_config_problems(config: Config, catalog: Catalog) -> list[str]:
    """Messages like ``tables.staf: no such table (did you mean 'staff'?)``; [] if all is well."""
    problems: list[str] = []
    for name, table_config in config.tables.items():
        path = f"tables.{name}"
        info = catalog.get(name)
        if info is None:
            if not is_selected(name, config.database):
                problems.append(
                    f"{path}: table is not served (excluded by database.include/exclude)"
                )
            else:
                problems.append(f"{path}: no such table{_suggest(name, catalog.tables)}")
            continue
        problems.extend(_table_problems(path, info, table_config))
    for name, profile in config.imports.items():
        problems.extend(_import_problems(f"imports.{name}", profile, catalog))
    for name, columns in config.exports.allow_formulas.items():
        path = f"exports.allow_formulas.{name}"
        info = catalog.get(name)
        if info is None:
            problems.append(f"{path}: no such table{_suggest(name, catalog.tables)}")
            continue
        problems.extend(
            f"{path}: no such column '{column}'{_suggest(column, info.columns)}"
            for column in columns
            if _column(info, column) is None
        )
    return problems


def _import_problems(path: str, profile: ImportProfile, catalog: Catalog) -> list[str]:
    """Unknown tables and columns in one import profile, and lookups into the wrong table."""
    info = catalog.get(profile.table)
    if info is None:
        return [f"{path}.table: no such table{_suggest(profile.table, catalog.tables)}"]
    if info.is_read_only:
        return [f"{path}.table: {info.name} is read-only (a view, or without a key)"]
    problems: list[str] = []
    for name, spec in profile.columns.items():
        where = f"{path}.columns.{name}"
        column = _column(info, name)
        if column is None:
            problems.append(f"{where}: no such column{_suggest(name, info.columns)}")
            continue
        if spec.lookup is None:
            continue
        target = catalog.get(spec.lookup.table)
        if target is None:
            problems.append(
                f"{where}.lookup.table: no such table{_suggest(spec.lookup.table, catalog.tables)}"
            )
            continue
        fk = column.foreign_key
        if fk is not None and fk.target_table != target.name:
            problems.append(
                f"{where}.lookup.table: {name} references {fk.target_table}, not {target.name}"
            )
        elif fk is None and len(target.primary_key) != 1:
            problems.append(
                f"{where}.lookup.table: {name} does not reference {target.name}, whose key has "
                "several columns"
            )
        if _column(target, spec.lookup.column) is None:
            problems.append(
                f"{where}.lookup.column: no such column in {target.name}"
                + _suggest(spec.lookup.column, target.columns)
            )
    return problems


def _table_problems(path: str, info: TableInfo, cfg: TableConfig) -> list[str]:
    """Every unknown column reference in one table's settings."""
    problems: list[str] = []
    for column in cfg.columns:
        if _column(info, column) is None:
            problems.append(
                f"{path}.columns.{column}: no such column{_suggest(column, info.columns)}"
            )
    problems.extend(_key_problems(path, info, cfg))
    for option in LIST_SETTINGS:
        for position, ref in enumerate(getattr(cfg, option) or ()):
            problem = _reference_problem(info, ref)
            if problem:
                problems.append(f"{path}.{option}[{position}]: {problem}")
    for position, entry in enumerate(cfg.default_sort):
        problem = _reference_problem(info, entry.strip().lstrip("-").strip())
        if problem:
            problems.append(f"{path}.default_sort[{position}]: {problem}")
    if cfg.row_label:
        for ref in placeholders(cfg.row_label):
            if _column(info, ref) is None:
                problems.append(
                    f"{path}.row_label: no such column {ref!r}{_suggest(ref, info.columns)}"
                )
    problems.extend(_grid_edit_problems(path, info, cfg))
    for column, setting in cfg.columns.items():
        col = _column(info, column)
        if col is None or setting.flag in (None, "none") or col.flag_style == setting.flag:
            continue
        wanted = "a text" if setting.flag == "yn" else "a numeric"
        problems.append(
            f"{path}.columns.{column}.flag: {setting.flag!r} needs {wanted} column, "
            f"{col.name} is {col.type_name or col.kind}"
        )
    return problems


def _grid_edit_problems(path: str, info: TableInfo, cfg: TableConfig) -> list[str]:
    """Grid-editable columns must be writable columns that the grid shows."""
    if not cfg.grid_edit:
        return []
    if info.is_read_only or cfg.read_only:
        return [f"{path}.grid_edit: {info.name} is read-only, so nothing can be edited in its grid"]
    shown = {
        found.name
        for found in (_column(info, n) for n in cfg.list_columns or default_list_columns(info))
        if found is not None
    }
    problems: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(cfg.grid_edit):
        where = f"{path}.grid_edit[{position}]"
        column = _column(info, name)
        if column is None:
            problems.append(f"{where}: no such column {name!r}{_suggest(name, info.columns)}")
            continue
        reason = _not_grid_editable(column)
        if reason is None and column.name in seen:
            reason = "listed twice"
        elif reason is None and column.name not in shown:
            reason = "not a column of the grid; add it to list_columns"
        seen.add(column.name)
        if reason is not None:
            problems.append(f"{where}: {column.name} cannot be edited in the grid: {reason}")
    return problems


def _not_grid_editable(column: ColumnInfo) -> str | None:
    """Why a column can never be edited in a grid, or None."""
    if column.is_primary_key:
        return "it is part of the key"
    if column.is_generated:
        return "its values are generated by the database"
    if column.is_hidden:
        return "it is hidden"
    if column.is_read_only:
        return "it is read-only"
    return NOT_GRID_EDITABLE.get(column.kind)


def _key_problems(path: str, info: TableInfo, cfg: TableConfig) -> list[str]:
    """Unknown key columns, a key on a table that has one, a sequence without a single key."""
    problems: list[str] = []
    missing = False
    for position, column in enumerate(cfg.key or ()):
        if _column(info, column) is None:
            missing = True
            problems.append(
                f"{path}.key[{position}]: no such column {column!r}{_suggest(column, info.columns)}"
            )
    if cfg.key and not missing and info.has_real_key:
        wanted = tuple(c.name for c in (_column(info, k) for k in cfg.key) if c is not None)
        if wanted != info.primary_key:
            problems.append(
                f"{path}.key: ignored, the table has a primary key ({', '.join(info.primary_key)})"
            )
    if cfg.sequence and len(info.primary_key) != 1:
        problems.append(f"{path}.sequence: needs a single-column key, not {len(info.primary_key)}")
    elif cfg.sequence and not info.has_real_key and cfg.key is None:
        problems.append(f"{path}.sequence: the table has no key; set tables.{info.name}.key")
    return problems


def _reference_problem(info: TableInfo, ref: str) -> str | None:
    """None when ``ref`` names a column, a relationship, or ``relationship.column``."""
    head, _, rest = ref.partition(".")
    if not rest:
        if _column(info, ref) is not None or _relationship(info, ref) is not None:
            return None
        names = list(info.columns) + [
            c.foreign_key.relationship for c in info.foreign_keys if c.foreign_key
        ]
        return f"no such column {ref!r}{_suggest(ref, names)}"
    if _relationship(info, head) is None:
        names = [c.foreign_key.relationship for c in info.foreign_keys if c.foreign_key]
        return f"no such relationship {head!r}{_suggest(head, names)}"
    return None


def _column(info: TableInfo, name: str) -> ColumnInfo | None:
    """The ColumnInfo named by attribute or database name, case-insensitively."""
    lowered = name.lower()
    if lowered in info.columns:
        return info.columns[lowered]
    for col in info.columns.values():
        if col.db_name.lower() == lowered:
            return col
    return None


def _relationship(info: TableInfo, name: str) -> str | None:
    """The relationship called ``name``, if the table has one."""
    for col in info.foreign_keys:
        if col.foreign_key is not None and col.foreign_key.relationship == name.lower():
            return col.foreign_key.relationship
    return None


def _suggest(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'staff'?)`` when a candidate is close enough, else an empty string."""
    close = difflib.get_close_matches(name.lower(), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
