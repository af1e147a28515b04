"""Map reflected column types (Oracle first, then generic SQL) to a kind and a runtime type."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import oracle, registry
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType, TypeEngine

from datadesk.models.catalog import ColumnKind
from datadesk.models.types import (
    ExactNumber,
    GuidRaw,
    LegacyString,
    StringVariant,
    WholeNumber,
    YesNoFlag,
    ZeroOneFlag,
)

GUID_BYTES = 16


@dataclass(frozen=True)
class MappedType:
    """What a reflected type becomes: its kind, the type used at runtime, and its size."""

    kind: ColumnKind
    type_: TypeEngine[Any]
    length: int | None = None
    scale: int | None = None
    is_read_only: bool = False
    choices: tuple[Any, ...] | None = None


@lru_cache(maxsize=16)
def dialect_for(name: str) -> Dialect | None:
    """A dialect instance (no driver needed) for rendering type names; None if unknown."""
    try:
        return registry.load(name)()  # type: ignore[no-any-return]
    except Exception:
        return None


def type_name(type_: TypeEngine[Any], dialect_name: str) -> str:
    """The type as the database would spell it, e.g. ``NUMBER(10, 2)``; never raises."""
    dialect = dialect_for(dialect_name)
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:
        return type(type_).__name__.upper()


def map_type(type_: TypeEngine[Any], dialect_name: str) -> MappedType:
    """Classify a reflected type; unknown types are ``unsupported`` and read-only, never errors."""
    try:
        return _map(type_, dialect_name == "oracle")
    except Exception:
        return MappedType("unsupported", type_, is_read_only=True)


def flag_type(style: str, type_: TypeEngine[Any], *, lowercase: bool = False) -> TypeEngine[Any]:
    """The legacy boolean type for a column stored as Y/N text or 0/1 numbers."""
    if style == "yn":
        length = getattr(type_, "length", None) or 1
        return YesNoFlag(length, lowercase=lowercase)
    return ZeroOneFlag()


def accepts_flag(style: str, mapped: MappedType) -> bool:
    """Y/N flags live in text columns, 0/1 flags in integer or numeric columns."""
    if isinstance(mapped.type_, YesNoFlag | ZeroOneFlag):
        return isinstance(mapped.type_, YesNoFlag) == (style == "yn")
    if style == "yn":
        return mapped.kind == "text"
    return mapped.kind in {"integer", "number", "decimal"}


def _map(type_: TypeEngine[Any], is_oracle: bool) -> MappedType:
    """The classification itself; see ``map_type``."""
    decorated = _map_decorated(type_)
    if decorated is not None:
        return decorated
    if isinstance(type_, NullType | oracle.ROWID):
        return MappedType("unsupported", type_, is_read_only=True)
    if isinstance(type_, sa.Boolean):
        return MappedType("boolean", type_)
    if isinstance(type_, sa.Enum):
        return MappedType("text", type_, length=type_.length, choices=tuple(type_.enums))
    if isinstance(type_, sa.Uuid):
        return MappedType("guid", type_)
    if _is_interval(type_):
        return MappedType("interval", type_)
    if isinstance(type_, oracle.NUMBER):
        return _map_number(type_, keep_integer=True)
    if isinstance(type_, sa.Float):
        return MappedType("float", type_, length=getattr(type_, "precision", None))
    if isinstance(type_, sa.Integer):
        return MappedType("integer", type_)
    if isinstance(type_, sa.Numeric):
        return _map_number(type_, keep_integer=False)
    if isinstance(type_, sa.DateTime):
        return MappedType("datetime", type_)
    if isinstance(type_, sa.Date):
        if is_oracle:
            return MappedType("datetime", oracle.DATE())
        return MappedType("date", type_)
    if isinstance(type_, sa.Time):
        return MappedType("time", type_)
    if isinstance(type_, sa.String):
        return _map_string(type_)
    if isinstance(type_, sa.LargeBinary | sa.BINARY | sa.VARBINARY | oracle.RAW):
        length = getattr(type_, "length", None)
        if length == GUID_BYTES and not isinstance(type_, oracle.BFILE):
            return MappedType("guid", GuidRaw(GUID_BYTES), length=GUID_BYTES)
        return MappedType(
            "binary", type_, length=length, is_read_only=isinstance(type_, oracle.BFILE)
        )
    return MappedType("unsupported", type_, is_read_only=True)


def _map_decorated(type_: TypeEngine[Any]) -> MappedType | None:
    """Types that are already datadesk's own (metadata built by hand or mapped twice)."""
    if isinstance(type_, YesNoFlag | ZeroOneFlag):
        return MappedType("boolean", type_)
    if isinstance(type_, LegacyString):
        kind: ColumnKind = "long_text" if type_.variant in {"clob", "nclob"} else "text"
        return MappedType(kind, type_, length=type_.length)
    if isinstance(type_, GuidRaw):
        return MappedType("guid", type_, length=type_.length)
    if isinstance(type_, WholeNumber):
        return MappedType("integer", type_, length=type_.precision, scale=0)
    if isinstance(type_, ExactNumber):
        kind = "number" if type_.precision is None and type_.scale is None else "decimal"
        return MappedType(kind, type_, length=type_.precision, scale=type_.scale)
    return None


def _map_number(type_: sa.Numeric[Any], *, keep_integer: bool) -> MappedType:
    """NUMBER(p,0) -> integer, NUMBER(p,s>0) -> decimal, NUMBER -> number (Decimal, never float)."""
    precision = type_.precision
    scale = type_.scale
    if precision is None and scale is None:
        return MappedType("number", ExactNumber())
    if scale is not None and scale > 0:
        return MappedType("decimal", ExactNumber(precision, scale), length=precision, scale=scale)
    runtime: TypeEngine[Any] = type_ if keep_integer else WholeNumber(precision)
    return MappedType("integer", runtime, length=precision, scale=0)


def _map_string(type_: sa.String) -> MappedType:
    """Character types become LegacyString: '' binds as NULL, CHAR padding is stripped."""
    length = type_.length
    variant: StringVariant
    if isinstance(type_, sa.Text):
        if length is not None:
            return MappedType("text", LegacyString(length), length=length)
        national = isinstance(type_, sa.UnicodeText | oracle.NCLOB)
        variant = "nclob" if national else "clob"
        return MappedType("long_text", LegacyString(None, variant=variant))
    if isinstance(type_, sa.NCHAR):
        variant = "nchar"
    elif isinstance(type_, sa.CHAR):
        variant = "char"
    elif isinstance(type_, sa.NVARCHAR | sa.Unicode):
        variant = "nvarchar"
    else:
        variant = "varchar"
    return MappedType("text", LegacyString(length, variant=variant), length=length)


def _is_interval(type_: TypeEngine[Any]) -> bool:
    """Interval types of any dialect (they share the Interval affinity)."""
    if isinstance(type_, sa.Interval | oracle.INTERVAL):
        return True
    return getattr(type_, "_type_affinity", None) is sa.Interval
