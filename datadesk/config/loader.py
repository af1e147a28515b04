"""Loading ``datadesk.yaml``: read, parse, validate, and explain every problem by path and line.

A bad file raises one ``ConfigError`` whose message has one line per problem, e.g.::

    datadesk.yaml:14: tables.staff.columns.salary.flag: Input should be 'yn', '01' or 'none'
    datadesk.yaml:9: tables.staff.lits_columns: unknown option (did you mean 'list_columns'?)
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from datadesk.config.document import (
    ConfigDocument,
    ConfigProblem,
    PathPart,
    config_error,
    parse_path,
)
from datadesk.config.schema import ColumnConfig, Config, TableConfig
from datadesk.errors import ConfigError

DEFAULT_SOURCE = "datadesk.yaml"


def load_config(path: Path) -> Config:
    """Read and validate a config file; an empty file means all defaults."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{source}:{line}: the file is not UTF-8 text (byte 0x{raw[exc.start]:02x});"
            " save it with UTF-8 encoding"
        ) from None
    return parse_config(text, source)


def parse_config(text: str, source: str = DEFAULT_SOURCE) -> Config:
    """Validate config text; ``source`` names the file in error messages."""
    document = ConfigDocument(text, source)
    problems = list(document.problems)
    data = document.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = document.root.start_mark.line + 1 if document.root is not None else None
        found = _describe_value(data)
        message = (
            f"the file must be a mapping of sections (database:, app:, tables:), found {found}"
        )
        raise config_error([*problems, ConfigProblem((), message, line)], source)
    problems.extend(_case_clashes(document))
    try:
        config = Config.model_validate(_fill_empty_sections(Config, data), by_name=False)
    except ValidationError as exc:
        problems.extend(_explain(error, document) for error in exc.errors())
        raise config_error(problems, source) from None
    if problems:
        raise config_error(problems, source)
    return config


def cross_check_error(path: Path, problems: Sequence[str]) -> ConfigError:
    """A ConfigError for ``path: message`` problems found against the database, with lines."""
    try:
        document: ConfigDocument | None = ConfigDocument(
            Path(path).read_text(encoding="utf-8-sig"), str(path)
        )
    except (OSError, UnicodeDecodeError, ConfigError):
        document = None  # the lines are a courtesy: the problems are reported regardless
    located = []
    for text in problems:
        where, separator, message = text.partition(": ")
        parts = parse_path(where) if separator else ()
        line = document.line_of(parts) if document is not None and parts else None
        located.append(ConfigProblem(parts, message if separator else text, line))
    return config_error(located, str(path))


def _case_clashes(document: ConfigDocument) -> list[ConfigProblem]:
    """Table (and column) keys that differ only by case name the same database object."""
    problems: list[ConfigProblem] = []
    paths: list[tuple[PathPart, ...]] = [("tables",)]
    paths += [("tables", table, "columns") for table, _ in document.keys_at(("tables",))]
    for path in paths:
        what = "table" if len(path) == 1 else "column"
        first: dict[str, tuple[str, int]] = {}
        for key, line in document.keys_at(path):
            earlier = first.setdefault(key.lower(), (key, line))
            if earlier[0] != key:
                problems.append(
                    ConfigProblem(
                        (*path, key),
                        f"same {what} as '{earlier[0]}' on line {earlier[1]}"
                        f" ({what} names are not case-sensitive); merge the two",
                        line,
                    )
                )
    return problems


def _fill_empty_sections(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Treat an empty section (``tables:`` with nothing under it) as an empty mapping."""
    filled = dict(data)
    for name, field in model.model_fields.items():
        key = field.alias or name
        kind, inner = _shape(field.annotation)
        value = filled.get(key)
        if key not in filled or kind == "value" or not (value is None or isinstance(value, dict)):
            continue  # absent, a plain value, or a wrong type that validation will report
        if kind == "model":
            filled[key] = _fill_empty_sections(inner, value or {})
            continue
        item_kind, item_model = _shape(inner)
        filled[key] = {
            k: _fill_empty_sections(item_model, v or {})
            if item_kind == "model" and (v is None or isinstance(v, dict))
            else v
            for k, v in (value or {}).items()
        }
    return filled


def _shape(annotation: Any) -> tuple[str, Any]:
    """Classify a field type: ('model', cls), ('dict', value type) or ('value', None)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _shape(args[0]) if len(args) == 1 else ("value", None)
    if origin is dict:
        return "dict", typing.get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    return "value", None


def _model_at(path: Sequence[PathPart]) -> type[BaseModel] | None:
    """The config model that describes the mapping at ``path``, if the path is valid."""
    current: Any = ("model", Config)
    parts = list(path)
    while parts:
        kind, inner = current
        part = parts.pop(0)
        if kind == "dict":
            current = _shape(inner)
        elif kind == "model":
            field = next((f for n, f in inner.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            current = _shape(field.annotation)
        else:
            return None
    kind, inner = current
    return inner if kind == "model" else None


def option_names(model: type[BaseModel]) -> list[str]:
    """The keys a config section accepts, as written in YAML."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _explain(error: ErrorDetails, document: ConfigDocument) -> ConfigProblem:
    """Turn one pydantic error into a problem with a YAML path, a line and a plain message."""
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if loc and loc[-1] == "[key]":  # keys are always text (see ConfigDocument): defensive
        loc = loc[:-1]
    message = error["msg"]
    if kind == "extra_forbidden":
        message = _unknown_option(loc)
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind in {"model_type", "dict_type"}:
        message = f"Input should be a mapping of settings (found {_describe_value(value)})"
    elif kind in {"tuple_type", "list_type"}:
        message = f"Input should be a list, e.g. [a, b] (found {_describe_value(value)})"
    elif kind == "literal_error":
        message += _quote_hint(document, loc, error.get("ctx", {}).get("expected", ""))
        if not isinstance(value, str) and "(" not in message:
            message += f" (found {_describe_value(value)})"
    elif kind == "string_type":
        message += f" (found {_describe_value(value)}"
        message += "; put it in quotes)" if _is_plain_scalar(document, loc) else ")"
    elif value is None and kind.endswith("_type"):
        message += " (found no value)"
    return ConfigProblem(loc, message, document.line_of(loc))


def _unknown_option(loc: tuple[PathPart, ...]) -> str:
    """'unknown option' plus the closest accepted name, or the list of accepted names."""
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown option"
    names = option_names(model)
    guess = difflib.get_close_matches(str(loc[-1]).lower(), names, n=1, cutoff=0.6)
    if guess:
        return f"unknown option (did you mean '{guess[0]}'?)"
    if model is TableConfig and loc[-1] in option_names(ColumnConfig):
        return f"unknown option; '{loc[-1]}' is a column setting: put it under columns: <column>:"
    return "unknown option; expected one of: " + ", ".join(names)


def _quote_hint(document: ConfigDocument, loc: tuple[PathPart, ...], expected: str) -> str:
    """Explain that ``flag: 01`` was read as the number 1 and needs quotes."""
    node = document.node_at(loc)
    if isinstance(node, yaml.ScalarNode) and not node.style and f"'{node.value}'" in expected:
        return f" (write it in quotes: '{node.value}')"
    return ""


def _is_plain_scalar(document: ConfigDocument, loc: tuple[PathPart, ...]) -> bool:
    """Whether the value at ``loc`` is an unquoted scalar (which quoting would make text)."""
    node = document.node_at(loc)
    return isinstance(node, yaml.ScalarNode) and not node.style and node.value != ""


def _describe_value(value: Any) -> str:
    """A few words an administrator recognises for what YAML produced."""
    if value is None:
        return "no value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, dt.date | dt.datetime):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
