"""Problems with one cell value, and how cell values are named in messages."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from datadesk.models.catalog import ColumnInfo

# Whitespace stripped around text: every Unicode space (non-breaking ones included) plus the
# zero-width characters that copy-and-paste from web pages and Word leaves behind.
SPACES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\u200c\u200d\ufeff"
FLOAT_DIGITS = ".15g"  # Excel keeps 15 significant digits; more is binary noise


class ValueProblem(Exception):
    """A cell value that cannot be written to its column.

    ``message`` is one line for the user: what is wrong with the value and what is expected.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def plain_number(value: int | float | Decimal) -> str:
    """A number as plain text: 123.0 -> '123', 12.5 -> '12.5', 1.5e-07 -> '0.00000015'."""
    if type(value) is int:
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        value = Decimal(format(value, FLOAT_DIGITS))
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def show(value: Any) -> str:
    """A cell value quoted for a message, shortened when long."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        text = plain_number(value)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = str(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"'{text}'"


def what_it_is(value: Any) -> str:
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


def choice_check(
    column: ColumnInfo, *, by_text: bool
) -> tuple[frozenset[Any], dict[str, Any], str] | None:
    """The allowed values of a column: exact set, case-insensitive map, and the message tail."""
    if not column.choices:
        return None
    allowed = frozenset(column.choices)
    folded = {str(choice).casefold(): choice for choice in column.choices} if by_text else {}
    listed = ", ".join(str(choice) for choice in column.choices)
    return allowed, folded, f"is not one of the allowed values: {listed}"
