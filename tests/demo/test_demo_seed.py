"""The seed generator: deterministic, sized as documented, consistent within itself."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from datadesk.demo.reference import REFERENCE_DATE
from datadesk.demo.seed import (
    CERTIFICATION_COUNT,
    MAX_IMMUNIZATIONS,
    PLACEMENT_COUNT,
    STAFF_COUNT,
    STUDENT_COUNT,
    add_months,
    generate_rows,
)
from datadesk.errors import InvalidInput


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict[str, object]]]:
    return generate_rows(2_000)


def test_generation_is_deterministic(rows: dict[str, list[dict[str, object]]]) -> None:
    assert generate_rows(2_000) == rows


def test_immunization_count_changes_nothing_else(rows: dict[str, list[dict[str, object]]]) -> None:
    other = generate_rows(7)
    assert len(other["immunizations"]) == 7
    assert {k: v for k, v in other.items() if k != "immunizations"} == {
        k: v for k, v in rows.items() if k != "immunizations"
    }


def test_sizes(rows: dict[str, list[dict[str, object]]]) -> None:
    assert len(rows["staff"]) == STAFF_COUNT == 2_000
    assert len(rows["students"]) == STUDENT_COUNT == 5_000
    assert len(rows["certifications"]) == CERTIFICATION_COUNT
    assert len(rows["clinical_placements"]) == PLACEMENT_COUNT
    assert len(rows["immunizations"]) == 2_000
    assert 200 <= len(rows["legacy_access_log"]) <= 900
    assert {v["vaccine_code"] for v in rows["vaccines"]} >= {"HEPB", "MMR", "VAR", "TDAP", "FLU"}


@pytest.mark.parametrize("count", [0, 1, 100_000, MAX_IMMUNIZATIONS])
def test_immunizations_come_in_the_asked_number(count: int) -> None:
    immunizations = generate_rows(count)["immunizations"]
    assert len(immunizations) == count
    assert [row["imm_id"] for row in immunizations] == list(range(1, count + 1))
    assert all(date(1980, 1, 1) <= row["admin_date"] < REFERENCE_DATE for row in immunizations)


def test_more_immunizations_than_supported_are_refused() -> None:
    with pytest.raises(InvalidInput):
        generate_rows(MAX_IMMUNIZATIONS + 1)


def test_immunizations_are_consistent(rows: dict[str, list[dict[str, object]]]) -> None:
    doses: dict[tuple[object, object, object], list[int]] = {}
    for row in rows["immunizations"]:
        assert (row["staff_id"] is None) != (row["student_id"] is None)
        person = (row["staff_id"], row["student_id"], row["vaccine_code"])
        doses.setdefault(person, []).append(row["dose_no"])
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in doses.values())
    dates = [row["admin_date"] for row in rows["immunizations"]]
    assert dates == sorted(dates)  # keys follow the date the dose was given


def test_certifications_expire_at_different_times(rows: dict[str, list[dict[str, object]]]) -> None:
    expiries = [row["expiry_date"] for row in rows["certifications"]]
    soon = REFERENCE_DATE + timedelta(days=60)
    assert sum(1 for day in expiries if day and day < REFERENCE_DATE) >= 300
    assert sum(1 for day in expiries if day and REFERENCE_DATE <= day < soon) >= 100
    assert None in expiries  # trainings that never expire
    keys = Counter((row["staff_id"], row["training_code"]) for row in rows["certifications"])
    assert max(keys.values()) == 1


def test_placements_one_per_student_and_term(rows: dict[str, list[dict[str, object]]]) -> None:
    placements = rows["clinical_placements"]
    assert max(Counter((p["student_id"], p["term"]) for p in placements).values()) == 1
    assert all(p["start_date"] <= p["end_date"] for p in placements)
    assert all((p["grade"] is None) == (p["end_date"] >= REFERENCE_DATE) for p in placements)


def test_legacy_log_key_is_unique(rows: dict[str, list[dict[str, object]]]) -> None:
    keys = Counter((row["username"], row["access_date"]) for row in rows["legacy_access_log"])
    assert max(keys.values()) == 1


def test_parents_come_before_children(rows: dict[str, list[dict[str, object]]]) -> None:
    for row in rows["departments"]:
        assert row["parent_dept_id"] is None or row["parent_dept_id"] < row["dept_id"]
    for row in rows["staff"]:
        assert row["supervisor_id"] is None or row["supervisor_id"] < row["staff_id"]


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2025, 5, 15), 12) == date(2026, 5, 15)
