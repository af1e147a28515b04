"""``datadesk import`` as a real process: summary, exit codes, --dry-run, --errors, --as, and a
process killed in the middle of an import leaving the database as before."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openpyxl
import sqlalchemy as sa

from datadesk.app import Runtime
from datadesk.auth.actor import Actor
from datadesk.config.schema import ImportProfile
from datadesk.settings import DEMO_CONFIG, Settings
from tests.imports.test_import_service import (
    IMMUNIZATION_PROFILE,
    STAFF_PROFILE,
    sheet_row,
    staff_rows,
    workbook,
)

DATADESK = str(Path(sys.executable).with_name("datadesk"))


def cli(settings: Settings, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DATADESK, *args],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "DATADESK_DATABASE_URL": settings.database_url,
        "DATADESK_CONFIG": str(DEMO_CONFIG),
        "DATADESK_VAR_DIR": str(settings.var_dir),
    }


def save_profiles(runtime: Runtime) -> None:
    """The test profiles, saved as if mapped on the Import page."""
    runtime.imports.jobs.save_profile("t_staff", ImportProfile.model_validate(STAFF_PROFILE), "t")
    runtime.imports.jobs.save_profile(
        "t_imm", ImportProfile.model_validate(IMMUNIZATION_PROFILE), "t"
    )


def count(runtime: Runtime, sql: str, **params: Any) -> Any:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_dry_run_then_commit_with_summary_and_exit_codes(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    save_profiles(runtime)
    staff = staff_rows(runtime, 2)
    rows = [sheet_row(s) for s in staff]
    rows[1][2] = "Clied"
    path = tmp_path / "register.xlsx"
    path.write_bytes(workbook(rows))

    dry = cli(settings, "import", "t_staff", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run, nothing written" in dry.stdout
    assert "2 rows read, 0 to insert, 1 to update, 1 unchanged, 0 with problems" in dry.stdout
    assert count(runtime, "SELECT COUNT(*) FROM staff WHERE first_name = 'Clied'") == 0

    done = cli(settings, "import", "t_staff", str(path))
    assert done.returncode == 0, done.stderr
    assert "1 updated" in done.stdout and "committed" in done.stdout
    assert count(runtime, "SELECT COUNT(*) FROM staff WHERE first_name = 'Clied'") == 1
    login = count(runtime, "SELECT username FROM datadesk_audit WHERE source = 'import'")
    assert login.startswith("system:")
    assert count(runtime, "SELECT channel FROM datadesk_import_jobs ORDER BY id DESC") == "cli"


def test_problems_exit_non_zero_and_errors_workbook_is_written(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    save_profiles(runtime)
    row = sheet_row(staff_rows(runtime, 1)[0])
    row[3] = "NOPE"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook([row]))
    out = tmp_path / "bad-errors.xlsx"
    result = cli(settings, "import", "t_staff", str(path), "--errors", str(out))
    assert result.returncode == 1
    assert "row 4, column D" in result.stderr and "'NOPE' was not found" in result.stderr
    assert "nothing was imported" in result.stderr
    book = openpyxl.load_workbook(out)
    assert "NOPE" in book["Staff"]["D4"].comment.text


def test_as_user_applies_that_users_policy(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    save_profiles(runtime)
    path = tmp_path / "register.xlsx"
    path.write_bytes(workbook([sheet_row(staff_rows(runtime, 1)[0])]))
    refused = cli(settings, "import", "t_staff", str(path), "--as", "clerk")
    assert refused.returncode == 1 and "may not import" in refused.stderr
    unknown = cli(settings, "import", "t_staff", str(path), "--as", "ghost")
    assert unknown.returncode == 1 and "no active datadesk user" in unknown.stderr
    ok = cli(settings, "import", "t_staff", str(path), "--as", "manager", "--dry-run")
    assert ok.returncode == 0, ok.stderr
    missing = cli(settings, "import", "no_such_profile", str(path))
    assert missing.returncode == 1 and "no import profile named" in missing.stderr


def test_a_killed_import_leaves_the_database_as_before(
    runtime: Runtime, settings: Settings, tmp_path: Path, web: Any
) -> None:
    save_profiles(runtime)
    employee = staff_rows(runtime, 1)[0]["employee_no"]
    vaccine = count(runtime, "SELECT vaccine_code FROM vaccines ORDER BY vaccine_code")
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Employee", "Vaccine", "Dose", "Given on", "Lot", "Verified"])
        for i in range(150_000):
            writer.writerow([employee, vaccine, 1 + i % 5, "17.06.2013", f"K{i}", "x"])
    before = count(runtime, "SELECT COUNT(*) FROM immunizations")
    audit_before = count(runtime, "SELECT COUNT(*) FROM datadesk_audit")
    process = subprocess.Popen(
        [DATADESK, "import", "t_imm", str(path)],
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_rows_are_written(runtime, settings, process)
        assert process.poll() is None, "the import finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    assert process.returncode == -signal.SIGKILL
    assert count(runtime, "SELECT COUNT(*) FROM immunizations") == before
    assert count(runtime, "SELECT COUNT(*) FROM datadesk_audit") == audit_before
    if runtime.engine.dialect.name == "sqlite":
        assert count(runtime, "PRAGMA integrity_check") == "ok"
    # The job is shown as interrupted, on its page too.
    job = runtime.imports.jobs.get(count(runtime, "SELECT MAX(id) FROM datadesk_import_jobs"))
    assert job.status == "running" and job.is_interrupted and job.shown_status == "interrupted"
    page = web("admin").get(f"/admin/imports/{job.id}").text
    assert "Interrupted: the process running this import stopped" in page
    assert "nothing of it was written" in page
    # The database is usable right away: a new run of the same profile works.
    small = tmp_path / "small.csv"
    small.write_text(
        f"Employee,Vaccine,Dose,Given on,Lot,Verified\n{employee},{vaccine},1,17.06.2013,S1,x\n",
        encoding="utf-8",
    )
    result = cli(settings, "import", "t_imm", str(small), "--as", "manager")
    assert result.returncode == 0, result.stderr
    assert count(runtime, "SELECT COUNT(*) FROM immunizations") == before + 1


def test_sigterm_stops_an_import_cleanly_and_marks_the_job_interrupted(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    save_profiles(runtime)
    employee = staff_rows(runtime, 1)[0]["employee_no"]
    vaccine = count(runtime, "SELECT vaccine_code FROM vaccines ORDER BY vaccine_code")
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Employee", "Vaccine", "Dose", "Given on", "Lot", "Verified"])
        for i in range(100_000):
            writer.writerow([employee, vaccine, 1 + i % 5, "17.06.2013", f"T{i}", "x"])
    before = count(runtime, "SELECT COUNT(*) FROM immunizations")
    audit_before = count(runtime, "SELECT COUNT(*) FROM datadesk_audit")
    process = subprocess.Popen(
        [DATADESK, "import", "t_imm", str(path)],
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = count(runtime, "SELECT status FROM datadesk_import_jobs ORDER BY id DESC")
        if status == "running":
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert "interrupted" in err and "nothing was written" in err and "Traceback" not in err
    job = runtime.imports.jobs.get(count(runtime, "SELECT MAX(id) FROM datadesk_import_jobs"))
    assert job.status == "interrupted"
    assert job.message and "nothing was written" in job.message
    assert count(runtime, "SELECT COUNT(*) FROM immunizations") == before
    assert count(runtime, "SELECT COUNT(*) FROM datadesk_audit") == audit_before


def _wait_until_rows_are_written(
    runtime: Runtime, settings: Settings, process: subprocess.Popen[bytes]
) -> None:
    """Until the import's transaction holds written rows: on PostgreSQL the job's stored
    progress, on SQLite the write-ahead log growing past a few pages of rows."""
    wal = Path(str(sa.engine.make_url(settings.database_url).database) + "-wal")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if runtime.engine.dialect.name == "sqlite":
            if wal.exists() and wal.stat().st_size > 2 * 1024 * 1024:
                return
        else:
            progress = count(
                runtime, "SELECT progress_rows FROM datadesk_import_jobs ORDER BY id DESC"
            )
            if progress:
                return
        time.sleep(0.05)  # polling the condition, not waiting for time to pass
    raise AssertionError("the import wrote no rows within 3 minutes")


__all__ = ["Actor"]
