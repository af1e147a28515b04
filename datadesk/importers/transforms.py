"""Turn one spreadsheet cell into the Python value a target column takes.

``make_converter`` is called once per target column of an import and returns a small function
that is then called for every cell of that column (hundreds of thousands of times), so
everything that depends only on the column and its import settings is decided up front: the
kind branch, compiled patterns, replacement maps, limits and messages.

The values produced are those the ORM mapping takes for the column kind (see
``datadesk.models.types``): ``str`` for text, ``int`` for integers, ``Decimal`` for decimals
and unconstrained numbers, ``float``, ``datetime.date``, naive ``datetime.datetime``,
``datetime.time``, ``bool`` for booleans and legacy flags (the column type stores Y/N or 1/0),
``uuid.UUID`` and ``datetime.timedelta``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
import uuid
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from datadesk.config.schema import ImportColumn
from datadesk.models.catalog import ColumnInfo

Converter = Callable[[Any], Any]

# Whitespace stripped around text: every Unicode space (non-breaking ones included) plus the
# zero-width characters that copy-and-paste from web pages and Word leaves behind.
SPACES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\u200c\u200d\ufeff"

EXAMPLE_DATETIME = dt.datetime(2013, 6, 17, 14, 30)
EXAMPLE_GUID = "123e4567-e89b-12d3-a456-426614174000"
ISO_DATE_FORMAT = "%Y-%m-%d"

_DAY_SECONDS = 86_400
_DAY_MILLISECONDS = 86_400_000
_EXCEL_1900_BASE = dt.date(1899, 12, 30)  # serial 61 and up: base + serial days
_EXCEL_1900_EARLY_BASE = dt.date(1899, 12, 31)  # serials 1..59 (before the fake 29 Feb 1900)
_EXCEL_1900_LEAP_SERIAL = 60  # Excel's 1900-02-29, a day that never was
_EXCEL_1904_BASE = dt.date(1904, 1, 1)
_MAX_SERIAL_1900 = (dt.date(9999, 12, 31) - _EXCEL_1900_BASE).days  # 2958465
_MAX_SERIAL_1904 = (dt.date(9999, 12, 31) - _EXCEL_1904_BASE).days
_FLOAT_DIGITS = ".15g"  # Excel keeps 15 significant digits; more is binary noise

_CASES: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
}
_MISSING = object()


class ValueProblem(Exception):
    """A cell value that cannot be written to its column.

    ``message`` is one line for the user: what is wrong with the value and what is expected.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def make_converter(
    column: ColumnInfo, spec: ImportColumn, *, epoch_1904: bool = False
) -> Converter:
    """A function turning one raw cell value into the value to write into ``column``.

    The function takes what a reader gives (``str`` as stored, ``int``, ``float``, ``bool``,
    dates, datetimes, times, timedeltas, or None for a blank cell) and returns the Python value
    for the column's kind, or raises ``ValueProblem``. Text is cleaned first (trimmed when
    ``spec.trim``, replaced through ``spec.values``); a blank cell becomes ``spec.default``
    (converted like a cell value), else False for a NOT NULL boolean column, else None.
    Whether a blank is allowed at all (NOT NULL) is for the caller to check.

    ``epoch_1904``: the workbook counts serial dates from 1904-01-01 (old Mac Excel).
    """
    kind = column.kind
    is_text = kind in {"text", "long_text"}
    builder = _BUILDERS.get(kind)
    if builder is None:
        what = "binary column" if kind == "binary" else f"unsupported type {column.type_name}"
        from_text, from_other = _refusing(f"cannot be imported ({what.strip()})")
    else:
        from_text, from_other = builder(column, spec, epoch_1904)
    convert, set_blank = _assemble(
        from_text, from_other, trim=spec.trim or not is_text, replacements=spec.values
    )
    if spec.default is not None:
        try:
            default = convert(spec.default)
        except ValueProblem as problem:
            set_blank(None, f"the default value does not fit: {problem.message}")
        else:
            set_blank(default, None)
    elif kind == "boolean" and not column.nullable:
        set_blank(False, None)
    return convert


# --- cleaning and blanks -------------------------------------------------------------------


def _assemble(
    from_text: Converter,
    from_other: Converter,
    *,
    trim: bool,
    replacements: dict[str, Any],
) -> tuple[Converter, Callable[[Any, str | None], None]]:
    """The cell converter around a kind's two conversions, and a setter for the blank value.

    ``from_text`` gets non-blank text (trimmed when ``trim``), ``from_other`` every other
    non-blank value. The blank result lives in closure cells so that the default can be
    converted by the finished converter itself.
    """
    blank_value: Any = None
    blank_problem: str | None = None
    spaces = SPACES

    def set_blank(value: Any, problem: str | None) -> None:
        nonlocal blank_value, blank_problem
        blank_value, blank_problem = value, problem

    if not replacements:

        def convert(value: Any) -> Any:
            if type(value) is str:
                text = value.strip(spaces)
                if text:
                    return from_text(text if trim else value)
            elif value is not None:
                return from_other(value)
            if blank_problem is not None:
                raise ValueProblem(blank_problem)
            return blank_value

        return convert, set_blank

    table = {str(key).strip(spaces).casefold(): replaced for key, replaced in replacements.items()}

    def convert_replacing(value: Any) -> Any:
        kept = value
        if type(value) is str:
            text = value.strip(spaces)
            if text:
                kept = text if trim else value
                value = table.get(text.casefold(), _MISSING)
                if value is _MISSING:
                    return from_text(kept)
        elif type(value) is int or type(value) is float:
            value = table.get(_plain_number(value), _MISSING)
            if value is _MISSING:
                return from_other(kept)
        if type(value) is str:  # a replacement text: cleaned like a cell, blank when empty
            text = value.strip(spaces)
            if text:
                return from_text(text if trim else value)
        elif value is not None:
            return from_other(value)
        if blank_problem is not None:
            raise ValueProblem(blank_problem)
        return blank_value

    return convert_replacing, set_blank


def _refusing(message: str) -> tuple[Converter, Converter]:
    """Conversions for a column no import can write: every non-blank value is a problem."""

    def refuse(value: Any) -> Any:
        raise ValueProblem(message)

    return refuse, refuse


# --- shared helpers ------------------------------------------------------------------------


def _plain_number(value: int | float | Decimal) -> str:
    """A number as plain text: 123.0 -> '123', 12.5 -> '12.5', 1.5e-07 -> '0.00000015'."""
    if type(value) is int:
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        value = Decimal(format(value, _FLOAT_DIGITS))
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _show(value: Any) -> str:
    """A cell value quoted for a message, shortened when long."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        text = _plain_number(value)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = str(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"'{text}'"


def _what_it_is(value: Any) -> str:
    """Names the kind of a non-text cell for a message ('a date', 'a yes/no value')."""
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, dt.datetime):
        return "a date and time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dt.time):
        return "a time"
    if isinstance(value, dt.timedelta):
        return "a duration"
    if isinstance(value, int | float | Decimal):
        return "a number"
    return "a value of another kind"


def _choice_check(
    column: ColumnInfo, *, by_text: bool
) -> tuple[frozenset[Any], dict[str, Any], str] | None:
    """The allowed values of a column: exact set, case-insensitive map, and the message tail."""
    if not column.choices:
        return None
    allowed = frozenset(column.choices)
    folded = {str(choice).casefold(): choice for choice in column.choices} if by_text else {}
    listed = ", ".join(str(choice) for choice in column.choices)
    return allowed, folded, f"is not one of the allowed values: {listed}"


# --- text ----------------------------------------------------------------------------------


def _text_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Text columns: numbers become their plain text, codes may be zero-padded, length and
    allowed values are checked."""
    change_case = _CASES.get(spec.case) if spec.case else None
    pad = spec.zero_pad or 0
    limit = column.length or 0
    choices = _choice_check(column, by_text=True)

    if change_case is None and not pad and choices is None:
        if not limit:

            def finish(text: str) -> str:
                return text

        else:

            def finish(text: str) -> str:
                if len(text) > limit:
                    raise ValueProblem(_too_long(text, limit))
                return text

    else:

        def finish(text: str) -> str:
            if change_case is not None:
                text = change_case(text)
            if pad and len(text) < pad and text.isdigit() and text.isascii():
                text = text.zfill(pad)
            if choices is not None and text not in choices[0]:
                found = choices[1].get(text.casefold(), _MISSING)
                if found is _MISSING:
                    raise ValueProblem(f"{_show(text)} {choices[2]}")
                text = str(found)
            if limit and len(text) > limit:
                raise ValueProblem(_too_long(text, limit))
            return text

    def from_other(value: Any) -> str:
        kind = type(value)
        if kind is int or kind is float or kind is Decimal:
            if kind is float and not math.isfinite(value):
                raise ValueProblem(f"{_show(value)} is not a number that can be stored")
            return finish(_plain_number(value))
        if kind is bool:
            raise ValueProblem(
                f"{_show(value)} is a yes/no value; expected text (write the text in the cell)"
            )
        if kind is dt.datetime:
            if value.time() == dt.time():
                return finish(value.date().isoformat())
            return finish(value.isoformat(sep=" "))
        if isinstance(value, dt.date | dt.time):
            return finish(value.isoformat())
        return finish(str(value))

    return finish, from_other


def _too_long(text: str, limit: int) -> str:
    return f"{_show(text)} is {len(text)} characters long; at most {limit} fit"


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


def _number_text_parser(decimal_comma: bool) -> Callable[[str], Decimal | None]:
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


def _float_to_decimal(value: float) -> Decimal:
    """A float from a workbook as the decimal the user sees (15 significant digits)."""
    if value.is_integer() and abs(value) < 1e15:
        return Decimal(int(value))
    return Decimal(format(value, _FLOAT_DIGITS))


def _not_a_number(value: Any, what: str) -> ValueProblem:
    """The problem of a value that is not the number a column takes."""
    if isinstance(value, str) or (isinstance(value, float) and not math.isfinite(value)):
        return ValueProblem(f"{_show(value)} is not {what}")
    return ValueProblem(f"{_show(value)} is {_what_it_is(value)}; expected {what}")


def _integer_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Integer columns: whole numbers only, within the column's precision."""
    parse_text = _number_text_parser(spec.decimal_comma)
    digits = column.length or 0
    limit = 10 ** (digits or _MAX_INTEGER_DIGITS)
    choices = _choice_check(column, by_text=False)
    what = "a whole number"

    def check(number: int, value: Any) -> int:
        if not -limit < number < limit:
            if not digits:
                raise ValueProblem(f"{_show(value)} is too large for a whole-number column")
            raise ValueProblem(
                f"{_show(value)} has {len(str(abs(number)))} digits; at most {digits} fit"
            )
        if choices is not None and number not in choices[0]:
            raise ValueProblem(f"{_show(value)} {choices[2]}")
        return number

    def from_decimal(number: Decimal | None, value: Any) -> int:
        if number is None or not number.is_finite():
            raise _not_a_number(value, what)
        if number != number.to_integral_value(context=_WIDE):
            raise ValueProblem(f"{_show(value)} is not a whole number")
        if number and number.adjusted() >= _MAX_INTEGER_DIGITS:
            raise ValueProblem(f"{_show(value)} is too large for a whole-number column")
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
                return from_decimal(_float_to_decimal(value), value)
        elif kind is Decimal:
            return from_decimal(value, value)
        raise _not_a_number(value, what)

    return from_text, from_other


def _decimal_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Decimal and unconstrained number columns: exact Decimals within precision and scale.

    With a known scale the result is quantized to it (1234.5 -> 1234.50 in NUMBER(10,2)), as
    the column type gives it back on reading; more decimals than the scale are a problem,
    never rounded away.
    """
    parse_text = _number_text_parser(spec.decimal_comma)
    scale = column.scale if column.scale is not None and column.scale >= 0 else None
    whole_digits = column.length - (scale or 0) if column.length else None
    step = Decimal(1).scaleb(-scale) if scale is not None else None
    factor = 10.0**scale if scale is not None else 0.0
    shift = -scale if scale is not None else 0
    choices = _choice_check(column, by_text=False)
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
                    raise ValueProblem(f"{_show(value)} is too large a number") from None
            if fitted != number:
                exponent = number.normalize(context=_WIDE).as_tuple().exponent
                decimals = -exponent if isinstance(exponent, int) else 0
                raise ValueProblem(f"{_show(value)} has {decimals} decimals; at most {scale}")
            number = fitted
        return check(number, value)

    def check(number: Decimal, value: Any) -> Decimal:
        if whole_digits is not None and number:
            digits = number.adjusted() + 1
            if digits > whole_digits:
                raise ValueProblem(
                    f"{_show(value)} has {digits} digits before the decimal point;"
                    f" at most {whole_digits} fit"
                )
        if choices is not None and number not in choices[0]:
            raise ValueProblem(f"{_show(value)} {choices[2]}")
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
                return fit(_float_to_decimal(value), value)
        elif kind is int:
            return fit(Decimal(value), value)
        elif kind is Decimal:
            return fit(value, value)
        raise _not_a_number(value, what)

    return from_text, from_other


def _float_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Floating-point columns: any finite number."""
    parse_text = _number_text_parser(spec.decimal_comma)
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


# --- dates and times -----------------------------------------------------------------------

_FAST_DIRECTIVES = {"%d": r"(\d{1,2})", "%m": r"(\d{1,2})", "%Y": r"(\d{4})", "%y": r"(\d{2})"}
_TIME_SUFFIX = r"(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?(?:\s*([AaPp][Mm]))?)?"
_TIME_TEXT = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?(?:\s*([AaPp][Mm]))?")
_SERIAL_TEXT = re.compile(r"\d{1,8}(?:\.\d+)?")
_DIRECTIVE = re.compile(r"%.")
_DATE_CACHE_SIZE = 20_000  # distinct date texts remembered per column

# A fast date format: its pattern (date plus optional time) and the group of year, month,
# day; ``short_year`` for %y.
_FastFormat = tuple[Callable[[str], "re.Match[str] | None"], int, int, int, bool]


def _fast_format(fmt: str) -> _FastFormat | None:
    """A regular expression for a date format made only of %d, %m, %Y/%y and literal
    characters; None for any other format (strptime handles those)."""
    pieces: list[str] = []
    order: list[str] = []
    position = 0
    for match in _DIRECTIVE.finditer(fmt):
        directive = match.group()
        if directive not in _FAST_DIRECTIVES:
            return None
        pieces.append(_literal(fmt[position : match.start()]))
        pieces.append(_FAST_DIRECTIVES[directive])
        order.append(directive[1].lower())
        position = match.end()
    pieces.append(_literal(fmt[position:]))
    if sorted(order) != ["d", "m", "y"]:
        return None
    pattern = re.compile("".join(pieces) + _TIME_SUFFIX, re.IGNORECASE)
    return (
        pattern.fullmatch,
        order.index("y"),
        order.index("m"),
        order.index("d"),
        "%y" in fmt,
    )


def _literal(text: str) -> str:
    """Literal format text as a pattern: a space matches any run of whitespace, as strptime."""
    return r"\s+".join(re.escape(part) for part in text.split(" "))


def _clock(
    hour: str | None, minute: str | None, second: str | None, fraction: str | None, half: str | None
) -> tuple[int, int, int, int]:
    """Hour, minute, second and microsecond from the groups of a time text; ValueError when
    out of range."""
    if hour is None:
        return 0, 0, 0, 0
    hours = int(hour)
    if half is not None:
        if not 1 <= hours <= 12:
            raise ValueError(hour)
        hours = hours % 12 + (12 if half.lower() == "pm" else 0)
    micro = int(fraction.ljust(6, "0")) if fraction else 0
    return hours, int(minute or 0), int(second or 0), micro


def _date_text_parser(
    formats: tuple[str, ...], *, with_time: bool
) -> Callable[[str], dt.date | None]:
    """A parser trying each date format in order (each also followed by a time), then ISO;
    gives a date, or a datetime when ``with_time``; None when nothing fits."""
    attempts: list[tuple[_FastFormat | None, str]] = []
    for fmt in (*formats, ISO_DATE_FORMAT):
        if any(fmt == known for _, known in attempts):
            continue
        attempts.append((_fast_format(fmt), fmt))
    frozen = tuple(attempts)
    strptime = dt.datetime.strptime
    date, datetime = dt.date, dt.datetime
    from_iso = dt.datetime.fromisoformat if with_time else dt.date.fromisoformat

    def parse(text: str) -> dt.date | None:
        for fast, fmt in frozen:
            if fmt == ISO_DATE_FORMAT and text[4:5] == "-" and (with_time or len(text) == 10):
                # The C parser first (fast); the pattern below takes what it refuses.
                try:
                    found = from_iso(text)
                except ValueError:
                    pass
                else:
                    if getattr(found, "tzinfo", None) is None:  # naive only
                        return found
            if fast is not None:
                match_, year_at, month_at, day_at, short_year = fast
                match = match_(text)
                if match is None:
                    continue
                groups = match.groups()
                year = int(groups[year_at])
                if short_year:
                    year += 2000 if year < 69 else 1900
                try:
                    if not with_time:
                        return date(year, int(groups[month_at]), int(groups[day_at]))
                    if groups[3] is None:
                        return datetime(year, int(groups[month_at]), int(groups[day_at]))
                    return datetime(
                        year, int(groups[month_at]), int(groups[day_at]), *_clock(*groups[3:])
                    )
                except ValueError:
                    continue
            for suffix in ("", " %H:%M", " %H:%M:%S"):
                try:
                    found = strptime(text, fmt + suffix)
                except ValueError:
                    continue
                return found if with_time else found.date()
        return None

    return parse


def _serial_to_datetime(serial: float, epoch_1904: bool) -> dt.datetime | None:
    """An Excel serial date (days, with the time as the fraction) as a datetime; None when out
    of range or on Excel's non-existent 1900-02-29 (serial 60)."""
    if epoch_1904:
        if not 0 <= serial < _MAX_SERIAL_1904 + 1:
            return None
        base = _EXCEL_1904_BASE
    else:
        if not 1 <= serial < _MAX_SERIAL_1900 + 1:
            return None
        if serial < _EXCEL_1900_LEAP_SERIAL:
            base = _EXCEL_1900_EARLY_BASE
        elif serial < _EXCEL_1900_LEAP_SERIAL + 1:
            return None
        else:
            base = _EXCEL_1900_BASE
    days = int(serial)
    milliseconds = round((serial - days) * _DAY_MILLISECONDS)
    start = dt.datetime(base.year, base.month, base.day)
    try:
        return start + dt.timedelta(days=days, milliseconds=milliseconds)
    except OverflowError:  # the last moment of 9999-12-31 rounded up
        return None


def _compact_date(number: float) -> dt.datetime | None:
    """A number written as yyyymmdd (20130617), a common legacy way of keeping dates; None
    when it is not one."""
    if not 10_000_101 <= number <= 99_991_231 or number != int(number):
        return None
    year, rest = divmod(int(number), 10_000)
    try:
        return dt.datetime(year, *divmod(rest, 100))
    except ValueError:
        return None


def _bad_serial(value: Any, number: float, epoch_1904: bool, expected: str) -> str:
    """Why a number is not a date."""
    if number == _EXCEL_1900_LEAP_SERIAL and not epoch_1904:
        return f"{_show(value)} is Excel's 29 February 1900, a day that never was; {expected}"
    return f"{_show(value)} is out of range for an Excel date number; {expected}"


def _date_examples(formats: tuple[str, ...], *, with_time: bool) -> str:
    """'17.06.2013 or 2013-06-17': the first configured format and ISO, as examples."""
    shown: list[str] = []
    for fmt in (*formats[:1], ISO_DATE_FORMAT, *formats[1:2]):
        example = EXAMPLE_DATETIME.strftime(fmt + (" %H:%M" if with_time else ""))
        if example not in shown:
            shown.append(example)
    return " or ".join(shown[:2])


def _date_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Date columns (no time): date cells, Excel serial numbers and dates written as text."""
    return _moment_builder(spec, epoch_1904, with_time=False)


def _datetime_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Date-and-time columns: dates become midnight, serial fractions become the time."""
    return _moment_builder(spec, epoch_1904, with_time=True)


def _moment_builder(spec: ImportColumn, epoch_1904: bool, *, with_time: bool) -> tuple[Any, Any]:
    """The date and datetime conversions, which differ only in what they keep."""
    parse = _date_text_parser(spec.date_formats, with_time=with_time)
    number_text = _SERIAL_TEXT.fullmatch
    cache: dict[str, dt.date] = {}  # dates repeat a lot in a sheet; parsing is the cost
    cached = cache.get
    what = "a date and time" if with_time else "a date"
    expected = f"expected {what} like {_date_examples(spec.date_formats, with_time=with_time)}"
    date_type, datetime_type = dt.date, dt.datetime

    def from_number(number: float, value: Any) -> dt.date:
        moment = _serial_to_datetime(number, epoch_1904)
        if moment is None:
            moment = _compact_date(number)
            if moment is None:
                raise ValueProblem(_bad_serial(value, number, epoch_1904, expected))
        return moment if with_time else moment.date()

    def from_text(text: str) -> dt.date:
        found = cached(text)
        if found is not None:
            return found
        found = parse(text)
        if found is not None:
            if len(cache) >= _DATE_CACHE_SIZE:
                cache.clear()
            cache[text] = found
            return found
        if number_text(text):
            return from_number(float(text), text)
        raise ValueProblem(f"{_show(text)} is not {what}; {expected}")

    def from_other(value: Any) -> dt.date:
        kind = type(value)
        if kind is datetime_type:
            return value if with_time else value.date()
        if kind is date_type:
            return datetime_type(value.year, value.month, value.day) if with_time else value
        if kind is int or kind is float:
            return from_number(value, value)
        if isinstance(value, dt.datetime):  # subclasses (pandas, arrow) of datetime
            moment = datetime_type(*value.timetuple()[:6], value.microsecond, value.tzinfo)
            return moment if with_time else moment.date()
        if isinstance(value, dt.date):
            return from_other(date_type(value.year, value.month, value.day))
        raise ValueProblem(f"{_show(value)} is {_what_it_is(value)}; {expected}")

    return from_text, from_other


def _time_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Time-of-day columns: time cells, fractions of a day, 'HH:MM[:SS]' texts."""
    match_time = _TIME_TEXT.fullmatch
    expected = "expected a time like 14:30 or 14:30:15"

    def from_text(text: str) -> dt.time:
        match = match_time(text)
        if match is not None:
            try:
                return dt.time(*_clock(*match.groups()))
            except ValueError:
                pass
        raise ValueProblem(f"{_show(text)} is not a time; {expected}")

    def from_other(value: Any) -> dt.time:
        kind = type(value)
        if kind is dt.time:
            return value
        if kind is dt.datetime:
            return value.time()
        if (kind is int or kind is float) and 0 <= value < 1:
            milliseconds = round(value * _DAY_MILLISECONDS)
            if milliseconds < _DAY_MILLISECONDS:
                return (dt.datetime.min + dt.timedelta(milliseconds=milliseconds)).time()
        if kind is dt.timedelta and dt.timedelta(0) <= value < dt.timedelta(days=1):
            return (dt.datetime.min + value).time()
        raise ValueProblem(f"{_show(value)} is {_what_it_is(value)}, not a time of day; {expected}")

    return from_text, from_other


# --- booleans, GUIDs, intervals ------------------------------------------------------------


def _boolean_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Yes/no columns (real booleans and legacy Y/N or 0/1 flags): True or False."""
    answers: dict[str, bool] = {}
    for text in spec.false_values:
        answers[text.strip(SPACES).casefold()] = False
    for text in spec.true_values:
        answers[text.strip(SPACES).casefold()] = True
    hint = f"(use {_flag_examples(spec)} or leave blank)"

    def from_text(text: str) -> bool:
        found = answers.get(text.casefold())
        if found is None:
            raise ValueProblem(f"{_show(text)} is not yes or no {hint}")
        return found

    def from_other(value: Any) -> bool:
        kind = type(value)
        if kind is bool:
            return value
        if kind is int or kind is float or kind is Decimal:
            if value == 1:
                return True
            if value == 0:
                return False
        raise ValueProblem(f"{_show(value)} is not yes or no {hint}")

    return from_text, from_other


def _flag_examples(spec: ImportColumn) -> str:
    """'Y, N, x': the first yes and no texts, plus another one-character yes if there is one."""
    shown: list[str] = []
    for texts in (spec.true_values, spec.false_values):
        if texts:
            first = texts[0]
            shown.append(first.upper() if len(first) == 1 else first)
    extra = [t for t in spec.true_values[1:] if len(t) == 1 and not t.isdigit()]
    shown.extend(extra[:1])
    return ", ".join(shown)


def _guid_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """GUID columns: the text form of a UUID (with or without dashes and braces)."""
    expected = f"expected 32 hexadecimal digits like {EXAMPLE_GUID}"

    def from_text(text: str) -> uuid.UUID:
        try:
            return uuid.UUID(text)
        except ValueError:
            raise ValueProblem(f"{_show(text)} is not a GUID; {expected}") from None

    def from_other(value: Any) -> uuid.UUID:
        if isinstance(value, uuid.UUID):
            return value
        raise ValueProblem(f"{_show(value)} is {_what_it_is(value)}, not a GUID; {expected}")

    return from_text, from_other


_INTERVAL_TEXT = re.compile(
    r"(?:([+-]?\d+)\s*days?,?\s*)?(?:(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d{1,6})?))?)?",
    re.IGNORECASE,
)


def _interval_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Interval columns: durations, numbers of days, '3 days, 04:30:00' or '04:30' texts."""
    parse_number = _number_text_parser(spec.decimal_comma)
    expected = "expected a duration like '2 days, 04:30:00', '04:30' or a number of days"

    def from_text(text: str) -> dt.timedelta:
        match = _INTERVAL_TEXT.fullmatch(text)
        if match is not None and (match.group(1) or match.group(2)):
            days, hours, minutes, seconds = match.groups()
            return dt.timedelta(
                days=int(days or 0),
                hours=int(hours or 0),
                minutes=int(minutes or 0),
                seconds=float(seconds or 0),
            )
        number = parse_number(text)
        if number is not None and number.is_finite():
            return from_other(float(number))
        raise ValueProblem(f"{_show(text)} is not a duration; {expected}")

    def from_other(value: Any) -> dt.timedelta:
        kind = type(value)
        if kind is dt.timedelta:
            return value
        if (kind is int or kind is float or kind is Decimal) and math.isfinite(value):
            try:
                return dt.timedelta(milliseconds=round(float(value) * _DAY_MILLISECONDS))
            except OverflowError:
                pass
        elif kind is dt.time:
            return dt.timedelta(
                hours=value.hour,
                minutes=value.minute,
                seconds=value.second,
                microseconds=value.microsecond,
            )
        raise ValueProblem(f"{_show(value)} is {_what_it_is(value)}, not a duration; {expected}")

    return from_text, from_other


_Builder = Callable[[ColumnInfo, ImportColumn, bool], tuple[Any, Any]]
_BUILDERS: dict[str, _Builder] = {
    "text": _text_builder,
    "long_text": _text_builder,
    "integer": _integer_builder,
    "decimal": _decimal_builder,
    "number": _decimal_builder,
    "float": _float_builder,
    "date": _date_builder,
    "datetime": _datetime_builder,
    "time": _time_builder,
    "boolean": _boolean_builder,
    "guid": _guid_builder,
    "interval": _interval_builder,
}
