"""Reports as each role may see them: hidden columns left out (never summed), rows outside the
role's scope absent, values of referenced rows outside it empty, and who may run what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datadesk.auth.actor import Actor
from datadesk.errors import AccessDenied, TooManyRows
from tests.admin.report_books import (
    ADMIN,
    MANAGER,
    OFFICIAL,
    demo_config_with,
    query,
    run_report,
)

DEPARTMENT = 13  # Emergency Medicine: many staff
WARD = Actor("ward", frozenset({"ward_official"}), {"department_id": str(DEPARTMENT)})


def with_ward_official(document: dict[str, Any]) -> None:
    """A role that exports its own department's staff (salaries hidden) and every
    certification, but neither trainings nor other departments' staff."""
    document["roles"]["ward_official"] = {
        "tables": {
            "staff": {
                "actions": ["list", "view", "export"],
                "hidden": ["salary"],
                "rows": [{"column": "dept_id", "equals_user": "department_id"}],
            },
            "certifications": {"actions": ["list", "view", "export"]},
            "departments": {"actions": ["list", "view", "export"]},
            "staff_categories": {"actions": ["list", "view", "export"]},
        }
    }
    for name in ("headcount", "certifications_expiring"):
        document["reports"][name]["roles"].append("ward_official")
    document["reports"]["certificate_list"] = {
        "title": "Certificates",
        "table": "certifications",
        "roles": ["ward_official"],
        "sheets": [
            {
                "name": "All",
                "columns": ["cert_no", "staff_id.last_name", "staff_id.dept_id.dept_name"],
            }
        ],
    }


def test_hidden_columns_are_left_out_with_their_sums_and_said_so(
    runtimes: Any, tmp_path: Path
) -> None:
    runtime = runtimes()
    raw = {"hired_by": "2020-01-01"}
    full = run_report(runtime, "headcount", MANAGER, raw, tmp_path / "m.xlsx")
    seen = run_report(runtime, "headcount", OFFICIAL, raw, tmp_path / "o.xlsx")
    assert full["By department"].header[-2:] == ["Average salary", "Salaries"]
    for name, sheet in seen.items():
        assert "Average salary" not in sheet.header and "Salaries" not in sheet.header
        assert sheet.header == [h for h in full[name].header if "salar" not in h.lower()]
        assert len(sheet.rows) == len(full[name].rows)
        # The totals row has no cell beyond the visible columns: no salary sum anywhere.
        if sheet.totals is not None:
            assert len(sheet.totals) == len(sheet.header)
    note = "Not shown (hidden from you): Average salary, Salaries"
    assert note in seen["By department"].preamble
    assert not any("Not shown" in line for line in full["By department"].preamble)
    salaries = {round(float(v), 2) for v in full["By department"].column("Salaries")}
    shown = {
        round(float(v), 2)
        for sheet in seen.values()
        for row in [*sheet.rows, sheet.totals or []]
        for v in row
        if isinstance(v, int | float)
    }
    assert salaries and not salaries & shown


def test_rows_outside_the_scope_are_absent_and_referenced_values_empty(
    runtimes: Any, demo_db_url: str, tmp_path: Path
) -> None:
    runtime = runtimes(demo_config_with(tmp_path, with_ward_official))
    headcount = run_report(
        runtime, "headcount", WARD, {"hired_by": "2026-01-01"}, tmp_path / "h.xlsx"
    )
    [(own, clinical)] = query(
        demo_db_url,
        "SELECT COUNT(*), SUM(CASE WHEN C.IS_CLINICAL = 'Y' THEN 1 ELSE 0 END) FROM STAFF S"
        " JOIN STAFF_CATEGORIES C ON C.CATEGORY_CODE = S.CATEGORY_CODE"
        " WHERE S.ACTIVE = 1 AND S.DEPT_ID = :d",
        d=DEPARTMENT,
    )
    everyone = query(demo_db_url, "SELECT COUNT(*) FROM STAFF WHERE ACTIVE = 1")[0][0]
    assert everyone > own > 50
    assert headcount["By department"].rows == [["Emergency Medicine", own, clinical]]
    assert headcount["By department"].totals[1] == own
    assert sum(headcount["By category"].column("Staff")) == own

    # Certifications are all theirs to export, the staff behind them only in their department:
    # values reached through a reference to other staff are empty ...
    listing = run_report(runtime, "certificate_list", WARD, {}, tmp_path / "l.xlsx")["All"]
    everything = run_report(runtime, "certificate_list", ADMIN, {}, tmp_path / "a.xlsx")["All"]
    [(count,)] = query(demo_db_url, "SELECT COUNT(*) FROM CERTIFICATIONS")
    assert len(listing.rows) == len(everything.rows) == count
    ours = set(
        query(
            demo_db_url,
            "SELECT C.CERT_NO, S.LAST_NAME FROM CERTIFICATIONS C"
            " JOIN STAFF S ON S.STAFF_ID = C.STAFF_ID WHERE S.DEPT_ID = :d",
            d=DEPARTMENT,
        )
    )
    shown = {(number, name) for number, name, _ in listing.rows if name is not None}
    assert shown == ours and len(ours) > 10
    assert {department for _, name, department in listing.rows} == {"Emergency Medicine", None}
    # ... and a filter on such a value keeps only rows whose referenced row the user may see.
    certifications = run_report(
        runtime, "certifications_expiring", WARD, {"days": "365"}, tmp_path / "c.xlsx"
    )["Certifications"]
    expected = query(
        demo_db_url,
        """SELECT C.CERT_NO FROM CERTIFICATIONS C JOIN STAFF S ON S.STAFF_ID = C.STAFF_ID
            WHERE C.EXPIRY_DATE >= '2026-01-01' AND C.EXPIRY_DATE <= '2027-01-01'
              AND S.ACTIVE = 1 AND S.DEPT_ID = :d""",
        d=DEPARTMENT,
    )
    assert sorted(certifications.column("Certificate no.")) == sorted(n for (n,) in expected)
    assert "Training" not in certifications.header  # trainings: not exported by this role
    assert "Not shown (hidden from you): Training" in certifications.preamble


def test_who_may_run_a_report(runtimes: Any, tmp_path: Path) -> None:
    runtime = runtimes()
    service = runtime.reports
    assert [s.name for s in service.available(OFFICIAL)] == list(service.specs)
    auditor = Actor("auditor", frozenset({"auditor"}))
    clerk = Actor("clerk", frozenset({"clerk"}), {"department_id": "3"})
    nobody = Actor("nobody", frozenset())
    for actor in (auditor, clerk, nobody):
        assert service.available(actor) == []
        with pytest.raises(AccessDenied, match="may not run"):
            service.require(actor, service.get("headcount"))
    path = tmp_path / "no.xlsx"
    values = service.read_parameters(service.get("headcount"), ADMIN, {})
    with pytest.raises(AccessDenied):
        service.write(service.get("headcount"), auditor, values, path)
    assert not path.exists() or path.stat().st_size == 0


def test_a_sheet_over_the_row_cap_is_refused(runtimes: Any, tmp_path: Path) -> None:
    def small_cap(document: dict[str, Any]) -> None:
        document["exports"] = {"max_rows": 30}

    runtime = runtimes(demo_config_with(tmp_path, small_cap))
    service = runtime.reports
    spec = service.get("headcount")
    values = service.read_parameters(spec, ADMIN, {})
    with pytest.raises(TooManyRows, match=r"'By department and category'.*more than 30 rows"):
        service.write(spec, ADMIN, values, tmp_path / "big.xlsx")
    # Narrower parameters fit under the cap.
    values = service.read_parameters(spec, ADMIN, {"department": str(DEPARTMENT)})
    result = service.write(spec, ADMIN, values, tmp_path / "small.xlsx")
    assert [s.rows for s in result.sheets] == [1, 7, 7]


def with_pay_reports(document: dict[str, Any]) -> None:
    """A report on salaries for officials (who may not see them), and one of the user's own
    department (an attribute of the user running it)."""
    with_ward_official(document)
    document["reports"]["pay"] = {
        "title": "Pay",
        "table": "staff",
        "roles": ["official"],
        "sheets": [
            {"name": "Detail", "columns": ["employee_no", "salary"], "sort": ["-salary"]},
            {"name": "By salary", "columns": ["salary", {"aggregate": "count"}]},
            {"name": "Only pay", "columns": ["salary"]},
        ],
    }
    document["reports"]["own_department"] = {
        "title": "My department",
        "table": "staff",
        "roles": ["ward_official"],
        "filters": [{"column": "dept_id", "equals_user": "department_id"}],
        "sheets": [{"name": "Staff", "columns": ["employee_no"]}],
    }


def test_hidden_columns_neither_sort_nor_group_and_a_sheet_of_them_is_left_out(
    runtimes: Any, demo_db_url: str, tmp_path: Path
) -> None:
    runtime = runtimes(demo_config_with(tmp_path, with_pay_reports))
    full = run_report(runtime, "pay", ADMIN, {}, tmp_path / "a.xlsx")
    seen = run_report(runtime, "pay", OFFICIAL, {}, tmp_path / "o.xlsx")
    by_key = [n for (n,) in query(demo_db_url, "SELECT EMPLOYEE_NO FROM STAFF ORDER BY STAFF_ID")]
    by_pay = [r[0] for r in full["Detail"].rows]
    assert by_pay != by_key and sorted(by_pay) == sorted(by_key)
    assert seen["Detail"].header == ["Employee no."]
    assert seen["Detail"].column("Employee no.") == by_key  # the key order: salary not revealed
    assert len(full["By salary"].rows) > 100
    assert seen["By salary"].rows == [[len(by_key)]]  # the groups by salary merge into one
    assert list(seen) == ["Detail", "By salary"]
    assert "Sheets left out (no column visible to you): Only pay" in seen["Detail"].preamble


def test_filters_on_an_attribute_of_the_user(
    runtimes: Any, demo_db_url: str, tmp_path: Path
) -> None:
    runtime = runtimes(demo_config_with(tmp_path, with_pay_reports))
    own = run_report(runtime, "own_department", WARD, {}, tmp_path / "w.xlsx")["Staff"]
    expected = query(
        demo_db_url,
        "SELECT EMPLOYEE_NO FROM STAFF WHERE DEPT_ID = :d ORDER BY STAFF_ID",
        d=DEPARTMENT,
    )
    assert own.column("Employee no.") == [n for (n,) in expected]
    # An admin has no department_id: the filter matches nothing, as a row rule would.
    assert run_report(runtime, "own_department", ADMIN, {}, tmp_path / "a.xlsx")["Staff"].rows == []
