"""Students and the immunization histories of staff and students, for the demo seed."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from datadesk.demo import reference as ref

Row = dict[str, Any]
Dose = tuple[date, str]  # (day given, vaccine code)

_LOT_PREFIX = {code: prefix for code, _n, _d, _b, _m, prefix in ref.VACCINES}
_PROGRAMME_WEIGHTS = {
    "MBBS": 18, "BNURS": 25, "BMIDW": 6, "BPHARM": 8, "BPHYSIO": 8, "BOCCTH": 6, "BBIOMED": 9,
    "DIPPARA": 5, "MPH": 6, "MNURSPR": 4, "MPSYC": 2, "PHDMED": 3,
}  # fmt: skip
_PROGRAMME_YEARS = {code: years for code, _n, _d, _l, years, _c in ref.PROGRAMMES}
_GRADUATE_PROGRAMMES = {"MPH", "MNURSPR", "MPSYC", "PHDMED"}


def generate_students(rng: random.Random, count: int) -> list[Row]:
    """Students numbered in order of enrolment; seven-digit numbers keep their leading zeros."""
    drafts: list[Row] = []
    for _ in range(count):
        prog = rng.choices(list(_PROGRAMME_WEIGHTS), list(_PROGRAMME_WEIGHTS.values()))[0]
        year = rng.randint(2016, 2025)
        intake = date(year, 7, 20) if rng.random() < 0.2 else date(year, 2, 24)
        enrol = intake + timedelta(days=rng.randint(-4, 4))
        age = 17 + min(int(rng.expovariate(1 / 3)), 25)
        age += 4 if prog in _GRADUATE_PROGRAMMES else 0
        drafts.append(
            {
                "first_name": rng.choice(ref.FIRST_NAMES),
                "last_name": rng.choice(ref.LAST_NAMES),
                "date_of_birth": enrol - timedelta(days=age * 365 + rng.randint(0, 364)),
                "prog_code": prog,
                "enrol_date": enrol,
                "international": "Y" if rng.random() < 0.18 else "N",
                "status": _student_status(rng, year + _PROGRAMME_YEARS[prog]),
            }
        )
    drafts.sort(key=lambda row: row["enrol_date"])
    numbers = sorted(rng.sample(range(10_000, 1_000_000), count))
    rows = []
    for index, draft in enumerate(drafts):
        number = f"{numbers[index]:07d}"
        rows.append(
            {
                "student_id": index + 1,
                "student_no": number,
                **draft,
                "email": f"s{number}@student.{ref.EMAIL_DOMAIN}",
            }
        )
    return [_ordered(row) for row in rows]


def _ordered(row: Row) -> Row:
    """Student columns in table order (dict order is the insert column order)."""
    keys = (
        "student_id", "student_no", "first_name", "last_name", "date_of_birth", "email",
        "prog_code", "enrol_date", "international", "status",
    )  # fmt: skip
    return {key: row[key] for key in keys}


def _student_status(rng: random.Random, finish_year: int) -> str:
    """Graduated once the programme's years are over, with some withdrawals and suspensions."""
    if finish_year <= ref.REFERENCE_DATE.year - 1:
        return rng.choices(["GRADUATED", "WITHDRAWN", "ACTIVE"], [85, 10, 5])[0]
    return rng.choices(["ACTIVE", "WITHDRAWN", "SUSPENDED"], [90, 6, 4])[0]


def person_schedules(
    rng: random.Random, staff: list[Row], students: list[Row], count: int
) -> list[Row]:
    """Exactly ``count`` immunization rows: whole histories of people taken in a shuffled order.

    When every history is used up, older influenza seasons of staff (records transferred from
    previous employers) fill the remainder.  Keys follow the date the dose was given.
    """
    people: list[tuple[str, int, date]] = [("staff", s["staff_id"], s["hire_date"]) for s in staff]
    people += [("student", s["student_id"], s["enrol_date"] - timedelta(days=30)) for s in students]
    rng.shuffle(people)
    picked: list[tuple[date, str, int, str]] = []
    for kind, person_id, base in people:
        if len(picked) >= count:
            break
        doses = sorted(_history(rng, base, is_student=kind == "student"))
        picked += [(day, kind, person_id, code) for day, code in doses[: count - len(picked)]]
    season = 2011
    while len(picked) < count:
        for kind, person_id, _base in people:
            if kind == "staff" and len(picked) < count:
                picked.append((_flu_day(rng, season), kind, person_id, "FLU"))
        season -= 1
    return _numbered(rng, picked)


def _numbered(rng: random.Random, picked: list[tuple[date, str, int, str]]) -> list[Row]:
    """Rows keyed in date order, with dose numbers counted per person and vaccine."""
    dose_no = [0] * len(picked)
    course: tuple[str, int, str] | None = None
    number = 0
    for index in sorted(range(len(picked)), key=lambda i: (picked[i][1:], picked[i][0], i)):
        _day, kind, person_id, code = picked[index]
        number = number + 1 if course == (kind, person_id, code) else 1
        course = (kind, person_id, code)
        dose_no[index] = number
    rows = []
    order = sorted(range(len(picked)), key=lambda i: (picked[i], i))
    for imm_id, index in enumerate(order, 1):
        day, kind, person_id, code = picked[index]
        recent = (ref.REFERENCE_DATE - day).days < 120
        rows.append(
            {
                "imm_id": imm_id,
                "staff_id": person_id if kind == "staff" else None,
                "student_id": person_id if kind == "student" else None,
                "vaccine_code": code,
                "dose_no": dose_no[index],
                "admin_date": day,
                "lot_number": _lot_number(rng, code, day),
                "verified": "Y" if rng.random() < (0.35 if recent else 0.92) else "N",
            }
        )
    return rows


def _lot_number(rng: random.Random, code: str, day: date) -> str | None:
    """A lot like HB2291A, shared by the doses of one vaccine given in the same quarter."""
    if day.year < 2012 and rng.random() < 0.05:
        return None  # paper records often lacked it
    quarter = (day.month - 1) // 3
    serial = (day.year * 4 + quarter) * 7919 % 9000 + 1000
    return f"{_LOT_PREFIX[code]}{serial}{'ABC'[rng.randrange(3)]}"


def _flu_day(rng: random.Random, season: int) -> date:
    """A day of the influenza campaign, which runs from April to mid-June."""
    return date(season, 4, 1) + timedelta(days=rng.randint(0, 75))


def _history(rng: random.Random, base: date, *, is_student: bool) -> list[Dose]:
    """The doses one person received, starting around ``base`` (hire or enrolment)."""
    doses: list[Dose] = []

    def course(code: str, share: float, gaps: tuple[int, ...]) -> None:
        if rng.random() >= share:
            return
        day = base + timedelta(days=rng.randint(-20, 20))
        for gap in gaps:
            day += timedelta(days=gap + rng.randint(0, gap // 10 + 2))
            doses.append((day, code))

    course("HEPB", 0.95, (0, 30, 150))
    course("MMR", 0.90, (0, 28))
    course("VAR", 0.70, (0, 42))
    course("HEPA", 0.25, (0, 180))
    if is_student:
        course("MENACWY", 0.50, (0,))
    if rng.random() < 0.9:
        day = base + timedelta(days=rng.randint(0, 30))
        while day < ref.REFERENCE_DATE:
            doses.append((day, "TDAP"))
            day += timedelta(days=3650 + rng.randint(0, 200))
    for season in range(max(base.year, 2012), ref.REFERENCE_DATE.year):
        day = _flu_day(rng, season)
        if day >= base and rng.random() < 0.75:
            doses.append((day, "FLU"))
    if rng.random() < 0.85:
        first = date(2021, 3, 1) + timedelta(days=rng.randint(0, 200))
        doses += [(first, "COVID19"), (first + timedelta(days=rng.randint(21, 84)), "COVID19")]
        for year, share in ((2022, 0.7), (2023, 0.45), (2024, 0.3), (2025, 0.25)):
            if rng.random() < share:
                doses.append((date(year, 4, 1) + timedelta(days=rng.randint(0, 150)), "COVID19"))
    return [(day, code) for day, code in doses if day < ref.REFERENCE_DATE]
