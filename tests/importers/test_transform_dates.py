"""Dates, date-times and times from cells: formats, Excel serials, problems."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from datadesk.importers.transforms import ValueProblem, make_converter
from tests.importers.conversion import DMY_FIRST, column, convert, problem, spec

# --- dates and times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("17.06.2013", dt.date(2013, 6, 17)),
        ("7.6.2013", dt.date(2013, 6, 7)),
        ("21/09/2015", dt.date(2015, 9, 21)),
        ("21-09-2015", dt.date(2015, 9, 21)),
        ("21/09/15", dt.date(2015, 9, 21)),
        ("21.09.75", dt.date(1975, 9, 21)),
        ("2013-06-17", dt.date(2013, 6, 17)),
        ("2013-6-7", dt.date(2013, 6, 7)),
        ("2013-06-17 14:30", dt.date(2013, 6, 17)),
        ("2013-06-17T14:30:15", dt.date(2013, 6, 17)),
        ("17.06.2013 00:00", dt.date(2013, 6, 17)),
        ("41442", dt.date(2013, 6, 17)),
        (41442, dt.date(2013, 6, 17)),
        (41442.75, dt.date(2013, 6, 17)),
        (20130617, dt.date(2013, 6, 17)),  # yyyymmdd kept as a number
        ("20130617", dt.date(2013, 6, 17)),
        (dt.date(2013, 6, 17), dt.date(2013, 6, 17)),
        (dt.datetime(2013, 6, 17, 14, 30), dt.date(2013, 6, 17)),
    ],
)
def test_date(value: Any, expected: dt.date) -> None:
    result = convert("date", value)
    assert result == expected
    assert type(result) is dt.date


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, dt.date(1900, 1, 1)),
        (59, dt.date(1900, 2, 28)),
        (61, dt.date(1900, 3, 1)),  # Excel counts a 29 February 1900 as serial 60
        (41442, dt.date(2013, 6, 17)),
        (2958465, dt.date(9999, 12, 31)),
    ],
)
def test_excel_serial_dates_1900(serial: int, expected: dt.date) -> None:
    assert convert("date", serial) == expected
    assert convert("date", float(serial)) == expected


def test_excel_leap_year_bug_and_range() -> None:
    assert problem("date", 60, date_formats=DMY_FIRST) == (
        "'60' is Excel's 29 February 1900, a day that never was;"
        " expected a date like 17.06.2013 or 2013-06-17"
    )
    assert problem("date", 0, date_formats=DMY_FIRST) == (
        "'0' is out of range for an Excel date number; expected a date like 17.06.2013"
        " or 2013-06-17"
    )
    assert "out of range" in problem("date", 2958466)
    assert "out of range" in problem("date", -5)


def test_excel_serial_dates_1904() -> None:
    assert convert("date", 0, epoch_1904=True) == dt.date(1904, 1, 1)
    assert convert("date", 41442, epoch_1904=True) == dt.date(2017, 6, 18)
    assert convert("date", 41442 - 1462, epoch_1904=True) == dt.date(2013, 6, 17)
    assert convert("date", 60, epoch_1904=True) == dt.date(1904, 3, 1)  # no leap bug
    assert convert("datetime", 0.5, epoch_1904=True) == dt.datetime(1904, 1, 1, 12)


def test_date_formats_are_tried_in_order() -> None:
    us_first = ["%m/%d/%Y", "%d/%m/%Y"]
    assert convert("date", "06/07/2013", date_formats=us_first) == dt.date(2013, 6, 7)
    assert convert("date", "17/06/2013", date_formats=us_first) == dt.date(2013, 6, 17)
    assert convert("date", "06/07/2013") == dt.date(2013, 7, 6)  # defaults: day first


def test_date_formats_beyond_day_month_year_use_strptime() -> None:
    assert convert("date", "17 Jun 2013", date_formats=["%d %b %Y"]) == dt.date(2013, 6, 17)
    assert convert("date", "17 June 2013", date_formats=["%d %B %Y"]) == dt.date(2013, 6, 17)
    assert convert("datetime", "17 Jun 2013 14:30", date_formats=["%d %b %Y"]) == dt.datetime(
        2013, 6, 17, 14, 30
    )


def test_date_problems_name_the_configured_format() -> None:
    assert problem("date", "31.02.2013", date_formats=DMY_FIRST) == (
        "'31.02.2013' is not a date; expected a date like 17.06.2013 or 2013-06-17"
    )
    assert problem("date", "31.02.2013") == (
        "'31.02.2013' is not a date; expected a date like 2013-06-17 or 17.06.2013"
    )
    assert problem("date", "soon", date_formats=["%d/%m/%Y"]) == (
        "'soon' is not a date; expected a date like 17/06/2013 or 2013-06-17"
    )
    assert problem("date", True) == (
        "TRUE is a yes/no value; expected a date like 2013-06-17 or 17.06.2013"
    )
    assert problem("date", dt.time(14, 30)).startswith("'14:30:00' is a time; expected a date")


def test_parsed_dates_are_remembered_without_changing_results() -> None:
    converter = make_converter(column("date"), spec(date_formats=DMY_FIRST))
    for _ in range(3):
        assert converter("17.06.2013") == dt.date(2013, 6, 17)
        with pytest.raises(ValueProblem):
            converter("31.02.2013")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("17.06.2013 14:30", dt.datetime(2013, 6, 17, 14, 30)),
        ("17.06.2013 14:30:15", dt.datetime(2013, 6, 17, 14, 30, 15)),
        ("17/06/2013 2:30 PM", dt.datetime(2013, 6, 17, 14, 30)),
        ("17/06/2013 12:05 am", dt.datetime(2013, 6, 17, 0, 5)),
        ("17.06.2013", dt.datetime(2013, 6, 17)),
        ("2013-06-17T14:30:15", dt.datetime(2013, 6, 17, 14, 30, 15)),
        ("2013-06-17 14:30:15.250", dt.datetime(2013, 6, 17, 14, 30, 15, 250000)),
        (41442.6041666667, dt.datetime(2013, 6, 17, 14, 30)),
        (41442.5, dt.datetime(2013, 6, 17, 12)),
        ("41442.5", dt.datetime(2013, 6, 17, 12)),
        (dt.date(2013, 6, 17), dt.datetime(2013, 6, 17)),
        (dt.datetime(2013, 6, 17, 9, 5), dt.datetime(2013, 6, 17, 9, 5)),
    ],
)
def test_datetime(value: Any, expected: dt.datetime) -> None:
    result = convert("datetime", value)
    assert result == expected
    assert type(result) is dt.datetime


def test_datetime_problems() -> None:
    assert problem("datetime", "17.06.2013 25:00", date_formats=DMY_FIRST) == (
        "'17.06.2013 25:00' is not a date and time;"
        " expected a date and time like 17.06.2013 14:30 or 2013-06-17 14:30"
    )
    assert "is not a date and time" in problem("datetime", "2013-06-17T14:30:00+02:00")
    assert "is a time;" in problem("datetime", dt.time(14, 30))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, dt.time(12)),
        (0, dt.time(0)),
        (0.6041666666666666, dt.time(14, 30)),
        ("14:30", dt.time(14, 30)),
        ("9:05:07", dt.time(9, 5, 7)),
        ("2:30 pm", dt.time(14, 30)),
        (dt.time(1, 2), dt.time(1, 2)),
        (dt.datetime(1899, 12, 30, 8, 15), dt.time(8, 15)),
        (dt.timedelta(hours=3), dt.time(3)),
    ],
)
def test_time(value: Any, expected: dt.time) -> None:
    assert convert("time", value) == expected


def test_time_problems() -> None:
    assert problem("time", "25:00") == (
        "'25:00' is not a time; expected a time like 14:30 or 14:30:15"
    )
    assert problem("time", 1.5) == (
        "'1.5' is a number, not a time of day; expected a time like 14:30 or 14:30:15"
    )
