"""Which sheet heading feeds which column: configured headings, and suggestions without them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.config.loader import load_config
from datadesk.config.schema import ImportProfile
from datadesk.demo.build import build_demo
from datadesk.importers.matching import HeadingMatch, match_headings, suggest_mapping
from datadesk.importers.sheet import Heading
from datadesk.models.catalog import Catalog, ColumnInfo, ColumnKind, TableInfo
from datadesk.models.engine import create_db_engine
from datadesk.models.reflection import reflect_catalog
from datadesk.settings import DEMO_CONFIG


def headings(*texts: str) -> list[Heading]:
    """Sheet headings in columns A, B, C..."""
    return [Heading(text, index) for index, text in enumerate(texts)]


def profile(**columns: Any) -> ImportProfile:
    """An insert profile into staff with the given column settings."""
    return ImportProfile.model_validate({"table": "staff", "mode": "insert", "columns": columns})


def texts(match: dict[str, Heading]) -> dict[str, str]:
    """Target column -> heading text, for readable assertions."""
    return {name: heading.text for name, heading in match.items()}


@pytest.fixture(scope="module")
def demo_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    """The reflected demo schema (SQLite, few rows), with the demo's labels."""
    path: Path = tmp_path_factory.mktemp("matching") / "demo.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        build_demo(engine, immunizations=10)
        yield reflect_catalog(engine, load_config(DEMO_CONFIG), cache_dir=None)
    finally:
        engine.dispose()


# --- match_headings ------------------------------------------------------------------------


def test_headings_match_ignoring_case_spaces_and_punctuation() -> None:
    sheet = headings("EMP. NO", "last name", "First_Name", " Hire-Date ")
    match = match_headings(
        sheet,
        profile(
            employee_no={"from": "Emp No"},
            last_name={"from": "Last Name"},
            first_name={"from": "first name"},
            hire_date={"from": "Hire date"},
        ),
    )
    assert texts(match.found) == {
        "employee_no": "EMP. NO",
        "last_name": "last name",
        "first_name": "First_Name",
        "hire_date": " Hire-Date ",
    }
    assert match.missing == [] and match.unused == [] and match.ambiguous == {}


def test_first_alias_present_wins() -> None:
    columns = {"employee_no": {"from": ["Employee number", "Emp No", "Staff no"]}}
    assert texts(match_headings(headings("Staff no", "Emp no"), profile(**columns)).found) == {
        "employee_no": "Emp no"
    }
    assert texts(match_headings(headings("Staff no"), profile(**columns)).found) == {
        "employee_no": "Staff no"
    }
    assert texts(
        match_headings(headings("Emp no", "Employee Number"), profile(**columns)).found
    ) == {"employee_no": "Employee Number"}


def test_missing_unless_optional() -> None:
    match = match_headings(
        headings("Emp No", "Remarks"),
        profile(
            employee_no={"from": "Emp No"},
            email={"from": ["E-mail", "Mail"]},
            phone_ext={"from": "Extension", "optional": True},
        ),
    )
    assert texts(match.found) == {"employee_no": "Emp No"}
    assert match.missing == ["email"]
    assert [heading.text for heading in match.unused] == ["Remarks"]


def test_constant_and_default_columns_need_no_heading() -> None:
    match = match_headings(
        headings("Emp No"),
        profile(
            employee_no={"from": "Emp No"},
            active={"constant": True},
            title={"default": "Dr"},
        ),
    )
    assert texts(match.found) == {"employee_no": "Emp No"}
    assert match.missing == []


def test_one_heading_may_feed_two_columns() -> None:
    match = match_headings(
        headings("Name", "Code"),
        profile(first_name={"from": "Name"}, last_name={"from": "name"}),
    )
    assert texts(match.found) == {"first_name": "Name", "last_name": "Name"}
    assert [heading.text for heading in match.unused] == ["Code"]


def test_repeated_heading_takes_the_leftmost_and_is_reported() -> None:
    sheet = headings("Name", "E-mail", "email", "Blank")
    match = match_headings(sheet, profile(email={"from": "Email"}))
    assert match.found == {"email": sheet[1]}
    assert match.ambiguous == {"email": [sheet[1], sheet[2]]}
    assert match.unused == [sheet[0], sheet[2], sheet[3]]


def test_blank_headings_match_nothing() -> None:
    sheet = headings("", "Emp No", "  ")
    match = match_headings(sheet, profile(employee_no={"from": ["---", "Emp No"]}))
    assert match.found == {"employee_no": sheet[1]}
    assert match.unused == [sheet[0], sheet[2]]


def test_heading_match_is_a_frozen_record() -> None:
    match = match_headings(headings("Emp No"), profile(employee_no={"from": "Emp No"}))
    assert isinstance(match, HeadingMatch)
    with pytest.raises(AttributeError):
        match.missing = []  # type: ignore[misc]


# --- suggest_mapping -----------------------------------------------------------------------


def test_suggestions_for_the_demo_staff_table(demo_catalog: Catalog) -> None:
    staff = demo_catalog.tables["staff"]
    sheet = headings(
        "Staff ID",
        "Emp No",
        "First name",
        "LAST_NAME",
        "Dept",
        "Hire date",
        "Salary",
        "E-mail",
        "Extension",
        "Active?",
        "Remarks",
    )
    suggested = texts(suggest_mapping(sheet, staff))
    assert suggested == {
        "employee_no": "Emp No",
        "first_name": "First name",
        "last_name": "LAST_NAME",
        "dept_id": "Dept",
        "hire_date": "Hire date",
        "salary": "Salary",
        "email": "E-mail",
        "phone_ext": "Extension",  # by its label
        "active": "Active?",
    }
    assert list(suggested) == [name for name in staff.columns if name in suggested]


def test_suggestions_use_labels(demo_catalog: Catalog) -> None:
    immunizations = demo_catalog.tables["immunizations"]
    sheet = headings("Date given", "Vaccine", "Dose", "Lot", "Verified", "Staff member")
    assert texts(suggest_mapping(sheet, immunizations)) == {
        "admin_date": "Date given",  # labelled 'Given on'
        "vaccine_code": "Vaccine",
        "dose_no": "Dose",
        "lot_number": "Lot",
        "staff_id": "Staff member",
        "verified": "Verified",
    }


def test_generated_keys_are_never_suggested(demo_catalog: Catalog) -> None:
    immunizations = demo_catalog.tables["immunizations"]
    assert immunizations.columns["imm_id"].is_generated
    assert suggest_mapping(headings("Imm ID", "No."), immunizations) == {}


def test_each_heading_goes_to_its_best_column_only(demo_catalog: Catalog) -> None:
    staff = demo_catalog.tables["staff"]
    suggested = texts(suggest_mapping(headings("Name", "First name"), staff))
    assert suggested["first_name"] == "First name"
    assert list(suggested.values()).count("First name") == 1


def test_dissimilar_headings_are_not_suggested(demo_catalog: Catalog) -> None:
    staff = demo_catalog.tables["staff"]
    assert suggest_mapping(headings("Colour", "Weight", "Q3 total"), staff) == {}


def _table(*columns: ColumnInfo) -> TableInfo:
    """A hand-made table description around a tiny SQLAlchemy table."""
    table = sa.Table(
        "things",
        sa.MetaData(),
        *(sa.Column(c.name, sa.Integer, primary_key=c.is_primary_key) for c in columns),
    )
    model = type("Thing", (), {})
    return TableInfo(
        name="things",
        db_name="THINGS",
        table=table,
        model=model,
        label="Thing",
        label_plural="Things",
        help=None,
        columns={c.name: c for c in columns},
        primary_key=tuple(c.name for c in columns if c.is_primary_key),
    )


def _column(
    name: str, kind: ColumnKind = "text", label: str | None = None, **flags: Any
) -> ColumnInfo:
    return ColumnInfo(
        name=name, db_name=name.upper(), kind=kind, label=label or name.title(), **flags
    )


def test_columns_no_import_writes_are_never_suggested() -> None:
    table = _table(
        _column("thing_id", "integer", is_primary_key=True, is_generated=True),
        _column("code", "text", is_primary_key=True),
        _column("photo", "binary"),
        _column("row_id", "unsupported"),
        _column("secret", is_hidden=True),
        _column("computed", is_read_only=True),
        _column("name"),
    )
    sheet = headings("Thing ID", "Code", "Photo", "Row ID", "Secret", "Computed", "Name")
    assert texts(suggest_mapping(sheet, table)) == {"code": "Code", "name": "Name"}


def test_exact_match_beats_a_similar_one() -> None:
    table = _table(_column("name"), _column("names"))
    sheet = headings("Names", "Name")
    assert texts(suggest_mapping(sheet, table)) == {"name": "Name", "names": "Names"}
