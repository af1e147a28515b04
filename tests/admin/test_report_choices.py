"""Choices of report parameters from a table: what each user may pick, cached in memory with a
bounded size, forgotten when the app writes to the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.exports.reports_choices import ReportChoices
from datadesk.exports.reports_params import ParameterProblems
from datadesk.models.audit import AuditContext
from tests.admin.report_books import (
    ADMIN,
    OFFICIAL,
    demo_config_with,
    query,
)


def rename_outside_the_app(url: str, dept_id: int, name: str) -> None:
    """Change a department's name as another system writing to the database would."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE DEPARTMENTS SET DEPT_NAME = :n WHERE DEPT_ID = :d"),
            {"n": name, "d": dept_id},
        )
    engine.dispose()


def test_options_are_the_rows_offered_by_their_labels(runtimes: Any, demo_db_url: str) -> None:
    service = runtimes().reports
    spec = service.get("headcount").parameters["department"]
    expected = query(demo_db_url, "SELECT DEPT_ID, DEPT_NAME FROM DEPARTMENTS ORDER BY DEPT_NAME")
    assert [(int(k), label) for k, label in service.options(spec, OFFICIAL) or []] == [
        (int(k), name) for k, name in expected
    ]
    vaccines = service.get("immunization_compliance").parameters["vaccine"]
    mandatory = query(demo_db_url, "SELECT VACCINE_CODE FROM VACCINES WHERE MANDATORY = 'Y'")
    offered = service.options(vaccines, OFFICIAL) or []
    assert sorted(code for code, _ in offered) == sorted(code for (code,) in mandatory)
    assert ("FLU", "Influenza (seasonal)") in offered


def test_cached_until_the_app_writes_to_the_table(runtimes: Any, demo_db_url: str) -> None:
    runtime = runtimes()
    service = runtime.reports
    spec = service.get("headcount").parameters["department"]
    departments = runtime.catalog.tables["departments"]
    label = dict(service.options(spec, OFFICIAL) or [])
    original = label[13]
    audit = AuditContext("test", "form", None)
    try:
        rename_outside_the_app(demo_db_url, 13, "Emergency Medicine (renamed outside)")
        assert dict(service.options(spec, OFFICIAL) or [])[13] == original  # from the cache
        runtime.records.update(departments, [13], {"dept_name": "Emergency Care"}, audit=audit)
        assert dict(service.options(spec, OFFICIAL) or [])[13] == "Emergency Care"
    finally:
        runtime.records.update(departments, [13], {"dept_name": original}, audit=audit)
    assert dict(service.options(spec, OFFICIAL) or [])[13] == original


def test_the_cache_holds_a_bounded_number_of_lists(runtimes: Any, demo_db_url: str) -> None:
    runtime = runtimes()
    spec = runtime.reports.get("headcount").parameters["department"]
    choices = ReportChoices(runtime.engine, runtime.catalog, runtime.policy, 200, size=1)
    original = dict(choices.options(spec, OFFICIAL) or [])[13]
    try:
        rename_outside_the_app(demo_db_url, 13, "Renamed")
        assert dict(choices.options(spec, OFFICIAL) or [])[13] == original  # cached
        choices.options(spec, ADMIN)  # another scope: the only place goes to it
        assert dict(choices.options(spec, OFFICIAL) or [])[13] == "Renamed"  # read again
    finally:
        rename_outside_the_app(demo_db_url, 13, original)


def test_a_table_too_large_for_a_list_is_checked_value_by_value(
    runtimes: Any, demo_db_url: str
) -> None:
    runtime = runtimes()
    spec = runtime.reports.get("placements_by_site").parameters["site"]
    choices = ReportChoices(runtime.engine, runtime.catalog, runtime.policy, 10)
    assert choices.options(spec, OFFICIAL) is None  # 40 sites: typed in, not listed
    [(name,)] = query(demo_db_url, "SELECT SITE_NAME FROM PLACEMENT_SITES WHERE SITE_ID = 3")
    assert choices.label_of(spec, OFFICIAL, 3) == name
    assert choices.label_of(spec, OFFICIAL, 999) is None


def test_choices_are_limited_to_the_rows_the_user_may_list(runtimes: Any, tmp_path: Path) -> None:
    def own_department(document: dict[str, Any]) -> None:
        document["roles"]["ward_official"] = {
            "tables": {
                "staff": {"actions": ["list", "export"]},
                "staff_categories": {"actions": ["list", "export"]},
                "departments": {
                    "actions": ["list"],
                    "rows": [{"column": "dept_id", "equals_user": "department_id"}],
                },
            }
        }
        document["reports"]["headcount"]["roles"].append("ward_official")

    service = runtimes(demo_config_with(tmp_path, own_department)).reports
    ward = Actor("ward", frozenset({"ward_official"}), {"department_id": "13"})
    spec = service.get("headcount")
    assert service.options(spec.parameters["department"], ward) == [(13, "Emergency Medicine")]
    with pytest.raises(ParameterProblems) as caught:
        service.read_parameters(spec, ward, {"department": "12"})
    assert caught.value.errors == {"department": "'12' is not one of the choices"}
    assert service.read_parameters(spec, ward, {"department": "13"}).values["department"] == 13
