"""``datadesk export`` as a real process over the demo database: rows, --as, exit codes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import sqlalchemy as sa
import yaml

from datadesk.settings import DEMO_CONFIG

DATADESK = str(Path(sys.executable).with_name("datadesk"))


def export(
    db_url: str, var: Path, *args: str, config: Path = DEMO_CONFIG
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATADESK_DATABASE_URL": db_url,
        "DATADESK_CONFIG": str(config),
        "DATADESK_VAR_DIR": str(var),
    }
    return subprocess.run(
        [DATADESK, "export", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_export_as_a_user_with_list_state(demo_db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "staff.xlsx"
    done = export(
        demo_db_url, tmp_path, "staff", "-o", str(out), "--all-columns",
        "--filter", "dept_id=3", "--filter", "hire_date.from=2000-01-01",
        "--sort=-hire_date", "--as", "official",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        expected = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT EMPLOYEE_NO FROM STAFF WHERE DEPT_ID = 3 AND HIRE_DATE >= '2000-01-01' "
                "ORDER BY HIRE_DATE DESC, STAFF_ID"
            )
        ]
    engine.dispose()
    assert f"exported {len(expected)} rows of staff" in done.stdout
    sheet = openpyxl.load_workbook(out).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert "Salary ($)" not in header  # hidden from officials
    assert [r[header.index("Employee no.")] for r in rows[1:]] == expected
    assert openpyxl.load_workbook(out).properties.creator == "official"

    full = tmp_path / "all.csv"
    assert export(demo_db_url, tmp_path, "staff", "-o", str(full), "--all-columns").returncode == 0
    with full.open(encoding="utf-8-sig", newline="") as stream:
        assert "Salary ($)" in next(csv.reader(stream))  # without --as: full rights


def test_refusals_are_one_line_and_leave_no_file(demo_db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    document = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    document["exports"] = {"max_rows": 50}
    capped = tmp_path / "capped.yaml"
    capped.write_text(yaml.safe_dump(document), encoding="utf-8")
    cases = [
        (("immunizations", "-o", str(out), "--as", "auditor"), "may not export"),
        (("immunizations", "-o", str(out), "--as", "ghost"), "no active datadesk user"),
        (("immunizations", "-o", str(out), "--sort", "nope"), "cannot sort by 'nope'"),
        (("immunizations", "-o", str(out), "--filter", "dose_no"), "COLUMN=VALUE"),
        (("nosuchtable", "-o", str(out)), "no such table"),
        (("immunizations", "-o", str(tmp_path / "out.pdf")), ".xlsx or .csv"),
    ]
    for args, message in cases:
        result = export(demo_db_url, tmp_path, *args)
        assert result.returncode == 1, (args, result.stdout)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, args
    result = export(demo_db_url, tmp_path, "immunizations", "-o", str(out), config=capped)
    assert result.returncode == 1 and "more than 50 rows" in result.stderr
    assert list(tmp_path.glob("*.xlsx")) == [] and list(tmp_path.glob(".*partial")) == []
