"""Report parameters read from form fields and ``--param`` text: types, defaults, problems."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.config.reports import ReportParameter
from datadesk.exports.reports_params import (
    ParameterProblems,
    ParameterSpec,
    parse_values,
    resolve_parameters,
)
from datadesk.models.catalog import Catalog

TODAY = dt.date(2026, 3, 10)
PARAMETERS: dict[str, Any] = {
    "since": {"type": "date", "default": "today-30"},
    "period": {"type": "date_range", "required": False, "default": "today-7..today"},
    "days": {"type": "integer", "min": 1, "max": 365, "default": 60},
    "site_type": {"type": "choice", "options": ["HOSPITAL", "AGED CARE"], "required": False},
    "name": {"type": "text", "required": False},
}


def specs() -> dict[str, ParameterSpec]:
    problems: list[str] = []
    config = {name: ReportParameter.model_validate(p) for name, p in PARAMETERS.items()}
    found = resolve_parameters(config, Catalog(sa.MetaData()), "reports.r.parameters", problems)
    assert problems == []
    return found


def read(raw: dict[str, str]) -> dict[str, Any]:
    return dict(parse_values(specs(), raw, TODAY, lambda spec, text: None).values)


def test_defaults_fill_what_is_not_given() -> None:
    assert read({}) == {
        "since": dt.date(2026, 2, 8),
        "period": (dt.date(2026, 3, 3), TODAY),
        "days": 60,
        "site_type": None,
        "name": None,
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"period": "2026-01-01..2026-01-31"}, (dt.date(2026, 1, 1), dt.date(2026, 1, 31))),
        ({"period.from": "2026-01-01", "period.to": ""}, (dt.date(2026, 1, 1), None)),
        ({"period": "..today"}, (None, TODAY)),
        ({"period.from": "", "period.to": ""}, None),
    ],
)
def test_date_ranges_from_the_form_or_the_command_line(raw: dict[str, str], expected: Any) -> None:
    assert read(raw)["period"] == expected


def test_listed_choices_and_text() -> None:
    values = read({"site_type": "aged care", "name": "  Smith "})
    assert values["site_type"] == "AGED CARE" and values["name"] == "Smith"


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        ({"since": ""}, {"since": "required"}),
        (
            {"since": "2026-02-30"},
            {"since": "'2026-02-30' is not a date (YYYY-MM-DD, today, today-30)"},
        ),
        ({"days": "0"}, {"days": "at least 1"}),
        ({"days": "1e3"}, {"days": "'1e3' is not a whole number"}),
        (
            {"period": "2026-01-01"},
            {"period": "write a date range as FROM..TO, e.g. 2026-01-01..2026-03-31"},
        ),
        (
            {"period": "2026-02-01..2026-01-01"},
            {"period": "the first day (2026-02-01) is after the last (2026-01-01)"},
        ),
        ({"site_type": "CLINIC"}, {"site_type": "'CLINIC' is not one of the choices"}),
        ({"name": "x" * 201}, {"name": "at most 200 characters"}),
        ({"since": "", "days": "x"}, {"since": "required", "days": "'x' is not a whole number"}),
    ],
)
def test_problems_are_named_per_field(raw: dict[str, str], errors: dict[str, str]) -> None:
    with pytest.raises(ParameterProblems) as caught:
        read(raw)
    assert caught.value.errors == errors


def test_defaults_of_the_wrong_type_are_config_problems() -> None:
    problems: list[str] = []
    config = {
        "a": ReportParameter(type="date", default="yesterday"),
        "b": ReportParameter(type="date_range", default="today"),
        "c": ReportParameter(type="integer", default=500, max=100),
        "d": ReportParameter(type="choice", options=("X",), default="Y"),
    }
    resolve_parameters(config, Catalog(sa.MetaData()), "reports.r.parameters", problems)
    assert problems == [
        "reports.r.parameters.a.default: 'yesterday' is not a date (YYYY-MM-DD, today, today-30)",
        "reports.r.parameters.b.default: a date range default is written 'from..to',"
        " e.g. 'today..today+90'",
        "reports.r.parameters.c.default: at most 100",
        "reports.r.parameters.d.default: 'Y' is not one of the options",
    ]
