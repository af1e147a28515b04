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
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from datadesk.config.schema import ImportColumn
from datadesk.importers.cells import (
    SPACES,
    ValueProblem,
    choice_check,
    plain_number,
    show,
    what_it_is,
)
from datadesk.importers.dates import (
    DAY_MILLISECONDS,
    date_builder,
    datetime_builder,
    time_builder,
)
from datadesk.importers.numbers import (
    decimal_builder,
    float_builder,
    integer_builder,
    number_text_parser,
)
from datadesk.models.catalog import ColumnInfo

Converter = Callable[[Any], Any]


EXAMPLE_GUID = "123e4567-e89b-12d3-a456-426614174000"

_EXCEL_1900_BASE = dt.date(1899, 12, 30)  # serial 61 and up: base + serial days
_EXCEL_1904_BASE = dt.date(1904, 1, 1)

_CASES: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
}
_MISSING = object()


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
            value = table.get(plain_number(value), _MISSING)
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


# --- text ----------------------------------------------------------------------------------


def _text_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Text columns: numbers become their plain text, codes may be zero-padded, length and
    allowed values are checked."""
    change_case = _CASES.get(spec.case) if spec.case else None
    pad = spec.zero_pad or 0
    limit = column.length or 0
    choices = choice_check(column, by_text=True)

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
                    raise ValueProblem(f"{show(text)} {choices[2]}")
                text = str(found)
            if limit and len(text) > limit:
                raise ValueProblem(_too_long(text, limit))
            return text

    def from_other(value: Any) -> str:
        kind = type(value)
        if kind is int or kind is float or kind is Decimal:
            if kind is float and not math.isfinite(value):
                raise ValueProblem(f"{show(value)} is not a number that can be stored")
            return finish(plain_number(value))
        if kind is bool:
            raise ValueProblem(
                f"{show(value)} is a yes/no value; expected text (write the text in the cell)"
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
    return f"{show(text)} is {len(text)} characters long; at most {limit} fit"


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
            raise ValueProblem(f"{show(text)} is not yes or no {hint}")
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
        raise ValueProblem(f"{show(value)} is not yes or no {hint}")

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
            raise ValueProblem(f"{show(text)} is not a GUID; {expected}") from None

    def from_other(value: Any) -> uuid.UUID:
        if isinstance(value, uuid.UUID):
            return value
        raise ValueProblem(f"{show(value)} is {what_it_is(value)}, not a GUID; {expected}")

    return from_text, from_other


_INTERVAL_TEXT = re.compile(
    r"(?:([+-]?\d+)\s*days?,?\s*)?(?:(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d{1,6})?))?)?",
    re.IGNORECASE,
)


def _interval_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Interval columns: durations, numbers of days, '3 days, 04:30:00' or '04:30' texts."""
    parse_number = number_text_parser(spec.decimal_comma)
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
        raise ValueProblem(f"{show(text)} is not a duration; {expected}")

    def from_other(value: Any) -> dt.timedelta:
        kind = type(value)
        if kind is dt.timedelta:
            return value
        if (kind is int or kind is float or kind is Decimal) and math.isfinite(value):
            try:
                return dt.timedelta(milliseconds=round(float(value) * DAY_MILLISECONDS))
            except OverflowError:
                pass
        elif kind is dt.time:
            return dt.timedelta(
                hours=value.hour,
                minutes=value.minute,
                seconds=value.second,
                microseconds=value.microsecond,
            )
        raise ValueProblem(f"{show(value)} is {what_it_is(value)}, not a duration; {expected}")

    return from_text, from_other


_Builder = Callable[[ColumnInfo, ImportColumn, bool], tuple[Any, Any]]
_BUILDERS: dict[str, _Builder] = {
    "text": _text_builder,
    "long_text": _text_builder,
    "integer": integer_builder,
    "decimal": decimal_builder,
    "number": decimal_builder,
    "float": float_builder,
    "date": date_builder,
    "datetime": datetime_builder,
    "time": time_builder,
    "boolean": _boolean_builder,
    "guid": _guid_builder,
    "interval": _interval_builder,
}
