"""Deterministic seed data for the demo schema: same rows on every machine, no wall clock.

Rows are generated as plain dicts keyed by lower-case column names (``generate_rows``), then
inserted with SQLAlchemy Core executemany (``insert_rows``).  Each table draws from its own
random stream, derived from ``random.Random(2010)``, so a different immunization count leaves
every other table unchanged.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from datadesk.demo import reference as ref
from datadesk.demo.people import generate_students, person_schedules
from datadesk.errors import InvalidInput

Row = dict[str, Any]

SEED = 2010
STAFF_COUNT = 2_000
STUDENT_COUNT = 5_000
SITE_COUNT = 40
CERTIFICATION_COUNT = 3_000
PLACEMENT_COUNT = 8_000
REQUEST_COUNT = 1_500
LEGACY_LOG_COUNT = 400
DEFAULT_IMMUNIZATIONS = 100_000
MAX_IMMUNIZATIONS = 150_000

# Insert order: parents before children (rows within a table are ordered the same way).
_SEED_ORDER = (
    "departments", "staff_categories", "staff", "programmes", "students", "vaccines",
    "immunizations", "trainings", "certifications", "placement_sites", "clinical_placements",
    "legacy_access_log", "access_requests",
)  # fmt: skip
_CLINICAL = {"CLN", "NUR"}


def generate_rows(immunizations: int = DEFAULT_IMMUNIZATIONS) -> dict[str, list[Row]]:
    """Every demo row by lower-case table name; identical for identical arguments."""
    if not 0 <= immunizations <= MAX_IMMUNIZATIONS:
        raise InvalidInput(f"immunizations must be between 0 and {MAX_IMMUNIZATIONS}")
    master = random.Random(SEED)
    rngs = {name: random.Random(master.getrandbits(64)) for name in _SEED_ORDER}
    rows: dict[str, list[Row]] = {}
    rows["departments"] = _departments(rngs["departments"])
    rows["staff_categories"] = [
        {"category_code": code, "category_name": name, "is_clinical": clinical}
        for code, name, clinical, _share, _pay in ref.STAFF_CATEGORIES
    ]
    rows["staff"] = _staff(rngs["staff"], rows["departments"])
    dept_ids = {d["dept_code"]: d["dept_id"] for d in rows["departments"]}
    rows["programmes"] = [
        {"prog_code": code, "prog_name": name, "dept_id": dept_ids[dept],
         "degree_level": level, "duration_years": years}
        for code, name, dept, level, years, _clinical in ref.PROGRAMMES
    ]  # fmt: skip
    rows["students"] = generate_students(rngs["students"], STUDENT_COUNT)
    rows["vaccines"] = [
        {"vaccine_code": code, "vaccine_name": name, "doses_required": doses,
         "booster_months": booster, "mandatory": mandatory}
        for code, name, doses, booster, mandatory, _prefix in ref.VACCINES
    ]  # fmt: skip
    rows["immunizations"] = person_schedules(
        rngs["immunizations"], rows["staff"], rows["students"], immunizations
    )
    rows["trainings"] = [
        {"training_code": code, "training_name": name, "valid_months": months,
         "mandatory": mandatory}
        for code, name, months, mandatory, _who in ref.TRAININGS
    ]  # fmt: skip
    rows["certifications"] = _certifications(rngs["certifications"], rows["staff"])
    rows["placement_sites"] = _sites(rngs["placement_sites"])
    rows["clinical_placements"] = _placements(
        rngs["clinical_placements"], rows["students"], rows["staff"]
    )
    rows["legacy_access_log"] = _legacy_log(rngs["legacy_access_log"], rows["staff"])
    rows["access_requests"] = _requests(rngs["access_requests"], rows["staff"])
    return rows


def insert_rows(conn: sa.Connection, rows: dict[str, list[Row]]) -> dict[str, int]:
    """Insert generated rows table by table (parents first); return row counts by table."""
    counts: dict[str, int] = {}
    for name in _SEED_ORDER:
        table_rows = rows[name]
        if table_rows:
            conn.execute(sa.insert(_insert_target(name, table_rows)), table_rows)
        counts[name] = len(table_rows)
    return counts


def _insert_target(name: str, rows: list[Row]) -> sa.TableClause:
    """A lightweight table whose column types are inferred from the values, for bind handling."""
    columns = []
    for column in rows[0]:
        sample = next((row[column] for row in rows if row[column] is not None), None)
        columns.append(sa.column(column, _type_of(sample)))
    return sa.table(name, *columns)


def _type_of(value: object) -> sa.types.TypeEngine[Any]:
    """The SQLAlchemy type that binds a Python value correctly on every backend."""
    if isinstance(value, datetime):
        return sa.DateTime()
    if isinstance(value, date):
        return sa.Date()
    if isinstance(value, Decimal):
        return sa.Numeric(10, 2)
    if isinstance(value, int):
        return sa.Integer()
    if isinstance(value, str):
        return sa.String()
    return sa.types.NullType()  # only NULLs: let the database type them


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of shorter months."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _departments(rng: random.Random) -> list[Row]:
    """The department hierarchy: faculties first, so parents always have lower ids."""
    ids = {code: index for index, (code, *_rest) in enumerate(ref.DEPARTMENTS, start=1)}
    return [
        {
            "dept_id": ids[code],
            "dept_code": code,
            "dept_name": name,
            "parent_dept_id": ids[parent] if parent else None,
            "location": location,
            "phone": f"(02) 9351 {rng.randint(1000, 9999)}",
            "created_date": date(rng.randint(1990, 2009), rng.randint(1, 12), 1),
        }
        for code, name, parent, location in ref.DEPARTMENTS
    ]


def _category_for(rng: random.Random, dept_code: str) -> str:
    """A staff category plausible for the department."""
    if dept_code in {"NURS", "MIDW"}:
        return rng.choices(["NUR", "ACA", "ADM", "RES"], [70, 15, 10, 5])[0]
    if dept_code in {"ADM", "HRS"}:
        return rng.choices(["ADM", "TEC"], [85, 15])[0]
    if dept_code == "OHS":
        return rng.choices(["NUR", "ADM", "CLN"], [50, 30, 20])[0]
    codes = [c[0] for c in ref.STAFF_CATEGORIES]
    return rng.choices(codes, [c[3] for c in ref.STAFF_CATEGORIES])[0]


def _staff(rng: random.Random, departments: list[Row]) -> list[Row]:
    """Staff: one head per department first, then everyone else supervised by earlier staff."""
    employee_nos = sorted(rng.sample(range(100, 100_000), STAFF_COUNT))
    pay = {code: band for code, _n, _c, _s, band in ref.STAFF_CATEGORIES}
    by_dept: dict[int, list[int]] = {}
    head_of: dict[int, int] = {}
    emails: set[str] = set()
    rows: list[Row] = []
    for index in range(STAFF_COUNT):
        staff_id = index + 1
        if index < len(departments):
            dept = departments[index]
            category = "ACA" if dept["dept_code"] not in {"ADM", "HRS", "OHS"} else "ADM"
            parent = dept["parent_dept_id"]
            supervisor = head_of.get(parent) if parent else None
            head_of[dept["dept_id"]] = staff_id
        else:
            dept = rng.choice(departments[4:])
            category = _category_for(rng, dept["dept_code"])
            colleagues = by_dept[dept["dept_id"]]
            roll = rng.random()
            supervisor = colleagues[0] if roll < 0.8 else rng.choice(colleagues)
            supervisor = None if roll > 0.97 else supervisor
        by_dept.setdefault(dept["dept_id"], []).append(staff_id)
        first, last = rng.choice(ref.FIRST_NAMES), rng.choice(ref.LAST_NAMES)
        low, high = pay[category]
        rows.append(
            {
                "staff_id": staff_id,
                "employee_no": f"{employee_nos[index]:06d}",
                "title": _title(rng, category),
                "first_name": first,
                "last_name": last,
                "dept_id": dept["dept_id"],
                "category_code": category,
                "hire_date": ref.REFERENCE_DATE - timedelta(days=rng.randint(30, 35 * 365)),
                "salary": Decimal(rng.randrange(low, high, 50)).quantize(Decimal("0.01"))
                if high
                else None,
                "email": _unique_email(first, last, emails),
                "phone_ext": f"{rng.randint(1000, 9999)}" if rng.random() < 0.9 else None,
                "active": 0 if index >= len(departments) and rng.random() < 0.08 else 1,
                "supervisor_id": supervisor,
                "notes": rng.choice(ref.STAFF_NOTES) if rng.random() < 0.08 else None,
            }
        )
    return rows


def _title(rng: random.Random, category: str) -> str | None:
    """An honorific; doctors and professors among academics and clinicians."""
    if category in {"ACA", "CLN"}:
        return rng.choices(["Dr", "Prof", "Mr", "Ms"], [60, 15, 12, 13])[0]
    return rng.choices(["Mr", "Ms", "Mx", None], [40, 45, 3, 12])[0]


def _unique_email(first: str, last: str, taken: set[str]) -> str:
    """first.last@domain, numbered when that address is already taken."""
    stem = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
    email, number = f"{stem}@{ref.EMAIL_DOMAIN}", 1
    while email in taken:
        number += 1
        email = f"{stem}{number}@{ref.EMAIL_DOMAIN}"
    taken.add(email)
    return email


def _certifications(rng: random.Random, staff: list[Row]) -> list[Row]:
    """Training completions: some long expired, some expiring in the coming weeks."""
    candidates = [
        (person, training)
        for person in staff
        for training in ref.TRAININGS
        if training[4] == "all" or person["category_code"] in _CLINICAL
    ]
    chosen = sorted(
        rng.sample(candidates, min(CERTIFICATION_COUNT, len(candidates))),
        key=lambda pair: (pair[0]["staff_id"], pair[1][0]),
    )
    rows: list[Row] = []
    for number, (person, (code, _name, months, _mandatory, _who)) in enumerate(chosen, 1):
        if months is None:
            completed = person["hire_date"] + timedelta(days=rng.randint(0, 20))
        else:
            completed = ref.REFERENCE_DATE - timedelta(days=rng.randint(1, months * 30 + 240))
        completed = min(max(completed, person["hire_date"]), ref.REFERENCE_DATE)
        rows.append(
            {
                "staff_id": person["staff_id"],
                "training_code": code,
                "completed_date": completed,
                "expiry_date": add_months(completed, months) if months else None,
                "cert_no": f"{code[:4]}-{completed.year}-{number:05d}",
                "provider": rng.choice(ref.TRAINING_PROVIDERS),
            }
        )
    return rows


def _sites(rng: random.Random) -> list[Row]:
    """Hospitals, clinics and community services hosting placements."""
    names = [(area, kind) for area in ref.SITE_AREAS for kind in ref.SITE_KINDS]
    chosen = sorted(rng.sample(range(len(names)), SITE_COUNT))
    rows = []
    for site_id, position in enumerate(chosen, 1):
        area, (site_type, suffix, (low, high)) = names[position]
        rows.append(
            {
                "site_id": site_id,
                "site_code": f"S{site_id:03d}",
                "site_name": f"{area} {suffix}",
                "site_type": site_type,
                "city": rng.choice(ref.CITIES),
                "capacity": rng.randint(low, high),
            }
        )
    return rows


def _term_dates(term: str) -> tuple[date, date]:
    """First and last day of a teaching period such as 2024S1."""
    year, semester = int(term[:4]), term[5]
    return (date(year, 3, 2), date(year, 6, 12)) if semester == "1" else (
        date(year, 7, 27), date(year, 11, 6)
    )  # fmt: skip


def _placements(rng: random.Random, students: list[Row], staff: list[Row]) -> list[Row]:
    """Placements of clinical-programme students, at most one per student and term."""
    clinical_progs = {p[0]: p[4] for p in ref.PROGRAMMES if p[5]}
    supervisors = [s["staff_id"] for s in staff if s["category_code"] in _CLINICAL]
    candidates: list[tuple[str, int]] = []
    for student in students:
        years = clinical_progs.get(student["prog_code"])
        if years is None:
            continue
        first = student["enrol_date"].year
        for year in range(first, min(first + years, 2026) + 1):
            candidates += [(f"{year}S{s}", student["student_id"]) for s in (1, 2)]
    chosen = sorted(rng.sample(candidates, min(PLACEMENT_COUNT, len(candidates))))
    rows: list[Row] = []
    for placement_id, (term, student_id) in enumerate(chosen, 1):
        term_start, term_end = _term_dates(term)
        start = term_start + timedelta(weeks=rng.randint(0, 8))
        end = min(start + timedelta(days=7 * rng.randint(2, 6) - 3), term_end)
        graded = end < ref.REFERENCE_DATE
        rows.append(
            {
                "placement_id": placement_id,
                "student_id": student_id,
                "site_id": rng.randint(1, SITE_COUNT),
                "term": term,
                "start_date": start,
                "end_date": end,
                "supervisor_id": rng.choice(supervisors) if rng.random() < 0.9 else None,
                "grade": rng.choices(["HD", "D", "CR", "P", "F"], [15, 25, 30, 26, 4])[0]
                if graded
                else None,
            }
        )
    return rows


def _legacy_log(rng: random.Random, staff: list[Row]) -> list[Row]:
    """Rows from the old system's access log; (username, access_date) never repeats."""
    moment = datetime(2009, 3, 2, 8, 0, 0)
    rows: list[Row] = []
    for _ in range(LEGACY_LOG_COUNT):
        moment += timedelta(minutes=rng.randint(7, 4_000), seconds=rng.randint(0, 59))
        action = rng.choice(ref.LEGACY_ACTIONS)
        if action in {"LOGIN", "LOGOUT"}:
            details = f"Terminal OHS-PC{rng.randint(1, 12):02d}" if rng.random() < 0.6 else None
        else:
            details = f"Staff file {rng.choice(staff)['employee_no']}"
        rows.append(
            {
                "username": rng.choice(ref.LEGACY_USERS),
                "access_date": moment,
                "action_code": action,
                "details": details,
            }
        )
    return rows


def _requests(rng: random.Random, staff: list[Row]) -> list[Row]:
    """Access requests of the last two years; recent ones are mostly still pending."""
    requesters = [s["staff_id"] for s in staff if s["active"]]
    deciders = [s["staff_id"] for s in staff if s["category_code"] == "ADM"]
    drafts = sorted(
        (ref.REFERENCE_DATE - timedelta(days=rng.randint(1, 730)), rng.choice(requesters))
        for _ in range(REQUEST_COUNT)
    )
    rows: list[Row] = []
    for request_id, (requested, staff_id) in enumerate(drafts, 1):
        recent = (ref.REFERENCE_DATE - requested).days < 21
        weights = [70, 25, 5] if recent else [8, 77, 15]
        status = rng.choices(["PENDING", "APPROVED", "REJECTED"], weights)[0]
        decided = None
        if status != "PENDING":
            decided = min(requested + timedelta(days=rng.randint(0, 14)), ref.REFERENCE_DATE)
        rows.append(
            {
                "request_id": request_id,
                "staff_id": staff_id,
                "system_name": rng.choice(ref.SYSTEMS),
                "status": status,
                "request_date": requested,
                "decided_date": decided,
                "decided_by": rng.choice(deciders) if decided else None,
                "reason": rng.choice(ref.REQUEST_REASONS) if rng.random() < 0.85 else None,
            }
        )
    return rows
