"""Human labels from database names and comments."""

from __future__ import annotations

import pytest

from datadesk.models import labels


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("DATE_OF_BIRTH", "Date of birth"),
        ("dept_name", "Department name"),
        ("STAFF_ID", "Staff ID"),
        ("dateOfBirth", "Date of birth"),
        ("ROOM_NO", "Room number"),
        ("X", "X"),
    ],
)
def test_humanize(name: str, label: str) -> None:
    assert labels.humanize(name) == label


def test_foreign_key_labels() -> None:
    assert labels.foreign_key_label("DEPT_ID", "Department") == "Department"
    assert labels.foreign_key_label("SUPERVISOR_ID", "Staff") == "Supervisor"
    assert labels.foreign_key_label("COUNTRY_CODE", "Country") == "Country"
    assert labels.foreign_key_label("ID", "Site") == "Site"


@pytest.mark.parametrize(
    ("comment", "label", "help_text"),
    [
        (None, None, None),
        ("  ", None, None),
        ("Date of first employment", "Date of first employment", None),
        (
            "date of first employment. Set by HR when the contract is signed.",
            "Date of first employment",
            "Set by HR when the contract is signed.",
        ),
        (
            "The date on which the employee first started working here under any contract at all. "
            "Used for seniority.",
            None,
            "The date on which the employee first started working here under any contract at all. "
            "Used for seniority.",
        ),
    ],
)
def test_split_comment(comment: str | None, label: str | None, help_text: str | None) -> None:
    assert labels.split_comment(comment) == (label, help_text)


@pytest.mark.parametrize(
    ("one", "many"),
    [
        ("Staff", "Staff"),
        ("Access request", "Access requests"),
        ("Category", "Categories"),
        ("Status", "Statuses"),
        ("Address", "Addresses"),
        ("Day", "Days"),
        ("Box", "Boxes"),
    ],
)
def test_singular_and_plural(one: str, many: str) -> None:
    assert labels.plural(one) == many
    assert labels.singular(many) == one


def test_default_row_labels() -> None:
    assert labels.default_row_label(
        "staff", ["staff_id", "first_name", "last_name"], ["staff_id"]
    ) == ("{last_name}, {first_name}")
    assert labels.default_row_label("dept", ["dept_id", "dept_name"], ["dept_id"]) == "{dept_name}"
    assert labels.default_row_label("sites", ["site_id", "site_name"], ["site_id"]) == "{site_name}"
    assert labels.default_row_label("log", ["a", "b"], ["a", "b"]) == "{a} / {b}"


def test_format_row_label_never_raises() -> None:
    assert labels.format_row_label("{last}, {first}", {"last": "Doe", "first": "Ann"}) == "Doe, Ann"
    assert labels.format_row_label("{last}, {first}", {"last": None, "first": "Ann"}) == "Ann"
    assert labels.format_row_label("{amount:,.2f} {code}", {"amount": None, "code": "X"}) == "X"
    assert labels.format_row_label("{amount:,.2f}", {"amount": 1234.5}) == "1,234.50"
    assert labels.format_row_label("{missing}", {}) == ""
    assert labels.placeholders("{a.b}-{c[0]}{{literal}}") == ["a", "c"]
