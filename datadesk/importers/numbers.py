"""Whole numbers, decimals and floats from cells: Excel numbers, and text with thousands
separators, decimal commas, currency signs and accounting negatives, checked against the
column's precision and scale."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from datadesk.config.schema import ImportColumn
from datadesk.importers.cells import (
    FLOAT_DIGITS,
    SPACES,
    ValueProblem,
    choice_check,
    show,
    what_it_is,
)
from datadesk.models.catalog import ColumnInfo

# --- numbers -------------------------------------------------------------------------------

_CURRENCY_CODE = re.compile(r"^(?:[A-Z]{3}\.?\s*)?(.*?)(?:\s*[A-Z]{3})?$", re.DOTALL)
_GROUP_SEPARATORS = " \xa0\u202f\u2009'’"
_NUMBER_POINT = re.compile(
    r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
    rf"|\d{{1,3}}(?:[{_GROUP_SEPARATORS},]\d{{3}})+(?:\.\d*)?"
)
_NUMBER_COMMA = re.compile(
    r"(?:\d+(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?"
    rf"|\d{{1,3}}(?:[{_GROUP_SEPARATORS}.]\d{{3}})+(?:,\d*)?"
)
_SIGNS = {"+": 1, "-": -1, "\u2212": -1}  # U+2212 is the typographic minus
_WIDE = Context(prec=200)  # exact arithmetic for checks on numbers of any database's size
_MAX_INTEGER_DIGITS = 40  # more digits than any database integer (NUMBER(38)) holds


def number_text_parser(decimal_comma: bool) -> Callable[[str], Decimal | None]:
    """A parser of numbers written as text: signs, currency symbols or codes around,
    thousands separators and the configured decimal mark; None when it is not a number."""
    pattern = _NUMBER_COMMA if decimal_comma else _NUMBER_POINT
    drop = str.maketrans("", "", _GROUP_SEPARATORS + ("." if decimal_comma else ","))

    def parse(text: str) -> Decimal | None:
        text = text.strip(SPACES)
        sign = 1
        if text.startswith("(") and text.endswith(")"):  # accounting style negative
            text, sign = text[1:-1].strip(SPACES), -1
        for _ in range(2):  # a sign may come before or after a currency symbol
            if text[:1] in _SIGNS:
                sign *= _SIGNS[text[0]]
                text = text[1:].strip(SPACES)
            text = _strip_currency(text)
        if text[-1:] in _SIGNS and text[:-1].strip(SPACES):  # trailing minus: '1234-'
            sign *= _SIGNS[text[-1]]
            text = text[:-1].strip(SPACES)
        if not pattern.fullmatch(text):
            return None
        text = text.translate(drop)
        if decimal_comma:
            text = text.replace(",", ".")
        number = Decimal(text)
        return number.copy_negate() if sign < 0 else number

    return parse


def _strip_currency(text: str) -> str:
    """Text without currency symbols ($, €, £...) or ISO codes (EUR, CHF) at either end."""
    while text and unicodedata.category(text[0]) == "Sc":
        text = text[1:].lstrip(SPACES)
    while text and unicodedata.category(text[-1]) == "Sc":
        text = text[:-1].rstrip(SPACES)
    if text[:1].isalpha() or text[-1:].isalpha():
        match = _CURRENCY_CODE.fullmatch(text)
        if match:
            text = match.group(1)
    return text


def float_to_decimal(value: float) -> Decimal:
    """A float from a workbook as the decimal the user sees (15 significant digits)."""
    if value.is_integer() and abs(value) < 1e15:
        return Decimal(int(value))
    return Decimal(format(value, FLOAT_DIGITS))


def _not_a_number(value: Any, what: str) -> ValueProblem:
    """The problem of a value that is not the number a column takes."""
    if isinstance(value, str) or (isinstance(value, float) and not math.isfinite(value)):
        return ValueProblem(f"{show(value)} is not {what}")
    return ValueProblem(f"{show(value)} is {what_it_is(value)}; expected {what}")


def integer_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Integer columns: whole numbers only, within the column's precision."""
    parse_text = number_text_parser(spec.decimal_comma)
    digits = column.length or 0
    limit = 10 ** (digits or _MAX_INTEGER_DIGITS)
    choices = choice_check(column, by_text=False)
    what = "a whole number"

    def check(number: int, value: Any) -> int:
        if not -limit < number < limit:
            if not digits:
                raise ValueProblem(f"{show(value)} is too large for a whole-number column")
            raise ValueProblem(
                f"{show(value)} has {len(str(abs(number)))} digits; at most {digits} fit"
            )
        if choices is not None and number not in choices[0]:
            raise ValueProblem(f"{show(value)} {choices[2]}")
        return number

    def from_decimal(number: Decimal | None, value: Any) -> int:
        if number is None or not number.is_finite():
            raise _not_a_number(value, what)
        if number != number.to_integral_value(context=_WIDE):
            raise ValueProblem(f"{show(value)} is not a whole number")
        if number and number.adjusted() >= _MAX_INTEGER_DIGITS:
            raise ValueProblem(f"{show(value)} is too large for a whole-number column")
        return check(int(number), value)

    def from_text(text: str) -> int:
        try:
            return check(int(text), text)
        except ValueError:
            return from_decimal(parse_text(text), text)

    def from_other(value: Any) -> int:
        kind = type(value)
        if kind is int:
            return check(value, value)
        if kind is float:
            if value.is_integer():
                return check(int(value), value)
            if math.isfinite(value):
                return from_decimal(float_to_decimal(value), value)
        elif kind is Decimal:
            return from_decimal(value, value)
        raise _not_a_number(value, what)

    return from_text, from_other


def decimal_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Decimal and unconstrained number columns: exact Decimals within precision and scale.

    With a known scale the result is quantized to it (1234.5 -> 1234.50 in NUMBER(10,2)), as
    the column type gives it back on reading; more decimals than the scale are a problem,
    never rounded away.
    """
    parse_text = number_text_parser(spec.decimal_comma)
    scale = column.scale if column.scale is not None and column.scale >= 0 else None
    whole_digits = column.length - (scale or 0) if column.length else None
    step = Decimal(1).scaleb(-scale) if scale is not None else None
    factor = 10.0**scale if scale is not None else 0.0
    shift = -scale if scale is not None else 0
    choices = choice_check(column, by_text=False)
    fast = not spec.decimal_comma
    isfinite = math.isfinite
    what = "a number"

    def fit(number: Decimal, value: Any) -> Decimal:
        if not number.is_finite():
            raise _not_a_number(value, what)
        if step is not None:
            try:
                fitted = number.quantize(step)
            except InvalidOperation:  # more digits than the default context holds
                try:
                    fitted = number.quantize(step, context=_WIDE)
                except InvalidOperation:
                    raise ValueProblem(f"{show(value)} is too large a number") from None
            if fitted != number:
                exponent = number.normalize(context=_WIDE).as_tuple().exponent
                decimals = -exponent if isinstance(exponent, int) else 0
                raise ValueProblem(f"{show(value)} has {decimals} decimals; at most {scale}")
            number = fitted
        return check(number, value)

    def check(number: Decimal, value: Any) -> Decimal:
        if whole_digits is not None and number:
            digits = number.adjusted() + 1
            if digits > whole_digits:
                raise ValueProblem(
                    f"{show(value)} has {digits} digits before the decimal point;"
                    f" at most {whole_digits} fit"
                )
        if choices is not None and number not in choices[0]:
            raise ValueProblem(f"{show(value)} {choices[2]}")
        return number

    def from_text(text: str) -> Decimal:
        number: Decimal | None
        if fast:
            try:
                number = Decimal(text)
            except InvalidOperation:
                number = parse_text(text)
        else:
            number = parse_text(text)
        if number is None:
            raise _not_a_number(text, what)
        return fit(number, text)

    def from_other(value: Any) -> Decimal:
        kind = type(value)
        if kind is float:
            if step is not None and -1e15 < value < 1e15:
                # Fast path: a float whose 15 significant digits end within the scale.
                scaled = value * factor
                whole = round(scaled)
                if abs(scaled - whole) <= abs(scaled) * 4e-15:
                    return check(Decimal(whole).scaleb(shift), value)
            if isfinite(value):
                return fit(float_to_decimal(value), value)
        elif kind is int:
            return fit(Decimal(value), value)
        elif kind is Decimal:
            return fit(value, value)
        raise _not_a_number(value, what)

    return from_text, from_other


def float_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Floating-point columns: any finite number."""
    parse_text = number_text_parser(spec.decimal_comma)
    fast = not spec.decimal_comma
    isfinite = math.isfinite
    what = "a number"

    def from_text(text: str) -> float:
        if fast:
            try:
                number = float(text)
            except ValueError:
                pass
            else:
                if isfinite(number):
                    return number
                raise _not_a_number(text, what)
        parsed = parse_text(text)
        if parsed is None:
            raise _not_a_number(text, what)
        return float(parsed)

    def from_other(value: Any) -> float:
        kind = type(value)
        if (kind is int or kind is float or kind is Decimal) and isfinite(value):
            return float(value)
        raise _not_a_number(value, what)

    return from_text, from_other
