"""How values are shown in grids and detail pages, by column kind."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from datadesk.models.catalog import ColumnInfo

LIST_TEXT_LIMIT = 80


def format_cell(column: ColumnInfo, value: Any, *, truncate: bool = True) -> str:
    """Render one value as display text (dates ISO, flags Yes/No, binary as a size)."""
    if value is None:
        return ""
    if column.kind == "boolean" or isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        if column.kind == "datetime" and value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if column.kind == "decimal" and column.scale:
            return f"{value:.{column.scale}f}"
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return str(value)
    text = str(value)
    if truncate and len(text) > LIST_TEXT_LIMIT:
        return text[: LIST_TEXT_LIMIT - 1] + "…"
    return text


def key_to_path(values: list[Any] | tuple[Any, ...]) -> str:
    """Encode key values as one URL path segment (';' separates parts of a composite key)."""
    if len(values) == 1:
        value = values[0]
        return str(value) if type(value) is int else _key_part(value)
    return ";".join(_key_part(v).replace("\\", "\\\\").replace(";", r"\;") for v in values)


def key_href(values: list[Any] | tuple[Any, ...]) -> str:
    """A key as it appears in a URL path: ``key_to_path`` percent-encoded (integers as is)."""
    if len(values) == 1 and type(values[0]) is int:
        return str(values[0])
    return quote(key_to_path(values), safe="")


def _key_part(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def path_to_key_parts(text: str, size: int) -> list[str]:
    """Split a key path segment back into its raw parts; the inverse of ``key_to_path``."""
    if size == 1:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
