"""CHECK constraint texts as Oracle, SQLite and PostgreSQL report them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from datadesk.models.checks import allowed_values_by_column, parse_allowed_values


@pytest.mark.parametrize(
    "text",
    [
        "ACTIVE IN ('Y','N')",
        "active in ('N', 'Y')",
        "\"ACTIVE\" IN ('Y' , 'N')",
        "(ACTIVE IN ('Y','N'))",
        "active = ANY (ARRAY['Y'::bpchar, 'N'::bpchar])",
        "((active)::text = ANY ((ARRAY['Y'::character varying, 'N'::character varying])::text[]))",
        "ACTIVE = 'Y' OR ACTIVE = 'N'",
        "((active = 'Y'::bpchar) OR (active = 'N'::bpchar))",
        "ACTIVE IS NULL OR ACTIVE IN ('Y','N')",
    ],
)
def test_yes_no_constraints(text: str) -> None:
    parsed = parse_allowed_values(text)
    assert parsed is not None
    assert parsed.column == "active"
    assert parsed.flag_style == "yn"
    assert not parsed.is_lowercase


@pytest.mark.parametrize(
    "text",
    [
        "ON_LEAVE IN (0,1)",
        "on_leave in (1, 0)",
        "on_leave = ANY (ARRAY[0, 1])",
        "((on_leave)::numeric = ANY (ARRAY[(0)::numeric, (1)::numeric]))",
    ],
)
def test_zero_one_constraints(text: str) -> None:
    parsed = parse_allowed_values(text)
    assert parsed is not None
    assert (parsed.column, parsed.flag_style) == ("on_leave", "01")


def test_lower_case_values_are_remembered() -> None:
    parsed = parse_allowed_values("flag in ('y','n')")
    assert parsed is not None and parsed.flag_style == "yn" and parsed.is_lowercase


def test_other_value_lists_are_choices_not_flags() -> None:
    parsed = parse_allowed_values("STATUS IN ('A','I','P')")
    assert parsed is not None
    assert parsed.flag_style is None
    assert parsed.values == ("A", "I", "P")
    numbers = parse_allowed_values("GRADE IN (1, 2, 2.5)")
    assert numbers is not None and numbers.values == (1, 2, Decimal("2.5"))
    quoted = parse_allowed_values("NOTE IN ('it''s', 'N')")
    assert quoted is not None and quoted.values == ("it's", "N")


@pytest.mark.parametrize(
    "text",
    [
        "SALARY > 0",
        "ACTIVE IN ('Y','N') AND ON_LEAVE IN (0,1)",
        "ACTIVE = 'Y' OR ON_LEAVE = 1",
        "LENGTH(CODE) = 6",
        "ACTIVE IN (SELECT X FROM Y)",
        "",
    ],
)
def test_anything_else_is_ignored(text: str) -> None:
    assert parse_allowed_values(text) is None


def test_values_by_column_keeps_the_first_constraint() -> None:
    found = allowed_values_by_column(["A IN ('Y','N')", "B IN (0,1)", "A IN ('X','Z')", "C > 1"])
    assert {k: v.flag_style for k, v in found.items()} == {"a": "yn", "b": "01"}
