"""Column types for legacy storage: Y/N and 0/1 flags, '' as NULL, RAW GUIDs, exact numbers.

Each type keeps the database representation untouched and converts only at the boundary, so the
reflected schema is never altered.  All are safe for SQLAlchemy's statement cache.
"""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator, TypeEngine

StringVariant = Literal["varchar", "char", "nvarchar", "nchar", "clob", "nclob"]

_TRUE_TEXT = frozenset({"y", "yes", "t", "true", "1"})
_FALSE_TEXT = frozenset({"n", "no", "f", "false", "0"})


def _as_bool(value: Any) -> bool | None:
    """Interpret a stored or submitted flag value; None when it is neither true nor false."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        if value == 1:
            return True
        if value == 0:
            return False
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    text = str(value).strip().lower()
    if text in _TRUE_TEXT:
        return True
    if text in _FALSE_TEXT:
        return False
    return None


class _FlagComparator(TypeDecorator.Comparator[bool]):
    """``flag.is_(True)`` means ``flag = 'Y'`` (or 1): legacy flags are not SQL booleans."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        if other and isinstance(other[0], bool):
            if op is operators.is_:
                op = operators.eq
            elif op is operators.is_not:
                op = operators.ne
        return super().operate(op, *other, **kwargs)


class YesNoFlag(TypeDecorator[bool]):
    """A boolean stored as CHAR(1) 'Y'/'N' (or 'y'/'n' when ``lowercase``)."""

    impl = sa.CHAR
    cache_ok = True
    comparator_factory = _FlagComparator

    def __init__(self, length: int = 1, lowercase: bool = False) -> None:
        super().__init__(length)
        self.length = length
        self.lowercase = lowercase

    @property
    def python_type(self) -> type[bool]:
        """Values are Python booleans."""
        return bool

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """True -> 'Y', False -> 'N', None -> NULL."""
        flag = _as_bool(value)
        if flag is None:
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            raise ValueError(f"not a yes/no value: {value!r}")
        text = "Y" if flag else "N"
        return text.lower() if self.lowercase else text

    def process_result_value(self, value: Any, dialect: Dialect) -> bool | None:
        """'Y'/'y' -> True, 'N'/'n' -> False, anything else -> None."""
        return _as_bool(value)


class ZeroOneFlag(TypeDecorator[bool]):
    """A boolean stored as NUMBER(1) 0/1."""

    impl = sa.Integer
    cache_ok = True
    comparator_factory = _FlagComparator

    @property
    def python_type(self) -> type[bool]:
        """Values are Python booleans."""
        return bool

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        """True -> 1, False -> 0, None -> NULL."""
        flag = _as_bool(value)
        if flag is None:
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            raise ValueError(f"not a 0/1 value: {value!r}")
        return 1 if flag else 0

    def process_result_value(self, value: Any, dialect: Dialect) -> bool | None:
        """1 -> True, 0 -> False (ints, Decimals or text), anything else -> None."""
        return _as_bool(value)


class LegacyString(TypeDecorator[str]):
    """Text that binds '' as NULL (as Oracle does) and strips CHAR blank padding on read."""

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int | None = None, variant: StringVariant = "varchar") -> None:
        super().__init__(length)
        self.length = length
        self.variant = variant

    @property
    def is_fixed(self) -> bool:
        """CHAR/NCHAR columns are blank-padded by the database."""
        return self.variant in {"char", "nchar"}

    @property
    def python_type(self) -> type[str]:
        """Values are Python strings."""
        return str

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Bind with the column's own character type, so padded and national semantics hold."""
        impl: TypeEngine[Any]
        if self.variant == "char":
            impl = sa.CHAR(self.length)
        elif self.variant == "nchar":
            impl = sa.NCHAR(self.length)
        elif self.variant == "nvarchar":
            impl = sa.NVARCHAR(self.length)
        elif self.variant == "clob":
            impl = sa.Text()
        elif self.variant == "nclob":
            impl = oracle.NCLOB() if dialect.name == "oracle" else sa.UnicodeText()
        else:
            impl = sa.String(self.length)
        return dialect.type_descriptor(impl)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """'' becomes NULL everywhere, not only on Oracle."""
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        return text or None

    def literal_processor(self, dialect: Dialect) -> Any:
        """Render '' as NULL in literal SQL too, like the bound value."""
        inner = super().literal_processor(dialect)

        def process(value: Any) -> str:
            if value is None or value == "":
                return "NULL"
            return str(inner(value)) if inner is not None else repr(str(value))

        return process

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        """Literal values are rendered as given ('' and None by ``literal_processor``)."""
        return value if isinstance(value, str) else str(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """Only CHAR columns are processed on read; other text costs nothing per value."""
        if not self.is_fixed:
            return self.impl_instance.result_processor(dialect, coltype)
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Strip the blank padding of CHAR columns."""
        if value is not None and self.is_fixed and isinstance(value, str):
            return value.rstrip(" ")
        return value

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        """Compare with the same type so LIKE patterns and literals bind as text."""
        return self


class GuidRaw(TypeDecorator[uuid.UUID]):
    """A UUID stored as 16 raw bytes (Oracle RAW(16), BINARY(16), BLOB)."""

    impl = sa.LargeBinary
    cache_ok = True

    def __init__(self, length: int = 16) -> None:
        super().__init__(length)
        self.length = length

    @property
    def python_type(self) -> type[uuid.UUID]:
        """Values are uuid.UUID."""
        return uuid.UUID

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """RAW on Oracle, the generic binary type elsewhere."""
        if dialect.name == "oracle":
            return dialect.type_descriptor(oracle.RAW(self.length))
        return dialect.type_descriptor(sa.LargeBinary(self.length))

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        """Accept UUID objects, their text form, or 16 raw bytes."""
        if value is None:
            return None
        if isinstance(value, uuid.UUID):
            return value.bytes
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            if len(raw) != 16:
                raise ValueError("a GUID is 16 bytes")
            return raw
        text = str(value).strip()
        if not text:
            return None
        return uuid.UUID(text).bytes

    def literal_processor(self, dialect: Dialect) -> Any:
        """Render a GUID as the database's binary literal (HEXTORAW on Oracle)."""

        def process(value: Any) -> str:
            raw = self.process_bind_param(value, dialect)
            if raw is None:
                return "NULL"
            if dialect.name == "oracle":
                return f"HEXTORAW('{raw.hex().upper()}')"
            if dialect.name == "postgresql":
                return f"'\\x{raw.hex()}'::bytea"
            return f"X'{raw.hex().upper()}'"

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        """16 bytes become a UUID; anything of another size is returned as it is."""
        if value is None:
            return None
        raw = bytes(value)
        return uuid.UUID(bytes=raw) if len(raw) == 16 else raw  # type: ignore[return-value]

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        """Compare with the same type so a UUID in a WHERE clause binds as bytes."""
        return self


class ExactNumber(TypeDecorator[Decimal]):
    """A NUMBER/NUMERIC read as Decimal on every backend, never as float."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int | None = None, scale: int | None = None) -> None:
        super().__init__(precision, scale)
        self.precision = precision
        self.scale = scale

    @property
    def python_type(self) -> type[Decimal]:
        """Values are decimal.Decimal."""
        return Decimal

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Decimals from the driver; on SQLite the stored int/float is taken as is and converted."""
        if dialect.name == "oracle":
            return dialect.type_descriptor(oracle.NUMBER(self.precision, self.scale, True))
        if dialect.name == "sqlite":
            return _StoredNumber(self.precision, self.scale)
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Bind Decimals; SQLite gets ints for whole numbers, else floats (it stores REAL)."""
        if value is None:
            return None
        number = _to_decimal(value)
        if dialect.name != "sqlite":
            return number
        return int(number) if number == number.to_integral_value() else float(number)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Always a Decimal, quantized to the column's scale when it is known."""
        if value is None:
            return None
        number = _to_decimal(value)
        if self.scale is not None and self.scale > 0:
            with contextlib.suppress(InvalidOperation):
                number = number.quantize(Decimal(1).scaleb(-self.scale))
        return number


class WholeNumber(TypeDecorator[int]):
    """A NUMERIC(p,0) read as int on every backend (no Decimal, no float)."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int | None = None) -> None:
        super().__init__(precision, 0)
        self.precision = precision

    @property
    def python_type(self) -> type[int]:
        """Values are Python ints."""
        return int

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """NUMBER(p,0) on Oracle, the stored integer on SQLite, exact decimals elsewhere."""
        if dialect.name == "oracle":
            return dialect.type_descriptor(oracle.NUMBER(self.precision, 0))
        if dialect.name == "sqlite":
            return _StoredNumber(self.precision, 0)
        return dialect.type_descriptor(sa.Numeric(self.precision, 0))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Integers are bound as they are; whole Decimals and text are converted."""
        if value is None:
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        number = _to_decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"not a whole number: {value!r}")
        return int(number)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        """Always an int."""
        if value is None:
            return None
        return int(value)


class _StoredNumber(sa.Numeric[Any]):
    """SQLite NUMERIC without conversions: the int or float SQLite stored is handed over."""

    def bind_processor(self, dialect: Dialect) -> None:
        """No conversion on the way in."""
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        """No conversion on the way out (the decorator converts)."""
        return None


def _to_decimal(value: Any) -> Decimal:
    """Convert ints, floats (via their shortest text form) and text to Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValueError(f"not a number: {value!r}") from error
