"""The demo's named reports over the demo data, checked against SQL written here.

Every report is run as the Reports page and ``datadesk report`` run it (``ReportService``),
read back with openpyxl (the values Excel shows, totals included), and compared with SQL
written independently in the test: groups, counts, averages, shares, totals, parameters.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.admin.conftest import REPORT_DAY
from tests.admin.report_books import (
    ADMIN,
    query,
    run_report,
)


def approx(value: Any) -> Any:
    """A number as Excel holds it (a float), compared loosely."""
    return pytest.approx(float(value), rel=1e-9)


def test_headcount_groups_counts_averages_and_totals_match_sql(
    runtimes: Any, demo_db_url: str, tmp_path: Path
) -> None:
    sheets = run_report(
        runtimes(), "headcount", ADMIN, {"hired_by": "2015-06-30"}, tmp_path / "h.xlsx"
    )
    expected = query(
        demo_db_url,
        """SELECT D.DEPT_NAME, COUNT(*),
                  SUM(CASE WHEN C.IS_CLINICAL = 'Y' THEN 1 ELSE 0 END), AVG(S.SALARY),
                  SUM(S.SALARY)
             FROM STAFF S JOIN DEPARTMENTS D ON D.DEPT_ID = S.DEPT_ID
             JOIN STAFF_CATEGORIES C ON C.CATEGORY_CODE = S.CATEGORY_CODE
            WHERE S.ACTIVE = 1 AND S.HIRE_DATE <= :day
            GROUP BY D.DEPT_NAME ORDER BY D.DEPT_NAME""",
        day="2015-06-30",
    )
    by_department = sheets["By department"]
    assert by_department.header == ["Department", "Staff", "Clinical", "Average salary", "Salaries"]
    assert len(by_department.rows) == len(expected) > 10
    for row, (name, staff, clinical, average, total) in zip(
        by_department.rows, expected, strict=True
    ):
        assert row[:3] == [name, staff, clinical]
        assert row[3] == approx(average) and row[4] == approx(total)
    [(staff, clinical, average, total)] = query(
        demo_db_url,
        """SELECT COUNT(*), SUM(CASE WHEN C.IS_CLINICAL = 'Y' THEN 1 ELSE 0 END),
                  AVG(S.SALARY), SUM(S.SALARY)
             FROM STAFF S JOIN STAFF_CATEGORIES C ON C.CATEGORY_CODE = S.CATEGORY_CODE
            WHERE S.ACTIVE = 1 AND S.HIRE_DATE <= :day""",
        day="2015-06-30",
    )
    # The average of all staff, not the average of the departments' averages.
    assert by_department.totals == ["Total", staff, clinical, approx(average), approx(total)]
    by_category = sheets["By category"]
    counts = by_category.column("Staff")
    assert counts == sorted(counts, reverse=True)  # sort: ["-count"]
    assert sum(counts) == staff == by_category.totals[1]


OVERDUE = """
  FROM STAFF S JOIN DEPARTMENTS D ON D.DEPT_ID = S.DEPT_ID
 WHERE S.ACTIVE = 1 AND NOT EXISTS (
       SELECT 1 FROM IMMUNIZATIONS I
        WHERE I.STAFF_ID = S.STAFF_ID AND I.VACCINE_CODE = :vaccine AND I.ADMIN_DATE >= :since)
"""


def test_compliance_counts_the_overdue_with_a_subquery_and_parameters(
    runtimes: Any, demo_db_url: str, tmp_path: Path
) -> None:
    runtime = runtimes()
    raw = {"vaccine": "HEPB", "since": "2016-01-01", "department": ""}
    summary = run_report(runtime, "immunization_compliance", ADMIN, raw, tmp_path / "a.xlsx")
    rows = summary["By department"]
    active = dict(
        query(
            demo_db_url,
            "SELECT D.DEPT_NAME, COUNT(*) FROM STAFF S JOIN DEPARTMENTS D"
            " ON D.DEPT_ID = S.DEPT_ID WHERE S.ACTIVE = 1 GROUP BY D.DEPT_NAME",
        )
    )
    overdue = dict(
        query(
            demo_db_url,
            f"SELECT D.DEPT_NAME, COUNT(*) {OVERDUE} GROUP BY D.DEPT_NAME",
            vaccine="HEPB",
            since="2016-01-01",
        )
    )
    assert 0 < sum(overdue.values()) < sum(active.values())  # some are, some are not
    assert rows.column("Department") == sorted(active, key=rows.column("Department").index)
    for name, staff, late, share in rows.rows:
        assert (staff, late) == (active[name], overdue.get(name, 0))
        assert share == approx(overdue.get(name, 0) / active[name])
    total_active, total_overdue = sum(active.values()), sum(overdue.values())
    assert rows.totals == [
        "Total",
        total_active,
        total_overdue,
        approx(total_overdue / total_active),
    ]
    assert len(rows.rows) == len(active)

    # One department: the summary has its row, the detail lists exactly its overdue staff.
    raw = {"vaccine": "FLU", "since": "2025-01-01", "department": "13"}
    sheets = run_report(runtime, "immunization_compliance", ADMIN, raw, tmp_path / "b.xlsx")
    expected = query(
        demo_db_url,
        f"SELECT S.EMPLOYEE_NO {OVERDUE} AND S.DEPT_ID = 13"
        " ORDER BY S.LAST_NAME, S.FIRST_NAME, S.STAFF_ID",
        vaccine="FLU",
        since="2025-01-01",
    )
    detail = sheets["Overdue staff"]
    assert detail.column("Employee no.") == [number for (number,) in expected]
    assert set(detail.column("Department")) == {"Emergency Medicine"}
    assert sheets["By department"].rows[0][:3] == ["Emergency Medicine", 118, len(expected)]


def test_certifications_within_the_next_days_with_and_without_a_choice(
    runtimes: Any, demo_db_url: str, tmp_path: Path
) -> None:
    runtime = runtimes(today=REPORT_DAY)
    sheets = run_report(
        runtime, "certifications_expiring", ADMIN, {"days": "90"}, tmp_path / "c.xlsx"
    )
    expected = query(
        demo_db_url,
        """SELECT C.CERT_NO, C.EXPIRY_DATE FROM CERTIFICATIONS C
             JOIN STAFF S ON S.STAFF_ID = C.STAFF_ID
            WHERE C.EXPIRY_DATE >= :first AND C.EXPIRY_DATE <= :last AND S.ACTIVE = 1
            ORDER BY C.EXPIRY_DATE, S.LAST_NAME, S.FIRST_NAME, C.STAFF_ID, C.TRAINING_CODE""",
        first="2026-01-01",
        last="2026-03-31",
    )
    detail = sheets["Certifications"]
    assert len(expected) > 20
    assert detail.column("Certificate no.") == [number for number, _ in expected]
    expires = detail.column("Expires")
    assert all(isinstance(day, dt.datetime) for day in expires)  # Excel dates, not text
    assert expires[0].date() == min(dt.date.fromisoformat(str(d)[:10]) for _, d in expected)
    by_training = sheets["By training"]
    assert sum(by_training.column("Expiring")) == len(expected) == by_training.totals[1]
    assert by_training.totals[2] == expires[0]  # the earliest expiry of all
    assert "Expiring within (days): 90" in by_training.preamble

    hand_hygiene = run_report(
        runtime,
        "certifications_expiring",
        ADMIN,
        {"days": "90", "training": "HANDHYG"},
        tmp_path / "d.xlsx",
    )
    assert set(hand_hygiene["Certifications"].column("Training")) == {"Hand Hygiene"}
    assert (
        len(hand_hygiene["Certifications"].rows)
        == by_training.rows[by_training.column("Training").index("Hand Hygiene")][1]
    )


def test_placements_by_site_and_term_with_a_date_range_and_a_listed_choice(
    runtimes: Any, demo_db_url: str, tmp_path: Path
) -> None:
    raw = {"period.from": "2024-01-01", "period.to": "2024-12-31", "site_type": "HOSPITAL"}
    sheets = run_report(runtimes(), "placements_by_site", ADMIN, raw, tmp_path / "p.xlsx")
    expected = query(
        demo_db_url,
        """SELECT T.SITE_NAME, P.TERM, COUNT(*),
                  SUM(CASE WHEN P.GRADE = 'F' THEN 1 ELSE 0 END),
                  SUM(CASE WHEN P.GRADE IS NULL THEN 1 ELSE 0 END)
             FROM CLINICAL_PLACEMENTS P JOIN PLACEMENT_SITES T ON T.SITE_ID = P.SITE_ID
            WHERE P.START_DATE >= :first AND P.START_DATE <= :last AND T.SITE_TYPE = 'HOSPITAL'
            GROUP BY T.SITE_NAME, P.TERM ORDER BY T.SITE_NAME, P.TERM""",
        first="2024-01-01",
        last="2024-12-31",
    )
    grouped = sheets["By site and term"]
    header = grouped.header
    assert header == ["Site", "Kind", "Term", "Placements", "Capacity", "Failed", "Not yet graded"]
    shown = [[r[0], r[2], r[3], r[5], r[6]] for r in grouped.rows]
    assert shown == [list(row) for row in expected] and len(expected) > 5
    assert {r[1] for r in grouped.rows} == {"HOSPITAL"}
    assert grouped.totals[3] == sum(r[2] for r in expected)
    assert grouped.totals[4] is None  # total: none
    detail = sheets["Placements"]
    assert len(detail.rows) == sum(r[2] for r in expected)
    assert all(
        dt.datetime(2024, 1, 1) <= d <= dt.datetime(2024, 12, 31) for d in detail.column("Starts")
    )
    assert "Starting between: 2024-01-01 to 2024-12-31" in detail.preamble


def test_workbook_starts_with_title_parameters_and_who_generated_it(
    runtimes: Any, tmp_path: Path
) -> None:
    runtime = runtimes()
    runtime.reports.now = lambda: dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC)
    sheets = run_report(
        runtime,
        "headcount",
        ADMIN,
        {"hired_by": "2020-01-01", "department": "13"},
        tmp_path / "x.xlsx",
    )
    for sheet in sheets.values():
        assert sheet.preamble == [
            "Headcount by department and staff category",
            "Hired on or before: 2020-01-01",
            "Department: Emergency Medicine",
            "Generated 2026-03-05 09:30 UTC by admin",
        ]
    assert set(sheets["By department"].column("Department")) == {"Emergency Medicine"}
