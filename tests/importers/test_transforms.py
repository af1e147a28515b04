"""Cell conversions of the import: one raw spreadsheet value -> the value a column takes."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from datadesk.importers.transforms import ValueProblem, make_converter
from datadesk.models.catalog import ColumnKind
from tests.importers.conversion import column, convert, problem, spec

# --- cleaning: trim, replacements, case, blanks, defaults ----------------------------------


def test_trim_strips_non_breaking_and_zero_width_spaces() -> None:
    assert convert("text", "\xa0abc  ") == "abc"
    assert convert("text", "\u200b\ufeffabc\u202f") == "abc"
    assert convert("text", "\tab c\n") == "ab c"


def test_without_trim_text_keeps_its_spaces_but_blank_stays_blank() -> None:
    assert convert("text", " abc ", trim=False) == " abc "
    assert convert("text", " \xa0 ", trim=False) is None
    assert convert("integer", " 12 ", trim=False) == 12  # numbers never keep spaces


@pytest.mark.parametrize("kind", ["text", "integer", "decimal", "date", "datetime", "guid"])
@pytest.mark.parametrize("blank", [None, "", "   ", "\xa0"])
def test_blank_cells_are_none(kind: ColumnKind, blank: Any) -> None:
    assert convert(kind, blank) is None
    assert convert(kind, blank, nullable=False) is None  # NOT NULL is the caller's check


def test_values_map_ignores_case_and_surrounding_spaces() -> None:
    values = {"Dr.": "DR", "Prof.": "PROF", "n/a": ""}
    assert convert("text", " dr. ", values=values) == "DR"
    assert convert("text", "PROF.", values=values) == "PROF"
    assert convert("text", "Mr", values=values) == "Mr"
    assert convert("text", "N/A", values=values) is None  # replaced by nothing: blank
    assert convert("text", "N/A", values=values, default="?") == "?"


def test_values_map_applies_to_numbers_and_before_conversion() -> None:
    assert convert("text", 1.0, values={"1": "ONE"}) == "ONE"
    assert convert("text", 2, values={"1": "ONE"}) == "2"
    assert convert("boolean", "Oui!", values={"oui!": True}) is True
    assert convert("integer", "none", values={"none": 0}) == 0
    assert convert("date", "unknown", values={"Unknown": ""}) is None


@pytest.mark.parametrize(
    ("case", "expected"), [("upper", "MCDONALD"), ("lower", "mcdonald"), ("title", "Mcdonald")]
)
def test_case(case: str, expected: str) -> None:
    assert convert("text", "McDonald", case=case) == expected


def test_case_applies_to_replacements_and_numbers_as_text() -> None:
    assert convert("text", "dr.", values={"dr.": "Dr"}, case="upper") == "DR"
    assert convert("text", 12.0, case="upper") == "12"


def test_default_replaces_blank_cells_and_is_converted() -> None:
    assert convert("integer", None, default="5") == 5
    assert convert("integer", "", default=5) == 5
    assert convert("integer", "7", default=5) == 7
    assert convert("date", None, default="17.06.2013") == dt.date(2013, 6, 17)
    assert convert("text", " ", default=" n/a ") == "n/a"
    assert convert("boolean", None, default="Y") is True
    assert convert("boolean", None, default=False, nullable=False) is False


def test_default_that_does_not_fit_is_a_problem_of_blank_cells_only() -> None:
    converter = make_converter(column("integer"), spec(default="many"))
    assert converter("3") == 3
    with pytest.raises(ValueProblem, match="the default value does not fit: 'many' is not a whole"):
        converter(None)


def test_blank_booleans_are_no_unless_empty_is_allowed() -> None:
    assert convert("boolean", None, nullable=False) is False
    assert convert("boolean", " ", nullable=False) is False
    assert convert("boolean", None, nullable=True) is None
    assert convert("boolean", "", nullable=True) is None


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123.0, "123"),
        (12.5, "12.5"),
        (123000.0, "123000"),
        (1.5e-07, "0.00000015"),
        (1e20, "100000000000000000000"),
        (0.1 + 0.2, "0.3"),  # binary noise beyond Excel's 15 digits is dropped
        (-4.0, "-4"),
        (42, "42"),
        (Decimal("1.50"), "1.5"),
        (dt.date(2013, 6, 17), "2013-06-17"),
        (dt.datetime(2013, 6, 17), "2013-06-17"),
        (dt.datetime(2013, 6, 17, 14, 30), "2013-06-17 14:30:00"),
        (dt.time(14, 30), "14:30:00"),
        ("007", "007"),
        ("  007 ", "007"),
    ],
)
def test_text_from_cells(value: Any, expected: str) -> None:
    assert convert("text", value) == expected
    assert convert("long_text", value) == expected


def test_text_refuses_yes_no_cells() -> None:
    assert problem("text", True) == (
        "TRUE is a yes/no value; expected text (write the text in the cell)"
    )


def test_zero_pad_fills_numeric_codes() -> None:
    assert convert("text", "7", zero_pad=3) == "007"
    assert convert("text", 7, zero_pad=3) == "007"
    assert convert("text", 7.0, zero_pad=3) == "007"
    assert convert("text", 12.0, zero_pad=6) == "000012"
    assert convert("text", "007", zero_pad=3) == "007"
    assert convert("text", "1234", zero_pad=3) == "1234"
    assert convert("text", "A7", zero_pad=3) == "A7"
    assert convert("text", "-7", zero_pad=3) == "-7"


def test_zero_pad_then_length_check() -> None:
    assert problem("text", "7", zero_pad=6, length=4) == (
        "'000007' is 6 characters long; at most 4 fit"
    )


def test_length_check_message() -> None:
    assert convert("text", "a" * 20, length=20) == "a" * 20
    assert problem("text", "abcdefghijklmnopqrstuvwxyz1", length=20) == (
        "'abcdefghijklmnopqrstuvwxyz1' is 27 characters long; at most 20 fit"
    )
    assert problem("text", "x" * 50, length=20) == (
        f"'{'x' * 37}...' is 50 characters long; at most 20 fit"
    )
    assert convert("text", "  " + "a" * 20 + "  ", length=20) == "a" * 20  # after trimming


def test_choices_take_the_allowed_spelling() -> None:
    allowed = ("ACTIVE", "GRADUATED", "WITHDRAWN")
    assert convert("text", "ACTIVE", choices=allowed) == "ACTIVE"
    assert convert("text", "graduated", choices=allowed) == "GRADUATED"
    assert convert("text", " Withdrawn ", choices=allowed) == "WITHDRAWN"
    assert problem("text", "gone", choices=allowed) == (
        "'gone' is not one of the allowed values: ACTIVE, GRADUATED, WITHDRAWN"
    )


def test_choices_are_compared_after_case_and_replacements() -> None:
    allowed = ("Hospital", "Clinic")
    assert convert("text", "HOSPITAL", choices=allowed, case="lower") == "Hospital"
    assert convert("text", "hosp", choices=allowed, values={"HOSP": "hospital"}) == "Hospital"
    assert problem("text", "ward", choices=allowed, case="upper") == (
        "'WARD' is not one of the allowed values: Hospital, Clinic"
    )


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        (3.0, 3),
        (3.0000000000000004, 3),  # Excel arithmetic noise
        ("42", 42),
        ("-5", -5),
        ("+5", 5),
        ("0042", 42),
        ("1 234", 1234),
        ("1\xa0234", 1234),
        ("1,234", 1234),
        ("1,234,567", 1234567),
        ("1'234", 1234),
        ("1.0", 1),
        ("(12)", -12),
        ("12-", -12),
        ("1e3", 1000),
        (Decimal("7"), 7),
    ],
)
def test_integer(value: Any, expected: int) -> None:
    result = convert("integer", value)
    assert result == expected
    assert type(result) is int


def test_integer_with_decimal_comma_takes_points_as_thousands() -> None:
    assert convert("integer", "1.234", decimal_comma=True) == 1234
    assert convert("integer", "1.234.567", decimal_comma=True) == 1234567
    assert convert("integer", "12,0", decimal_comma=True) == 12
    assert problem("integer", "1,234", decimal_comma=True) == "'1,234' is not a whole number"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "'abc' is not a whole number"),
        (3.5, "'3.5' is not a whole number"),
        ("3.5", "'3.5' is not a whole number"),
        ("1,23", "'1,23' is not a whole number"),  # not a thousands grouping
        ("1.234", "'1.234' is not a whole number"),
        (True, "TRUE is a yes/no value; expected a whole number"),
        (dt.date(2013, 6, 17), "'2013-06-17' is a date; expected a whole number"),
        (float("nan"), "'nan' is not a whole number"),
        ("1e99", "'1e99' is too large for a whole-number column"),
    ],
)
def test_integer_problems(value: Any, message: str) -> None:
    assert problem("integer", value) == message


def test_integer_precision() -> None:
    assert convert("integer", 9999, length=4) == 9999
    assert convert("integer", "-9999", length=4) == -9999
    assert problem("integer", 12345, length=4) == "'12345' has 5 digits; at most 4 fit"
    assert problem("integer", "-12 345", length=4) == "'-12 345' has 5 digits; at most 4 fit"


def test_integer_choices() -> None:
    assert convert("integer", "2", choices=(1, 2, 3)) == 2
    assert problem("integer", 4.0, choices=(1, 2, 3)) == (
        "'4' is not one of the allowed values: 1, 2, 3"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$1,234.50", "1234.50"),
        ("$ 1,234.50", "1234.50"),
        ("1,234.50 $", "1234.50"),
        ("-$5", "-5.00"),
        ("$-5", "-5.00"),
        ("(1,234.50)", "-1234.50"),
        ("€12", "12.00"),
        ("EUR 12.5", "12.50"),
        ("12.5 CHF", "12.50"),
        ("\u221212.5", "-12.50"),  # typographic minus
        ("1.5", "1.50"),
        ("1.500", "1.50"),  # trailing zeros are not decimals
        (".5", "0.50"),
        (0.1, "0.10"),
        (0.1 + 0.2, "0.30"),
        (1234.5, "1234.50"),
        (-0.25, "-0.25"),
        (12, "12.00"),
    ],
)
def test_decimal_with_scale(value: Any, expected: str) -> None:
    result = convert("decimal", value, length=10, scale=2)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_decimal_comma() -> None:
    assert convert("decimal", "1.234,50", decimal_comma=True, scale=2) == Decimal("1234.50")
    assert convert("decimal", "1 234,5", decimal_comma=True, scale=2) == Decimal("1234.5")
    assert convert("decimal", "€ 1.234,50", decimal_comma=True) == Decimal("1234.50")
    assert convert("decimal", "12,5", decimal_comma=True) == Decimal("12.5")
    assert convert("decimal", "1.234", decimal_comma=True) == Decimal("1234")
    assert problem("decimal", "12.5", decimal_comma=True) == "'12.5' is not a number"
    assert problem("decimal", "1,234.50", decimal_comma=True) == "'1,234.50' is not a number"


def test_number_without_scale_keeps_what_was_written() -> None:
    assert str(convert("number", 0.1)) == "0.1"
    assert str(convert("number", "1234.5678")) == "1234.5678"
    assert str(convert("number", 12)) == "12"
    assert str(convert("number", "1,234.50")) == "1234.50"


@pytest.mark.parametrize(
    ("value", "settings", "message"),
    [
        ("1.234", {"scale": 2}, "'1.234' has 3 decimals; at most 2"),
        (0.125, {"scale": 2}, "'0.125' has 3 decimals; at most 2"),
        (
            "123456789.5",
            {"length": 10, "scale": 2},
            ("'123456789.5' has 9 digits before the decimal point; at most 8 fit"),
        ),
        (
            1e9,
            {"length": 10, "scale": 2},
            ("'1000000000' has 10 digits before the decimal point; at most 8 fit"),
        ),
        ("abc", {}, "'abc' is not a number"),
        ("nan", {}, "'nan' is not a number"),
        ("Infinity", {}, "'Infinity' is not a number"),
        ("12%", {}, "'12%' is not a number"),
        (False, {}, "FALSE is a yes/no value; expected a number"),
        (float("inf"), {}, "'inf' is not a number"),
    ],
)
def test_decimal_problems(value: Any, settings: dict[str, Any], message: str) -> None:
    assert problem("decimal", value, **settings) == message


def test_float() -> None:
    assert convert("float", "1,234.5") == 1234.5
    assert convert("float", "12,5", decimal_comma=True) == 12.5
    assert convert("float", 3) == 3.0 and type(convert("float", 3)) is float
    assert convert("float", 0.1) == 0.1
    assert convert("float", "$ 2.5") == 2.5
    assert problem("float", "inf") == "'inf' is not a number"
    assert problem("float", "many") == "'many' is not a number"


# --- booleans, GUIDs, intervals, unwritable kinds ------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Y", True),
        ("y", True),
        ("Yes", True),
        ("x", True),
        ("X", True),
        (" ✓ ", True),
        ("TRUE", True),
        ("N", False),
        ("no", False),
        ("-", False),
        ("0", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
    ],
)
def test_boolean(value: Any, expected: bool) -> None:
    assert convert("boolean", value, flag_style="yn") is expected
    assert convert("boolean", value, flag_style="01", nullable=False) is expected


def test_boolean_problems_say_what_is_accepted() -> None:
    assert problem("boolean", "maybe") == "'maybe' is not yes or no (use Y, N, x or leave blank)"
    assert problem("boolean", 2) == "'2' is not yes or no (use Y, N, x or leave blank)"
    assert (
        problem("boolean", "vielleicht", true_values=["ja", "j"], false_values=["nein"])
        == "'vielleicht' is not yes or no (use ja, nein, j or leave blank)"
    )


def test_boolean_with_own_texts() -> None:
    settings: dict[str, Any] = {"true_values": ["active"], "false_values": ["inactive", "left"]}
    assert convert("boolean", "Active", **settings) is True
    assert convert("boolean", "LEFT", **settings) is False
    assert problem("boolean", "Y", **settings).startswith("'Y' is not yes or no")


def test_guid() -> None:
    text = "123e4567-e89b-12d3-a456-426614174000"
    assert convert("guid", text) == uuid.UUID(text)
    assert convert("guid", "{" + text.upper() + "}") == uuid.UUID(text)
    assert convert("guid", text.replace("-", "")) == uuid.UUID(text)
    assert problem("guid", "12345") == (
        "'12345' is not a GUID; expected 32 hexadecimal digits like " + text
    )
    assert "not a GUID" in problem("guid", 12345)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2 days, 04:30:00", dt.timedelta(days=2, hours=4, minutes=30)),
        ("1 day", dt.timedelta(days=1)),
        ("-1 day, 23:00:00", dt.timedelta(hours=-1)),
        ("04:30", dt.timedelta(hours=4, minutes=30)),
        ("36:00:00", dt.timedelta(hours=36)),
        ("1.5", dt.timedelta(days=1, hours=12)),
        (1.5, dt.timedelta(days=1, hours=12)),
        (2, dt.timedelta(days=2)),
        (dt.timedelta(minutes=5), dt.timedelta(minutes=5)),
        (dt.time(1, 30), dt.timedelta(hours=1, minutes=30)),
    ],
)
def test_interval(value: Any, expected: dt.timedelta) -> None:
    assert convert("interval", value) == expected


def test_interval_problem() -> None:
    assert problem("interval", "soon") == (
        "'soon' is not a duration;"
        " expected a duration like '2 days, 04:30:00', '04:30' or a number of days"
    )


def test_binary_and_unsupported_columns_cannot_be_imported() -> None:
    assert problem("binary", "abc") == "cannot be imported (binary column)"
    assert problem("binary", 12) == "cannot be imported (binary column)"
    assert problem("unsupported", "x", type_name="ROWID") == (
        "cannot be imported (unsupported type ROWID)"
    )
    assert convert("binary", None) is None
    assert convert("binary", "  ") is None


def test_results_have_the_types_the_mapping_takes() -> None:
    assert type(convert("text", 5)) is str
    assert type(convert("integer", "5")) is int
    assert type(convert("decimal", "5")) is Decimal
    assert type(convert("number", 5.5)) is Decimal
    assert type(convert("float", "5")) is float
    assert type(convert("boolean", "Y")) is bool
    assert type(convert("guid", "123e4567e89b12d3a456426614174000")) is uuid.UUID
    assert type(convert("interval", "1")) is dt.timedelta
