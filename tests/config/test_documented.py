"""Every config option and every DATADESK_* variable is documented in docs/configuration.md."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import datadesk.settings
from datadesk.config.cache import CacheConfig
from datadesk.config.exports import ExportsConfig
from datadesk.config.loader import parse_config
from datadesk.config.monitoring import MonitoringConfig
from datadesk.config.reports import (
    ReportColumn,
    ReportConfig,
    ReportFilter,
    ReportParameter,
    ReportSheet,
    ReportSubquery,
)
from datadesk.config.schema import (
    AppConfig,
    AppTablesConfig,
    AuthConfig,
    ColumnConfig,
    Config,
    DatabaseConfig,
    ImportColumn,
    ImportLookup,
    ImportProfile,
    ImportSettings,
    RoleConfig,
    RowRule,
    RowSubquery,
    TableConfig,
    TableGrant,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
# Placeholders used in the docs for names chosen by the administrator.
PLACEHOLDERS = {
    ("tables",): "<table>",
    ("tables", "<table>", "columns"): "<column>",
    ("roles",): "<role>",
    ("roles", "<role>", "tables"): "<table>",
    ("imports",): "<profile>",
    ("imports", "<profile>", "columns"): "<column>",
    ("reports",): "<report>",
    ("reports", "<report>", "parameters"): "<parameter>",
}
RULE = "roles.<role>.tables.<table>.rows[]"  # the options of one row rule
IMPORT_COLUMN = "imports.<profile>.columns.<column>"  # the options of one import column
# Sections documented once, at this path; an option elsewhere that holds them (an import
# lookup's ``where``) is documented itself and links there, its items are not walked again.
REPORT_FILTER = "reports.<report>.filters[]"  # the options of one report filter
DOCUMENTED_AT: dict[type[BaseModel], str] = {
    RowRule: RULE,
    ReportFilter: REPORT_FILTER,
    ReportSubquery: f"{REPORT_FILTER}.in_table",
}


def _unwrap(annotation: Any) -> Any:
    """Drop ``| None`` from an annotation."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def option_paths(
    model: type[BaseModel], prefix: tuple[str, ...] = (), seen: frozenset[type] = frozenset()
) -> Iterator[str]:
    """Every option path of ``model``, dict keys replaced by placeholders, list items as ``[]``.

    A model met again inside itself (a row rule's ``in_table.where``) is not walked twice, nor
    is a model met away from the one place it is documented (``DOCUMENTED_AT``). A mapping of
    plain values (an import column's ``values``) holds data, not options: only the mapping
    itself is an option.
    """
    seen = seen | {model}
    for name, field in model.model_fields.items():
        path = (*prefix, field.alias or name)
        yield ".".join(path)
        annotation = _unwrap(field.annotation)
        origin = typing.get_origin(annotation)
        if origin is dict:
            item = _unwrap(typing.get_args(annotation)[1])
            if not _is_model(item):
                continue
            placeholder = PLACEHOLDERS[path]
            yield ".".join((*path, placeholder))
            if _walks_into(item, (*path, placeholder), seen):
                yield from option_paths(item, (*path, placeholder), seen)
        elif origin is tuple:
            item = typing.get_args(annotation)[0]
            items = (*path[:-1], f"{path[-1]}[]")
            if _walks_into(item, items, seen):
                yield from option_paths(item, items, seen)
        elif _walks_into(annotation, path, seen):
            yield from option_paths(annotation, path, seen)


def _walks_into(annotation: Any, path: tuple[str, ...], seen: frozenset[type]) -> bool:
    """Whether the options of a section found at ``path`` are documented there."""
    if not _is_model(annotation) or annotation in seen:
        return False
    return DOCUMENTED_AT.get(annotation, ".".join(path)) == ".".join(path)


def _is_model(annotation: Any) -> bool:
    """Whether an annotation is a config section (a pydantic model)."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def documented_names(text: str) -> set[str]:
    """Names that appear as a heading or in backticks."""
    names = set(re.findall(r"`([^`\n]+)`", text))
    for heading in re.findall(r"^#+\s+(.+)$", text, flags=re.MULTILINE):
        names.add(heading.strip().strip("`"))
    return names


def environment_variables() -> set[str]:
    """DATADESK_* variables named in settings.py."""
    source = Path(datadesk.settings.__file__).read_text(encoding="utf-8")
    return set(re.findall(r"\bDATADESK_[A-Z][A-Z0-9_]*", source))


def section(text: str, heading: str) -> str:
    """The text under ``### `heading```, up to the next heading."""
    match = re.search(rf"^#+ `{re.escape(heading)}`\n(.*?)(?=^#)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no section for {heading}"
    return match.group(1)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_walk_sees_nested_options() -> None:
    paths = set(option_paths(Config))
    assert "database.schema" in paths  # the alias, not the attribute name
    assert "tables.<table>.columns.<column>.flag" in paths
    assert {"tables.<table>", "tables.<table>.columns.<column>"} <= paths
    assert "database.schema_name" not in paths
    assert {f"{RULE}.in", f"{RULE}.in_table.where", "roles.<role>.tables.<table>.actions"} <= paths
    assert f"{RULE}.in_table.where[].column" not in paths  # a rule is documented once
    assert {"imports.<profile>", f"{IMPORT_COLUMN}.from", f"{IMPORT_COLUMN}.lookup.where"} <= paths
    assert f"{IMPORT_COLUMN}.values" in paths
    assert not [p for p in paths if p.startswith(f"{IMPORT_COLUMN}.lookup.where[]")]
    assert not [p for p in paths if p.startswith(f"{IMPORT_COLUMN}.values.")]  # data, not options
    assert "import_settings.max_upload_mb" in paths


def test_every_option_is_documented(doc: str) -> None:
    missing = sorted(set(option_paths(Config)) - documented_names(doc))
    assert not missing, f"options missing from {DOC.name}: {', '.join(missing)}"


def test_every_environment_variable_is_documented(doc: str) -> None:
    variables = environment_variables()
    assert "DATADESK_DATABASE_URL" in variables
    missing = sorted(variables - documented_names(doc))
    assert not missing, f"variables missing from {DOC.name}: {', '.join(missing)}"


def test_documented_defaults_match_the_schema(doc: str) -> None:
    """The ``**Default**`` of each option section states the schema's default."""
    wrong = []
    sections: list[tuple[type[BaseModel], str]] = [
        (DatabaseConfig, "database"),
        (AppConfig, "app"),
        (TableConfig, "tables.<table>"),
        (ColumnConfig, "tables.<table>.columns.<column>"),
        (RoleConfig, "roles.<role>"),
        (TableGrant, "roles.<role>.tables.<table>"),
        (RowRule, RULE),
        (RowSubquery, f"{RULE}.in_table"),
        (AuthConfig, "auth"),
        (AppTablesConfig, "app_tables"),
        (ImportSettings, "import_settings"),
        (ImportProfile, "imports.<profile>"),
        (ImportColumn, IMPORT_COLUMN),
        (ImportLookup, f"{IMPORT_COLUMN}.lookup"),
        (ReportConfig, "reports.<report>"),
        (ReportParameter, "reports.<report>.parameters.<parameter>"),
        (ReportFilter, REPORT_FILTER),
        (ReportSubquery, f"{REPORT_FILTER}.in_table"),
        (ReportSheet, "reports.<report>.sheets[]"),
        (ReportColumn, "reports.<report>.sheets[].columns[]"),
        (ExportsConfig, "exports"),
        (MonitoringConfig, "monitoring"),
        (CacheConfig, "cache"),
    ]
    for model, prefix in sections:
        for name, field in model.model_fields.items():
            heading = f"{prefix}.{field.alias or name}"
            default = field.get_default(call_default_factory=True)
            stated = re.search(r"\*\*Default\*\* (`[^`]*`|not set|required)", section(doc, heading))
            if field.is_required():
                expected = "required"
            else:
                expected = "not set" if default is None else f"`{_yaml_inline(default)}`"
            if not stated or not stated.group(1).startswith(expected):
                wrong.append(f"{heading}: documented {stated and stated.group(1)}, is {expected}")
    assert not wrong, "\n".join(wrong)


def test_every_yaml_example_is_a_valid_config(doc: str) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", doc, flags=re.DOTALL)
    assert len(blocks) > 30
    for number, block in enumerate(blocks, start=1):
        parse_config(block, f"{DOC.name} yaml example {number}")


def _yaml_inline(value: Any) -> str:
    """A default as the docs write it."""
    if isinstance(value, BaseModel | dict):
        return "{}"
    if isinstance(value, tuple):
        return (
            "["
            + ", ".join(_yaml_inline(v) if not isinstance(v, str) else f"'{v}'" for v in value)
            + "]"
        )
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
