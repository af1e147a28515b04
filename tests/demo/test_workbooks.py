"""The demo's legacy workbooks: committed files current, readable, true to their profiles, their
quirks really there, and their designed effect on a fresh demo database (``EXPECTED``) checked
against the seed with a small reference reading of each profile (no import engine, no DB)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook, SheetVisibleEnum

import datadesk.demo
from datadesk.config.loader import load_config
from datadesk.config.schema import Config, ImportColumn, ImportProfile
from datadesk.demo import workbooks as wbs
from datadesk.demo.schema import schema_statements
from datadesk.importers.sheet import normalize_heading
from datadesk.settings import DEMO_CONFIG

COMMITTED = Path(datadesk.demo.__file__).parent / "workbooks"
FILES = {
    "staff_register": wbs.STAFF_REGISTER,
    "immunization_sheet": wbs.IMMUNIZATIONS,
    "certifications_ods": wbs.CERTIFICATIONS,
    "placement_sites_csv": wbs.PLACEMENT_SITES,
}
TEXT_DATE_DOTS = re.compile(r"^\d\d\.\d\d\.\d{4}$")
TEXT_DATE_SLASHES = re.compile(r"^\d\d/\d\d/\d{4}$")


@pytest.fixture(scope="module")
def config() -> Config:
    """The demo config with its import profiles."""
    return load_config(DEMO_CONFIG)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The xlsx and csv as the generator writes them now (no LibreOffice needed)."""
    out = tmp_path_factory.mktemp("workbooks")
    return {path.name: path for path in wbs.write_demo_workbooks(out, xls=False)}


def _cells(values: list[list[Any]]) -> list[list[Any]]:
    """Sheet values compared across readers: blanks None, numbers float, dates as dates,
    trailing blanks and blank trailing rows dropped."""
    rows = []
    for row in values:
        cells = []
        for value in row:
            if value == "":
                value = None
            elif isinstance(value, bool):
                pass
            elif isinstance(value, int | float):
                value = float(value)
            elif isinstance(value, datetime):
                value = value.date() if value.time() == datetime.min.time() else value
            cells.append(value)
        while cells and cells[-1] is None:
            cells.pop()
        rows.append(cells)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _calamine(path: Path, sheet: str | int = 0) -> list[list[Any]]:
    book = CalamineWorkbook.from_path(str(path))
    found = (
        book.get_sheet_by_name(sheet) if isinstance(sheet, str) else book.get_sheet_by_index(sheet)
    )
    return _cells(found.to_python(skip_empty_area=False))


def _openpyxl_values(ws: Any) -> list[list[Any]]:
    return _cells([list(row) for row in ws.iter_rows(values_only=True)])


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("cp1252"), newline=""), delimiter=";"))


# --- committed files are current --------------------------------------------------------------


def test_committed_files_exist_and_are_small() -> None:
    names = sorted(p.name for p in COMMITTED.iterdir())
    assert names == sorted(FILES.values())
    for path in COMMITTED.iterdir():
        assert 0 < path.stat().st_size < 200_000, path.name


def test_committed_xlsx_equals_the_generator(generated: dict[str, Path]) -> None:
    committed = openpyxl.load_workbook(COMMITTED / wbs.STAFF_REGISTER)
    fresh = openpyxl.load_workbook(generated[wbs.STAFF_REGISTER])
    assert committed.sheetnames == fresh.sheetnames
    for name in fresh.sheetnames:
        assert _openpyxl_values(committed[name]) == _openpyxl_values(fresh[name]), name
        assert committed[name].sheet_state == fresh[name].sheet_state
        assert {str(r) for r in committed[name].merged_cells.ranges} == {
            str(r) for r in fresh[name].merged_cells.ranges
        }


def test_committed_csv_equals_the_generator(generated: dict[str, Path]) -> None:
    committed = _csv_rows((COMMITTED / wbs.PLACEMENT_SITES).read_bytes())
    assert committed == _csv_rows(generated[wbs.PLACEMENT_SITES].read_bytes())


@pytest.mark.parametrize(
    ("name", "build"),
    [
        (wbs.IMMUNIZATIONS, wbs.immunizations_workbook),
        (wbs.CERTIFICATIONS, wbs.certifications_workbook),
    ],
)
def test_committed_xls_and_ods_hold_what_the_builder_makes(name: str, build: Any) -> None:
    """LibreOffice wrote these from the builders' workbooks: the values must still match
    (checked without LibreOffice, by reading the committed file)."""
    source = build()
    book = CalamineWorkbook.from_path(str(COMMITTED / name))
    assert book.sheet_names == source.sheetnames
    for ws in source.worksheets:
        assert _calamine(COMMITTED / name, ws.title) == _openpyxl_values(ws), ws.title


def test_every_workbook_opens_with_calamine() -> None:
    for name in (wbs.STAFF_REGISTER, wbs.IMMUNIZATIONS, wbs.CERTIFICATIONS):
        book = CalamineWorkbook.from_path(str(COMMITTED / name))
        for sheet in book.sheet_names:
            assert book.get_sheet_by_name(sheet).to_python(), (name, sheet)


# --- true to the profiles -----------------------------------------------------------------------


def _sheet_rows(profile: ImportProfile, path: Path) -> list[list[Any]]:
    """Every row of the profile's sheet, from row 1, as read for an import."""
    if path.suffix == ".csv":
        text = path.read_bytes().decode(profile.encoding or "utf-8")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=profile.delimiter or ",")
        return [list(row) for row in reader]
    book = CalamineWorkbook.from_path(str(path))
    if isinstance(profile.sheet, str):
        sheet = book.get_sheet_by_name(profile.sheet)
    else:
        visible = [m.name for m in book.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
        sheet = book.get_sheet_by_name(visible[profile.sheet])
    return [list(row) for row in sheet.to_python(skip_empty_area=False)]


def _heading_row(profile: ImportProfile, rows: list[list[Any]]) -> int:
    """0-based index of the row holding every column's usual heading."""
    wanted = {normalize_heading(col.source[0]) for col in profile.columns.values() if col.source}
    for index, row in enumerate(rows):
        if wanted <= {normalize_heading(v) for v in row}:
            return index
    raise AssertionError(f"no row holds the headings {sorted(wanted)}")


def test_profiles_name_the_workbooks_headings_and_real_columns(config: Config) -> None:
    assert set(config.imports) == set(FILES)
    ddl = "\n".join(schema_statements("sqlite")).lower()
    for name, profile in config.imports.items():
        rows = _sheet_rows(profile, COMMITTED / FILES[name])
        headings = {normalize_heading(v) for v in rows[_heading_row(profile, rows)]}
        for column, spec in profile.columns.items():
            assert normalize_heading(spec.source[0]) in headings, (name, column)
            table = re.search(rf"create table {profile.table} \((.*?)\n\)", ddl, re.S)
            assert table and re.search(rf"^\s+{column}\s", table[1], re.M), (name, column)
        assert profile.label and profile.description


# --- the quirks -------------------------------------------------------------------------------


def test_staff_register_quirks() -> None:
    wb = openpyxl.load_workbook(COMMITTED / wbs.STAFF_REGISTER)
    ws = wb["Staff"]
    assert {"A1:K1", "A2:K2"} <= {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].value == "Medical University - Staff register"
    assert ws["A2"].value == "Printed 03/02/2014 by HR"
    assert wb["Codes"].sheet_state == "hidden"
    assert [c.value for c in ws[wbs.STAFF_HEADER_ROW]] == list(wbs.STAFF_HEADINGS)
    data = list(ws.iter_rows(min_row=wbs.STAFF_HEADER_ROW + 1, values_only=True))
    blank = [i for i, row in enumerate(data) if all(v is None for v in row)]
    assert len(blank) == 2 and 0 < blank[0] < blank[1] < len(data) - 1
    people = [row for row in data if any(v is not None for v in row) and row[0] != "Total"]
    assert data[-1][:2] == ("Total", len(people)) and len(people) == 38
    starts = [row[6] for row in people]
    assert any(isinstance(v, str) and TEXT_DATE_DOTS.match(v) for v in starts)
    assert any(isinstance(v, str) and TEXT_DATE_SLASHES.match(v) for v in starts)
    assert any(isinstance(v, datetime) for v in starts)
    assert any(type(v) is int for v in starts)  # a bare Excel serial number
    numbers = [row[0] for row in people]
    assert all(
        isinstance(v, str) and v.startswith("0") and len(v) == 6
        for v in numbers
        if isinstance(v, str)
    )
    assert sum(isinstance(v, str) for v in numbers) >= 30
    assert any(isinstance(v, int) for v in numbers)  # Excel dropped the zeros of a few
    for row in ws.iter_rows(min_row=wbs.STAFF_HEADER_ROW + 1, max_col=1):
        if isinstance(row[0].value, str) and row[0].value.startswith("0"):
            assert row[0].data_type == "s"
    assert any(row[1].endswith(" ") for row in people)
    assert any(
        isinstance(row[7], str) and re.match(r"^\d{1,3}(\.\d{3})*,\d\d$", row[7]) for row in people
    )
    assert {row[10] for row in people} == {"Y", "N", "x", None}
    codes = {row[0] for row in wb["Codes"].iter_rows(min_row=2, values_only=True)}
    assert {str(row[4]).strip().upper() for row in people} <= codes


def test_immunization_sheet_quirks() -> None:
    rows = _calamine(COMMITTED / wbs.IMMUNIZATIONS)
    assert rows[0][0] == "Occupational Health Service - staff immunizations 2015"
    assert rows[wbs.IMMUNIZATION_HEADER_ROW - 1] == list(wbs.IMMUNIZATION_HEADINGS)
    data = rows[wbs.IMMUNIZATION_HEADER_ROW :]
    assert 55 <= len(data) <= 65
    dates = [row[4] for row in data]
    assert any(isinstance(v, str) and TEXT_DATE_DOTS.match(v) for v in dates)
    assert any(isinstance(v, date) for v in dates)
    assert any(row[5].endswith("  ") for row in data)
    assert {row[6] if len(row) > 6 else None for row in data} == {"x", None}
    assert any(isinstance(row[0], str) and row[0].startswith("0") for row in data)
    assert any(isinstance(row[0], float) for row in data)


def test_certifications_quirks() -> None:
    book = CalamineWorkbook.from_path(str(COMMITTED / wbs.CERTIFICATIONS))
    assert book.sheet_names == ["Completions", "Read me"]
    rows = _calamine(COMMITTED / wbs.CERTIFICATIONS)
    assert rows[0] == list(wbs.CERTIFICATION_HEADINGS)
    data = rows[1:]
    assert len(data) == 30
    assert any(isinstance(row[0], float) for row in data)
    assert any(isinstance(row[0], str) and row[0].startswith("0") for row in data)
    assert any(row[2].islower() for row in data)
    assert any(row[4] is None for row in data)  # a course that never expires
    assert any(isinstance(row[3], str) for row in data) and any(
        isinstance(row[3], date) for row in data
    )


def test_placement_sites_csv_quirks() -> None:
    data = (COMMITTED / wbs.PLACEMENT_SITES).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1252")
    assert "Sainte-Thérèse" in text and "Children’s Hospital – East Wing" in text
    assert text.count("\r\n") == text.count("\n") and text.endswith("\r\n")
    rows = _csv_rows(data)
    assert rows[0] == list(wbs.SITE_HEADINGS) and {len(r) for r in rows} == {5}


# --- the designed effect on a fresh demo database --------------------------------------------

FLAGS = {("staff", "active"): (1, 0), ("immunizations", "verified"): ("Y", "N")}
PARENTS = {
    ("staff", "category_code"): ("staff_categories", "category_code"),
    ("immunizations", "vaccine_code"): ("vaccines", "vaccine_code"),
    ("certifications", "training_code"): ("trainings", "training_code"),
}
SAMPLES = {"staff": "staff", "immunizations": "immunizations"}


class Refused(Exception):
    """A row the import must report as an error."""


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _clean(value: Any, spec: ImportColumn) -> Any:
    """A cell cleaned the way the profile column says (trim, values, case, zero_pad)."""
    if isinstance(value, str):
        value = value.strip() if spec.trim else value
        mapped = {k.casefold(): v for k, v in spec.values.items()}
        value = mapped.get(value.casefold(), value)
    if value in ("", None):
        return spec.default
    if isinstance(value, str) and spec.case:
        value = {"upper": value.upper(), "lower": value.lower(), "title": value.title()}[spec.case]
    if spec.zero_pad and isinstance(value, int | float):
        value = f"{int(value):0{spec.zero_pad}d}"
    elif spec.zero_pad and isinstance(value, str) and value.isdigit():
        value = value.zfill(spec.zero_pad)
    return value


def _convert(value: Any, sample: Any, spec: ImportColumn, flag: tuple[Any, Any] | None) -> Any:
    """A cleaned cell as the target column's type (taken from a seeded value)."""
    if flag is not None:
        text = "" if value is None else _text(value).casefold()
        if text in {v.casefold() for v in spec.true_values}:
            return flag[0]
        if text == "" or text in {v.casefold() for v in spec.false_values}:
            return flag[1]
        raise Refused(f"not yes or no: {value}")
    if value is None:
        return None
    if isinstance(sample, date):
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, int | float):
            return date(1899, 12, 30) + timedelta(days=int(value))
        for fmt in spec.date_formats:
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                continue
        raise Refused(f"not a date: {value}")
    if isinstance(sample, Decimal):
        if isinstance(value, str):
            value = value.replace(".", "").replace(",", ".") if spec.decimal_comma else value
        try:
            return Decimal(_text(value)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise Refused(f"not a number: {value}") from None
    if isinstance(sample, int):
        return int(float(value))
    return _text(value)


def _samples(seed: dict[str, list[dict[str, Any]]], table: str) -> dict[str, Any]:
    """One non-null value per column of a seeded table, for its type."""
    samples: dict[str, Any] = {}
    for row in seed[table]:
        for key, value in row.items():
            if value is not None:
                samples.setdefault(key, value)
    return samples


def _outcome(profile: ImportProfile, path: Path) -> dict[str, int]:
    seed = wbs.seed_rows()
    table = profile.table
    samples = _samples(seed, table)
    existing = {tuple(row[k] for k in profile.key): row for row in seed[table]}
    rows = _sheet_rows(profile, path)
    header = _heading_row(profile, rows)
    positions = {normalize_heading(v): i for i, v in enumerate(rows[header])}
    skip = [re.compile(p, re.I) for p in profile.skip_rows_matching]
    counts = {"unchanged": 0, "updated": 0, "inserted": 0, "errors": 0}
    for raw in rows[header + 1 :]:
        filled = [v for v in raw if v not in ("", None)]
        if not filled or any(p.search(_text(filled[0])) for p in skip):
            continue
        try:
            record = {}
            for column, spec in profile.columns.items():
                value = _clean(raw[positions[normalize_heading(spec.source[0])]], spec)
                if spec.lookup is not None:
                    matches = [r for r in seed[spec.lookup.table] if r[spec.lookup.column] == value]
                    if not matches:
                        raise Refused(f"no {spec.lookup.table} with {spec.lookup.column} {value}")
                    value = matches[0][column]
                else:
                    value = _convert(value, samples.get(column), spec, FLAGS.get((table, column)))
                parent = PARENTS.get((table, column))
                if parent and value not in {r[parent[1]] for r in seed[parent[0]]}:
                    raise Refused(f"no {parent[0]} {value}")
                record[column] = value
        except Refused:
            counts["errors"] += 1
            continue
        old = existing.get(tuple(record[k] for k in profile.key))
        if old is None:
            counts["inserted"] += 1
        elif all(old[c] == v for c, v in record.items()):
            counts["unchanged"] += 1
        else:
            counts["updated"] += 1
    return counts


@pytest.mark.parametrize("name", sorted(FILES))
def test_designed_outcome_against_the_seed(config: Config, name: str) -> None:
    """Unchanged, updated, inserted and refused rows as EXPECTED says, by a reference reading
    of the profile against the seed rows (what a fresh demo database holds)."""
    assert _outcome(config.imports[name], COMMITTED / FILES[name]) == wbs.EXPECTED[FILES[name]]


def test_natural_keys_are_unique_in_the_seed(config: Config) -> None:
    seed = wbs.seed_rows()
    for profile in config.imports.values():
        keys = [tuple(row[k] for k in profile.key) for row in seed[profile.table]]
        if profile.table == "immunizations":  # the key is about staff doses only
            keys = [k for k in keys if k[0] is not None]
        assert len(keys) == len(set(keys)), profile.table
