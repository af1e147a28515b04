"""Legacy workbooks for the demo's import profiles, as departments really keep them.

Every value comes from the deterministic demo seed (``generate_rows``, no database needed), so
against a freshly built demo database (default immunization count) each workbook imports into
a known mix of unchanged rows, updates, inserts and errors (``EXPECTED``). The quirks are on
purpose: merged title rows above the headings, codes with leading zeros stored as text (and a
few that Excel turned into numbers), trailing spaces, dates written three ways, blank rows, a
totals row, a hidden code sheet, a Windows-1252 csv with semicolons.

    python -m datadesk.demo.workbooks OUT_DIR [--no-xls]

writes ``staff_register.xlsx``, ``immunizations_2015.xls``, ``certifications.ods`` and
``placement_sites.csv``. Nothing in Python writes .xls, and openpyxl writes no .ods: those two
are written with openpyxl as xlsx and converted with LibreOffice (``soffice``); ``--no-xls``
leaves them out where LibreOffice is not installed.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from datadesk.demo import reference as ref
from datadesk.demo.seed import Row, add_months, generate_rows
from datadesk.errors import DatadeskError

STAFF_REGISTER = "staff_register.xlsx"
IMMUNIZATIONS = "immunizations_2015.xls"
CERTIFICATIONS = "certifications.ods"
PLACEMENT_SITES = "placement_sites.csv"

# What each workbook does to a freshly built demo database, by design.
EXPECTED: dict[str, dict[str, int]] = {
    STAFF_REGISTER: {"unchanged": 28, "updated": 6, "inserted": 4, "errors": 0},
    IMMUNIZATIONS: {"unchanged": 44, "updated": 6, "inserted": 6, "errors": 3},
    CERTIFICATIONS: {"unchanged": 20, "updated": 5, "inserted": 5, "errors": 0},
    PLACEMENT_SITES: {"unchanged": 10, "updated": 2, "inserted": 2, "errors": 0},
}

STAFF_HEADINGS = (
    "Emp No", "Surname", "Given name", "Title", "Dept", "Category", "Start date", "Salary",
    "E-mail", "Ext", "Active?",
)  # fmt: skip
STAFF_HEADER_ROW = 4
IMMUNIZATION_HEADINGS = (
    "Employee number", "Name", "Vaccine", "Dose", "Date given", "Lot number", "Verified",
    "Comments",
)  # fmt: skip
IMMUNIZATION_HEADER_ROW = 3
CERTIFICATION_HEADINGS = (
    "Emp. No.", "Staff name", "Course", "Completed", "Expires", "Certificate no.", "Provider",
)  # fmt: skip
SITE_HEADINGS = ("Site code", "Site name", "Type", "City", "Capacity")

_PRINTED = date(2014, 2, 3)
_REGISTER_DEPTS = ("IMED", "SURG", "EMED", "PAED", "NURS", "OHS")
_REGISTER_SIZE = 34
_EXCEL_EPOCH = date(1899, 12, 30)
_TITLE_FONT = Font(bold=True, size=14)
_HEADING_FONT = Font(bold=True, color="FFFFFF")
_HEADING_FILL = PatternFill(fill_type="solid", fgColor="1F4E78")
_THIN = Side(style="thin", color="A6A6A6")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_DATE_FORMAT = "dd/mm/yyyy"

# People HR had on paper but nobody entered yet: the register's inserts.
# (employee no, title, first, last, dept, category, start, salary, ext, active)
_NEW_STAFF: tuple[tuple[str, str | None, str, str, str, str, date, int, str, str], ...] = (
    ("004711", "Dr", "Amara", "Okafor", "IMED", "CLN", date(2013, 11, 4), 128_500, "4711", "Y"),
    ("012346", "Ms", "Freya", "Andersson", "NURS", "NUR", date(2014, 1, 13), 66_900, "2316", "x"),
    ("051234", None, "Kai", "Te Rangi", "EMED", "TEC", date(2013, 9, 30), 57_250, "3380", "Y"),
    ("077007", "Mx", "Ines", "Santos", "OHS", "ADM", date(2014, 1, 27), 51_300, "5120", "Y"),
)
_UNKNOWN_EMPLOYEE = "099998"


@functools.cache
def seed_rows() -> dict[str, list[Row]]:
    """The demo seed's rows (default immunization count), generated once per process."""
    return generate_rows()


def _index(rows: list[Row], key: str) -> dict[Any, Row]:
    return {row[key]: row for row in rows}


def _spread(items: Sequence[Row], count: int) -> list[Row]:
    """``count`` items evenly spread over the sequence, in its order."""
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _serial(day: date) -> int:
    """The Excel serial number of a day (1900 date system)."""
    return (day - _EXCEL_EPOCH).days


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _style_table(ws: Any, header_row: int, widths: Sequence[float]) -> None:
    """Bold white-on-blue headings with borders, column widths, frozen below the headings."""
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
        cell = ws.cell(header_row, col)
        cell.font, cell.fill, cell.border = _HEADING_FONT, _HEADING_FILL, _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = ws.cell(header_row + 1, 1).coordinate


def _put_row(ws: Any, number: int, values: Sequence[Any], formats: dict[int, str]) -> None:
    """Write one data row; text always stays text, dates get a date format."""
    for col, value in enumerate(values, 1):
        if value is None:
            continue
        cell = ws.cell(number, col, value)
        cell.border = _BOX
        if isinstance(value, str):
            cell.data_type = "s"
        elif isinstance(value, date):
            cell.number_format = _DATE_FORMAT
        elif col in formats:
            cell.number_format = formats[col]


# --- a) staff register (xlsx) ---------------------------------------------------------------


def staff_register_rows() -> list[list[Any] | None]:
    """The register's data rows in sheet order, ``None`` for blank rows and the totals row
    last: values exactly as the cells hold them."""
    rows = seed_rows()
    dept_code = {d["dept_id"]: d["dept_code"] for d in rows["departments"]}
    eligible = [
        s
        for s in rows["staff"]
        if s["hire_date"] < _PRINTED and dept_code[s["dept_id"]] in _REGISTER_DEPTS
    ]
    picks = _spread(eligible, _REGISTER_SIZE)
    emails = {s["email"] for s in rows["staff"]}
    employee_nos = {s["employee_no"] for s in rows["staff"]}

    lines = [_register_line(index, person, dept_code) for index, person in enumerate(picks)]
    _apply_register_updates(lines, picks, dept_code)
    register: list[list[Any] | None] = list(lines)
    for index, new in enumerate(_NEW_STAFF):
        number, title, first, last, dept, category, start, salary, ext, active = new
        if number in employee_nos:
            raise DatadeskError(f"demo workbook: employee no {number} is already in the seed")
        email = _free_email(first, last, emails)
        start_cell: Any = start if index % 2 else start.strftime("%d.%m.%Y")
        register.append(
            [number, last, first, title, dept, category, start_cell, salary, email, ext, active]
        )
    register.insert(12, None)  # blank rows HR left in the middle
    register.insert(25, None)
    register.append(["Total", _REGISTER_SIZE + len(_NEW_STAFF)])
    return register


def _register_line(index: int, person: Row, dept_code: dict[int, str]) -> list[Any]:
    """One unchanged person as HR typed them: every value equal to the seed's after cleaning."""
    employee_no: Any = person["employee_no"]
    if index in (5, 19):
        employee_no = int(employee_no)  # Excel dropped the leading zeros
    last, first = person["last_name"], person["first_name"]
    if index % 5 == 1:
        last += " "
    if index % 7 == 3:
        first += "  "
    title = person["title"]
    if title in {"Dr", "Prof"} and index % 2:
        title += "."
    dept = dept_code[person["dept_id"]]
    if index == 9:
        dept = dept.lower() + " "
    hired: date = person["hire_date"]
    start: Any = (hired, hired.strftime("%d.%m.%Y"), hired.strftime("%d/%m/%Y"), hired)[index % 4]
    if index in (7, 26):
        start = _serial(hired)  # a date that lost its format: a bare serial number
    salary: Any = _number(person["salary"])
    if index in (11, 29) and person["salary"] is not None:
        salary = _decimal_comma(person["salary"])
    email = person["email"]
    if index % 6 == 2:
        email = email.title()  # Olivia.Smith@Medu.Example
    ext: Any = int(person["phone_ext"]) if person["phone_ext"] else None
    if index % 4 == 1 and person["phone_ext"]:
        ext = person["phone_ext"]  # some typed as text
    if person["active"]:
        active: str | None = "x" if index % 3 == 0 else "Y"
    else:
        active = None if index % 2 else "N"
    return [employee_no, last, first, title, dept, person["category_code"], start, salary,
            email, ext, active]  # fmt: skip


def _decimal_comma(amount: Decimal) -> str:
    """52300.5 -> '52.300,50', as a German-locale PC typed it."""
    whole, cents = f"{amount:.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return f"{groups},{cents}"


def _apply_register_updates(
    register: list[list[Any]], picks: list[Row], dept_code: dict[int, str]
) -> None:
    """Six people whose record HR changed since the database was loaded."""

    def first(predicate: Callable[[Row], bool], start: int) -> int:
        return next(i for i in range(start, len(picks)) if predicate(picks[i]))

    raise_at = first(lambda s: s["salary"] is not None, 3)
    register[raise_at][7] = _number(picks[raise_at]["salary"] + 2_500)
    renamed = first(lambda s: s["last_name"] != "Fitzgerald", 8)
    register[renamed][1] = "Fitzgerald "
    moved = first(lambda s: dept_code[s["dept_id"]] != "PAED", 13)
    register[moved][4] = "PAED"
    left = first(lambda s: s["active"] == 1, 17)
    register[left][10] = "N"
    new_ext = first(lambda s: s["phone_ext"] not in (None, "4400"), 22)
    register[new_ext][9] = 4400
    cents = first(lambda s: s["salary"] is not None, 27)
    register[cents][7] = _decimal_comma(picks[cents]["salary"] + Decimal("1200.50"))


def _free_email(first: str, last: str, taken: set[str]) -> str:
    """first.last@domain, numbered past the addresses the seed already uses."""
    stem = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
    email, number = f"{stem}@{ref.EMAIL_DOMAIN}", 1
    while email in taken:
        number += 1
        email = f"{stem}{number}@{ref.EMAIL_DOMAIN}"
    taken.add(email)
    return email


def staff_register_workbook() -> Workbook:
    """The HR register: merged title block, headings in row 4, a hidden 'Codes' sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Staff"
    last_col = get_column_letter(len(STAFF_HEADINGS))
    ws["A1"] = "Medical University - Staff register"
    ws["A1"].font = _TITLE_FONT
    ws["A2"] = "Printed 03/02/2014 by HR"
    ws["A2"].font = Font(italic=True, color="595959")
    ws.merge_cells(f"A1:{last_col}1")
    ws.merge_cells(f"A2:{last_col}2")
    for col, heading in enumerate(STAFF_HEADINGS, 1):
        ws.cell(STAFF_HEADER_ROW, col, heading)
    _style_table(ws, STAFF_HEADER_ROW, (9, 16, 14, 7, 7, 10, 12, 13, 34, 7, 8))
    number = STAFF_HEADER_ROW
    for values in staff_register_rows():
        number += 1
        if values is None:
            continue
        _put_row(ws, number, values, {8: "#,##0.00", 7: "0"})
        if values[0] == "Total":
            for cell in ws[number]:
                cell.font = Font(bold=True)
    codes = wb.create_sheet("Codes")
    codes.append(["Dept", "Department", None, "Category", "Name"])
    categories = [(c[0], c[1]) for c in ref.STAFF_CATEGORIES]
    departments = [(d[0], d[1]) for d in ref.DEPARTMENTS]
    for i in range(max(len(categories), len(departments))):
        dept = departments[i] if i < len(departments) else (None, None)
        cat = categories[i] if i < len(categories) else (None, None)
        codes.append([dept[0], dept[1], None, cat[0], cat[1]])
    codes.append([])
    codes.append(["Active?", "Y or x = active, N or blank = left"])
    codes.sheet_state = "hidden"
    return wb


# --- b) immunizations 2015 (xls) ------------------------------------------------------------


def immunization_rows() -> list[list[Any]]:
    """The OHS clinic's 2015 sheet: doses from the seed, corrected ones, new ones, and three
    rows that cannot be imported; sorted by the day given."""
    rows = seed_rows()
    staff = _index(rows["staff"], "staff_id")
    given = sorted(
        (i for i in rows["immunizations"] if i["staff_id"] and i["admin_date"].year == 2015),
        key=lambda i: (i["admin_date"], i["imm_id"]),
    )
    picks = _spread(given, 47)
    unverified = [i for i in given if i["verified"] == "N" and i not in picks]
    verify = _spread(unverified, 3)
    lines: list[tuple[date, list[Any]]] = []
    for index, dose in enumerate(picks):
        lines.append((dose["admin_date"], _dose_line(index, dose, staff[dose["staff_id"]])))
    for dose in verify:  # the paper record was checked since: Verified now ticked
        line = _dose_line(1, dose, staff[dose["staff_id"]])
        line[6] = "x"
        lines.append((dose["admin_date"], line))
    for position in (4, 20, 38):  # lot numbers corrected from the vial labels
        line = lines[position][1]
        lot = line[5].rstrip()
        line[5] = lot[:-1] + ("A" if lot[-1] != "A" else "B")
    lines += _new_doses(rows, picks, staff)
    lines += _bad_doses(picks, staff)
    lines.sort(key=lambda pair: pair[0])
    return [line for _day, line in lines]


def _dose_line(index: int, dose: Row, person: Row) -> list[Any]:
    """One dose as the clinic typed it; equal to the seed's row after cleaning."""
    employee_no: Any = person["employee_no"]
    if index % 9 == 4:
        employee_no = int(employee_no)
    day: date = dose["admin_date"]
    when: Any = day.strftime("%d.%m.%Y") if index % 3 == 1 else day
    lot = dose["lot_number"] + ("  " if index % 4 == 2 else "")
    vaccine = dose["vaccine_code"].lower() if index == 10 else dose["vaccine_code"]
    comment = "Given at OHS clinic" if index % 11 == 0 else None
    name = f"{person['last_name'].upper()}, {person['first_name']}"
    verified = "x" if dose["verified"] == "Y" else None
    return [employee_no, name, vaccine, dose["dose_no"], when, lot, verified, comment]


def _new_doses(rows: dict[str, list[Row]], picks: list[Row], staff: dict[int, Row]) -> list[Any]:
    """Hepatitis A courses (two doses) for three people who had none: six inserts."""
    has_hepa = {i["staff_id"] for i in rows["immunizations"] if i["vaccine_code"] == "HEPA"}
    people: list[int] = []
    for dose in picks:
        if dose["staff_id"] not in has_hepa and dose["staff_id"] not in people:
            people.append(dose["staff_id"])
    lines = []
    for number, staff_id in enumerate(people[:3]):
        person = staff[staff_id]
        first_day = date(2015, 2, 9) + timedelta(days=17 * number)
        for dose_no, day in ((1, first_day), (2, first_day + timedelta(days=182))):
            serial = (day.year * 4 + (day.month - 1) // 3) * 7919 % 9000 + 1000
            lot = f"HA{serial}{'ABC'[number]}"
            when: Any = day if dose_no == 1 else day.strftime("%d.%m.%Y")
            name = f"{person['last_name'].upper()}, {person['first_name']}"
            line = [person["employee_no"], name, "HEPA", dose_no, when, lot, None, "Travel clinic"]
            lines.append((day, line))
    return lines


def _bad_doses(picks: list[Row], staff: dict[int, Row]) -> list[Any]:
    """Three rows the import must refuse: an unknown person, vaccine and day."""
    if any(s["employee_no"] == _UNKNOWN_EMPLOYEE for s in staff.values()):
        raise DatadeskError(f"demo workbook: {_UNKNOWN_EMPLOYEE} is in the seed")
    one, two = staff[picks[5]["staff_id"]], staff[picks[30]["staff_id"]]
    return [
        (date(2015, 3, 16), [_UNKNOWN_EMPLOYEE, "WEBER, Jonas", "FLU", 1, date(2015, 3, 16),
                             "FL3527B", "x", "Agency nurse"]),
        (date(2015, 5, 4), [one["employee_no"], f"{one['last_name'].upper()}, {one['first_name']}",
                            "HEPC", 1, date(2015, 5, 4), "HC1188A", None, None]),
        (date(2015, 9, 30), [two["employee_no"], f"{two['last_name'].upper()}, {two['first_name']}",
                             "TDAP", 9, "31.09.2015", "TD2281C", "x", None]),
    ]  # fmt: skip


def immunizations_workbook() -> Workbook:
    """The clinic's sheet as openpyxl writes it, before LibreOffice saves it as .xls."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Immunizations 2015"
    ws["A1"] = "Occupational Health Service - staff immunizations 2015"
    ws["A1"].font = _TITLE_FONT
    ws.merge_cells(f"A1:{get_column_letter(len(IMMUNIZATION_HEADINGS))}1")
    for col, heading in enumerate(IMMUNIZATION_HEADINGS, 1):
        ws.cell(IMMUNIZATION_HEADER_ROW, col, heading)
    _style_table(ws, IMMUNIZATION_HEADER_ROW, (16, 26, 10, 6, 12, 12, 9, 22))
    for number, values in enumerate(immunization_rows(), IMMUNIZATION_HEADER_ROW + 1):
        _put_row(ws, number, values, {1: "0"})
    return wb


# --- c) certifications (ods) ----------------------------------------------------------------


def certification_rows() -> list[list[Any]]:
    """Training completions: seeded ones, five renewals and five first completions."""
    rows = seed_rows()
    staff = _index(rows["staff"], "staff_id")
    valid = {code: months for code, _n, months, _m, _w in ref.TRAININGS}
    picks = _spread(rows["certifications"], 25)
    held = {(c["staff_id"], c["training_code"]) for c in rows["certifications"]}
    lines: list[list[Any]] = []
    renewals = 0
    for index, cert in enumerate(picks):
        cert = dict(cert)
        months = valid[cert["training_code"]]
        if renewals < 5 and months and cert["completed_date"] < date(2025, 1, 1) and index % 2:
            completed = date(2025, 11, 3) + timedelta(days=7 * renewals)
            code = cert["training_code"]
            cert["completed_date"] = completed
            cert["expiry_date"] = add_months(completed, months)
            cert["cert_no"] = f"{code[:4]}-{completed.year}-{90001 + renewals:05d}"
            renewals += 1
        lines.append(_certification_line(index, cert, staff[cert["staff_id"]]))
    if renewals != 5:
        raise DatadeskError("demo workbook: the seed no longer offers five renewals")
    people = list(dict.fromkeys(c["staff_id"] for c in picks))
    added = 0
    for staff_id in people:
        code = next(
            (t for t in ("PRIVACY", "FIRESAFE", "MANHAND", "GCP") if (staff_id, t) not in held),
            None,
        )
        if code is None or added == 5:
            continue
        completed = date(2025, 12, 1) + timedelta(days=2 * added)
        cert = {
            "staff_id": staff_id, "training_code": code, "completed_date": completed,
            "expiry_date": add_months(completed, valid[code] or 0),
            "cert_no": f"{code[:4]}-{completed.year}-{90101 + added:05d}",
            "provider": ref.TRAINING_PROVIDERS[added % len(ref.TRAINING_PROVIDERS)],
        }  # fmt: skip
        lines.append(_certification_line(100 + added, cert, staff[staff_id]))
        added += 1
    return lines


def _certification_line(index: int, cert: Row, person: Row) -> list[Any]:
    employee_no: Any = person["employee_no"]
    if index % 6 == 5:
        employee_no = int(employee_no)
    code = cert["training_code"].lower() if index % 8 == 3 else cert["training_code"]
    completed: Any = cert["completed_date"]
    if index % 5 == 2:
        completed = completed.strftime("%d.%m.%Y")
    name = f"{person['last_name']}, {person['first_name']}"
    provider = cert["provider"] + (" " if index % 4 == 1 else "")
    return [employee_no, name, code, completed, cert["expiry_date"], cert["cert_no"], provider]


def certifications_workbook() -> Workbook:
    """The training team's list as openpyxl writes it, before LibreOffice saves it as .ods."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Completions"
    for col, heading in enumerate(CERTIFICATION_HEADINGS, 1):
        ws.cell(1, col, heading)
    _style_table(ws, 1, (10, 24, 11, 12, 12, 17, 32))
    for number, values in enumerate(certification_rows(), 2):
        _put_row(ws, number, values, {1: "0"})
    notes = wb.create_sheet("Read me")
    notes["A1"] = "One line per completed course. Course codes as on the LMS."
    notes["A2"] = "Expires: blank for courses that never expire (ORIENT)."
    return wb


# --- d) placement sites (csv) ---------------------------------------------------------------


def placement_site_rows() -> list[list[str]]:
    """Sites as the placements office exports them: seeded, two changed, two new."""
    sites = _spread(seed_rows()["placement_sites"], 12)
    lines = []
    for index, site in enumerate(sites):
        capacity = site["capacity"]
        city = site["city"]
        if index == 3:
            capacity += 6  # a new ward
        if index == 8:
            city = next(c for c in ref.CITIES if c != city)
        site_type = site["site_type"].capitalize() if index % 2 else site["site_type"]
        lines.append([site["site_code"], site["site_name"], site_type, city, str(capacity)])
    lines.append(["S041", "Sainte-Thérèse Medical Clinic", "Clinic", "Fairhaven", "12"])
    lines.append(["s042", "Greenvale Children’s Hospital – East Wing", "Hospital", "Aldermoor", ""])
    return lines


def placement_sites_csv() -> bytes:
    """The csv as Excel on a European Windows PC saves it: cp1252, ';', CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(SITE_HEADINGS)
    writer.writerows(placement_site_rows())
    return buffer.getvalue().encode("cp1252")


# --- writing --------------------------------------------------------------------------------


def convert_with_libreoffice(source: Path, fmt: str, out_dir: Path) -> Path:
    """Convert a workbook with LibreOffice (``fmt`` e.g. 'xls' or 'ods') into ``out_dir``."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise DatadeskError("LibreOffice (soffice) is needed to write .xls and .ods files")
    with tempfile.TemporaryDirectory(prefix="datadesk-lo-") as profile:
        command = [
            soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
            "--convert-to", fmt, "--outdir", str(out_dir), str(source),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    target = out_dir / f"{source.stem}.{fmt.split(':')[0]}"
    if result.returncode != 0 or not target.exists():
        raise DatadeskError(f"LibreOffice could not convert {source.name}: {result.stderr.strip()}")
    return target


def _save(wb: Workbook, path: Path) -> None:
    wb.properties.creator = "datadesk demo"
    wb.save(path)


def write_demo_workbooks(out_dir: Path, *, xls: bool = True) -> list[Path]:
    """Write the demo workbooks into ``out_dir``; with ``xls`` False the two that need
    LibreOffice (.xls and .ods) are left out. Returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / STAFF_REGISTER]
    _save(staff_register_workbook(), written[0])
    if xls:
        with tempfile.TemporaryDirectory(prefix="datadesk-demo-") as tmp:
            for name, build in ((IMMUNIZATIONS, immunizations_workbook),
                                (CERTIFICATIONS, certifications_workbook)):  # fmt: skip
                stem, fmt = name.rsplit(".", 1)
                source = Path(tmp) / f"{stem}.xlsx"
                _save(build(), source)
                written.append(convert_with_libreoffice(source, fmt, out_dir))
    csv_path = out_dir / PLACEMENT_SITES
    csv_path.write_bytes(placement_sites_csv())
    written.append(csv_path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write the demo workbooks into a folder."""
    parser = argparse.ArgumentParser(
        prog="python -m datadesk.demo.workbooks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the workbooks into")
    parser.add_argument(
        "--no-xls", action="store_true", help="leave out the .xls and .ods (no LibreOffice)"
    )
    args = parser.parse_args(argv)
    try:
        paths = write_demo_workbooks(args.out_dir, xls=not args.no_xls)
    except DatadeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"{path}  ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
