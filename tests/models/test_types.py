"""Legacy column types: conversions at the boundary, per dialect, without a database."""

from __future__ import annotations

import uuid
import warnings
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import oracle, postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from datadesk.models.types import (
    ExactNumber,
    GuidRaw,
    LegacyString,
    WholeNumber,
    YesNoFlag,
    ZeroOneFlag,
)

DIALECTS = [oracle.dialect(), postgresql.dialect(), sqlite.dialect()]
NUMERIC_OID = 1700  # the cursor type code PostgreSQL reports for NUMERIC; others ignore it


def bind(type_: TypeEngine[Any], dialect: Dialect, value: Any) -> Any:
    """What the driver receives for ``value``."""
    processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor else value


def result(type_: TypeEngine[Any], dialect: Dialect, value: Any) -> Any:
    """What the application sees for a stored ``value``."""
    processor = type_.dialect_impl(dialect).result_processor(dialect, NUMERIC_OID)
    return processor(value) if processor else value


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_yes_no_flag(dialect: Dialect) -> None:
    flag = YesNoFlag()
    assert [bind(flag, dialect, v) for v in (True, False, None, "", "y", "N")] == [
        "Y",
        "N",
        None,
        None,
        "Y",
        "N",
    ]
    assert [result(flag, dialect, v) for v in ("Y", "y", "N", "n", None, " Y ", "X")] == [
        True,
        True,
        False,
        False,
        None,
        True,
        None,
    ]
    assert bind(YesNoFlag(lowercase=True), dialect, True) == "y"
    with pytest.raises(ValueError, match="yes/no"):
        bind(flag, dialect, "maybe")


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_zero_one_flag(dialect: Dialect) -> None:
    flag = ZeroOneFlag()
    assert [bind(flag, dialect, v) for v in (True, False, None, 1, "0")] == [1, 0, None, 1, 0]
    assert [result(flag, dialect, v) for v in (1, 0, Decimal("1"), Decimal("0"), None, 7)] == [
        True,
        False,
        True,
        False,
        None,
        None,
    ]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_legacy_string_binds_empty_as_null_and_strips_char_padding(dialect: Dialect) -> None:
    assert bind(LegacyString(20), dialect, "") is None
    assert bind(LegacyString(20), dialect, "  x ") == "  x "
    assert result(LegacyString(6, variant="char"), dialect, "AB    ") == "AB"
    assert result(LegacyString(6), dialect, "AB    ") == "AB    "
    varchar = LegacyString(6).dialect_impl(dialect)
    assert varchar.result_processor(dialect, None) is None  # no per-value cost on read
    assert bind(LegacyString(None, variant="clob"), dialect, "") is None


def test_legacy_string_keeps_oracle_character_semantics() -> None:
    dialect = oracle.dialect()

    def bound_as(type_: LegacyString) -> str:
        impl = type_.dialect_impl(dialect).impl_instance  # type: ignore[attr-defined]
        return str(impl.compile(dialect=dialect))

    assert bound_as(LegacyString(6, variant="char")) == "CHAR(6)"
    assert bound_as(LegacyString(40, variant="nvarchar")) == "NVARCHAR2(40)"
    assert bound_as(LegacyString(None, variant="nclob")) == "NCLOB"
    assert bound_as(LegacyString(40)) == "VARCHAR2(40 CHAR)"
    literal = sa.literal("", LegacyString(5)).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}
    )
    assert str(literal) == "NULL"


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_guid_raw_round_trip(dialect: Dialect) -> None:
    value = uuid.uuid4()
    guid = GuidRaw()
    stored = bind(guid, dialect, value)
    assert stored == value.bytes
    assert bind(guid, dialect, str(value)) == value.bytes
    assert result(guid, dialect, stored) == value
    assert result(guid, dialect, None) is None
    with pytest.raises(ValueError):
        bind(guid, dialect, b"short")


def test_guid_raw_literals() -> None:
    value = uuid.UUID(int=255)
    rendered = sa.literal(value, GuidRaw()).compile(
        dialect=oracle.dialect(), compile_kwargs={"literal_binds": True}
    )
    assert str(rendered) == "HEXTORAW('000000000000000000000000000000FF')"


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_exact_number_is_decimal_never_float(dialect: Dialect) -> None:
    money = ExactNumber(10, 2)
    assert result(money, dialect, 12.5) == Decimal("12.50")
    assert result(money, dialect, Decimal("12.5")) == Decimal("12.50")
    assert result(money, dialect, 3) == Decimal("3.00")
    unknown = ExactNumber()
    assert result(unknown, dialect, 0.1) == Decimal("0.1")
    assert isinstance(result(unknown, dialect, 7), Decimal)
    assert bind(money, dialect, None) is None


def test_exact_number_binds_per_backend() -> None:
    assert bind(ExactNumber(10, 2), sqlite.dialect(), Decimal("12.50")) == 12.5
    assert bind(ExactNumber(10, 2), sqlite.dialect(), "7") == 7
    assert bind(ExactNumber(10, 2), postgresql.dialect(), "12.50") == Decimal("12.50")
    assert bind(ExactNumber(10, 2), oracle.dialect(), Decimal("1.25")) == Decimal("1.25")


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_whole_number(dialect: Dialect) -> None:
    number = WholeNumber(10)
    assert result(number, dialect, Decimal("42")) == 42
    assert isinstance(result(number, dialect, Decimal("42")), int)
    assert bind(number, dialect, "42") == 42
    with pytest.raises(ValueError, match="whole"):
        bind(number, dialect, "4.2")


def test_flags_compare_by_value_not_as_sql_booleans() -> None:
    table = sa.table("t", sa.column("active", YesNoFlag()), sa.column("gone", ZeroOneFlag()))
    stmt = sa.select(table).where(table.c.active.is_(True), table.c.gone.is_not(True))
    sql = str(stmt.compile(dialect=oracle.dialect(), compile_kwargs={"literal_binds": True}))
    assert "t.active = 'Y'" in sql
    assert "t.gone != 1" in sql


def test_types_are_cacheable() -> None:
    types: list[TypeEngine[Any]] = [
        YesNoFlag(),
        ZeroOneFlag(),
        LegacyString(5, variant="char"),
        GuidRaw(),
        ExactNumber(10, 2),
        WholeNumber(5),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keys = [t._static_cache_key for t in types]
    assert all(isinstance(k, tuple) for k in keys)
    assert LegacyString(5, variant="char")._static_cache_key != LegacyString(5)._static_cache_key
