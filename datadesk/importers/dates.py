"""Dates, date-times and times from cells: real dates, Excel serial numbers (1900 and 1904
systems) and text in configured formats, parsed fast for the formats legacy sheets use."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from datadesk.config.schema import ImportColumn
from datadesk.importers.cells import ValueProblem, show, what_it_is
from datadesk.models.catalog import ColumnInfo

EXAMPLE_DATETIME = dt.datetime(2013, 6, 17, 14, 30)
ISO_DATE_FORMAT = "%Y-%m-%d"
DAY_SECONDS = 86_400
DAY_MILLISECONDS = 86_400_000
_EXCEL_1900_BASE = dt.date(1899, 12, 30)  # serial 61 and up: base + serial days
_EXCEL_1900_EARLY_BASE = dt.date(1899, 12, 31)  # serials 1..59 (before the fake 29 Feb 1900)
_EXCEL_1900_LEAP_SERIAL = 60  # Excel's 1900-02-29, a day that never was
_EXCEL_1904_BASE = dt.date(1904, 1, 1)
_MAX_SERIAL_1900 = (dt.date(9999, 12, 31) - _EXCEL_1900_BASE).days  # 2958465
_MAX_SERIAL_1904 = (dt.date(9999, 12, 31) - _EXCEL_1904_BASE).days

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
    milliseconds = round((serial - days) * DAY_MILLISECONDS)
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
        return f"{show(value)} is Excel's 29 February 1900, a day that never was; {expected}"
    return f"{show(value)} is out of range for an Excel date number; {expected}"


def _date_examples(formats: tuple[str, ...], *, with_time: bool) -> str:
    """'17.06.2013 or 2013-06-17': the first configured format and ISO, as examples."""
    shown: list[str] = []
    for fmt in (*formats[:1], ISO_DATE_FORMAT, *formats[1:2]):
        example = EXAMPLE_DATETIME.strftime(fmt + (" %H:%M" if with_time else ""))
        if example not in shown:
            shown.append(example)
    return " or ".join(shown[:2])


def date_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
    """Date columns (no time): date cells, Excel serial numbers and dates written as text."""
    return _moment_builder(spec, epoch_1904, with_time=False)


def datetime_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
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
        raise ValueProblem(f"{show(text)} is not {what}; {expected}")

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
        raise ValueProblem(f"{show(value)} is {what_it_is(value)}; {expected}")

    return from_text, from_other


def time_builder(column: ColumnInfo, spec: ImportColumn, epoch_1904: bool) -> tuple[Any, Any]:
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
        raise ValueProblem(f"{show(text)} is not a time; {expected}")

    def from_other(value: Any) -> dt.time:
        kind = type(value)
        if kind is dt.time:
            return value
        if kind is dt.datetime:
            return value.time()
        if (kind is int or kind is float) and 0 <= value < 1:
            milliseconds = round(value * DAY_MILLISECONDS)
            if milliseconds < DAY_MILLISECONDS:
                return (dt.datetime.min + dt.timedelta(milliseconds=milliseconds)).time()
        if kind is dt.timedelta and dt.timedelta(0) <= value < dt.timedelta(days=1):
            return (dt.datetime.min + value).time()
        raise ValueProblem(f"{show(value)} is {what_it_is(value)}, not a time of day; {expected}")

    return from_text, from_other
