"""The demo's legacy workbooks through the real import, with their configured profiles: the
counts each was designed to give against the freshly seeded demo, a re-import that changes
nothing, and the designed problems reported where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from datadesk.app import Runtime
from datadesk.auth.actor import Actor
from datadesk.demo import workbooks
from datadesk.importers.service import ImportService

FOLDER = Path(workbooks.__file__).parent / "workbooks"
MANAGER = Actor("manager", frozenset({"data_manager"}))
# The immunization sheet's counts assume the full 100,000-row seed; these do not.
SEED_INDEPENDENT = {
    "staff_register": "staff_register.xlsx",
    "certifications_ods": "certifications.ods",
    "placement_sites_csv": "placement_sites.csv",
}


def run(service: ImportService, profile: str, file_name: str, *, commit: bool) -> object:
    content = (FOLDER / file_name).read_bytes()
    job_id = service.start(
        actor=MANAGER,
        profile=service.profile(profile),
        profile_name=profile,
        file_name=file_name,
        content=content,
        channel="cli",
    )
    job, _ = service.run(job_id, MANAGER, commit=commit)
    return job


@pytest.mark.parametrize("profile", sorted(SEED_INDEPENDENT))
def test_demo_workbook_gives_its_designed_counts(runtime: Runtime, profile: str) -> None:
    file_name = SEED_INDEPENDENT[profile]
    expected = workbooks.EXPECTED[file_name]
    job = run(runtime.imports, profile, file_name, commit=True)
    assert job.status == "committed", (job.message, job.report.get("problems"))
    counts = {
        "unchanged": job.unchanged,
        "updated": job.updated,
        "inserted": job.inserted,
        "errors": job.error_rows,
    }
    assert counts == expected
    again = run(runtime.imports, profile, file_name, commit=True)
    assert (again.inserted, again.updated) == (0, 0)
    assert again.unchanged == expected["unchanged"] + expected["updated"] + expected["inserted"]


def test_the_old_xls_sheet_reports_its_designed_problems(runtime: Runtime) -> None:
    job = run(runtime.imports, "immunization_sheet", "immunizations_2015.xls", commit=True)
    assert job.status == "failed"
    messages = " | ".join(p[4] for p in job.report["problems"])
    assert "'099998' was not found" in messages
    assert "HEPC" in messages
    assert "31.09.2015" in messages
    assert runtime.imports.jobs.file(job.id, "errors") is not None
