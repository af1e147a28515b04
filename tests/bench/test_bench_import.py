"""The import benchmark measures what it says, on a tiny workbook: every row inserted and
audited, the database brought back between measurements, the ratios computed.

No timing is asserted: only that the measurements are consistent. (Peak memory is not checked
either: a child's ru_maxrss is at least the pytest process's own peak.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bench import import_children, import_setup, imports
from datadesk.models.engine import create_db_engine

ROWS = 300


@pytest.fixture
def prepared(fresh_db_url: str, tmp_path: Path) -> import_setup.BenchDatabase:
    return import_setup.prepare_database(fresh_db_url, tmp_path / "work", immunizations=200)


def _immunizations(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM IMMUNIZATIONS")).scalar_one())
    finally:
        engine.dispose()


def test_workbook_has_new_ids_and_is_cached(
    prepared: import_setup.BenchDatabase, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    path = import_setup.write_workbook(prepared, ROWS, tmp_path / "cache")
    workbook = load_workbook(path, read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert rows[0] == import_children.HEADINGS
    assert len(rows) == ROWS + 1
    assert [r[0] for r in rows[1:]] == list(
        range(prepared.base_imm_id + 1, prepared.base_imm_id + ROWS + 1)
    )
    assert all(r[1] in prepared.staff_ids and r[2] is None for r in rows[1:])
    assert all(r[3] in prepared.vaccine_codes and r[7] in ("Y", "N") for r in rows[1:])
    assert all(hasattr(r[5], "year") and isinstance(r[6], str) for r in rows[1:])  # dates, text
    modified = path.stat().st_mtime_ns
    assert import_setup.write_workbook(prepared, ROWS, tmp_path / "cache") == path
    assert path.stat().st_mtime_ns == modified


def test_measurements_are_consistent(prepared: import_setup.BenchDatabase, tmp_path: Path) -> None:
    before = _immunizations(prepared.url)
    path = import_setup.write_workbook(prepared, ROWS, tmp_path / "cache")

    readers = [
        imports.measure_calamine(path, ROWS),
        imports.measure_openpyxl(path, ROWS),
        imports.measure_datadesk_reader(path, ROWS),
    ]
    assert [s.detail["rows"] for s in readers] == [ROWS] * 3

    floor = imports.measure_floor(prepared, path, ROWS)
    assert floor.detail["inserted"] == ROWS
    assert _immunizations(prepared.url) == before  # restored
    audited = imports.measure_floor(prepared, path, ROWS, audit=True)
    assert (audited.name, audited.detail["audit_rows"]) == ("floor + audit", ROWS)
    assert _immunizations(prepared.url) == before

    datadesk = imports.measure_datadesk(prepared, path, ROWS)
    assert datadesk.detail["inserted"] == ROWS
    assert datadesk.detail["audit_rows"] == ROWS
    assert datadesk.detail["job_status"] == "committed"
    assert datadesk.detail["job_inserted"] == ROWS
    assert _immunizations(prepared.url) == before  # restored

    # The same file imports again: the restore removed the rows, audit entries and jobs.
    again = imports.measure_datadesk(prepared, path, ROWS)
    assert again.detail["audit_rows"] == ROWS

    for sample in [*readers, floor, audited, datadesk]:
        assert sample.seconds > 0 and sample.peak_rss_mb > 0
        assert sample.rows_per_second == pytest.approx(ROWS / sample.seconds)
    size = imports.SizeResults(
        ROWS, path.stat().st_size / 1e6, {s.name: s for s in [*readers, floor, audited, datadesk]}
    )
    assert size.ratio("datadesk import") == pytest.approx(datadesk.seconds / floor.seconds)
    text = "\n".join(imports.report([size, size], "SQLite"))
    assert "datadesk / floor" in text and "openpyxl / floor" in text
    assert f"{ROWS:,} rows inserted, {ROWS:,} audit entries" in text


def test_missing_rows_or_audit_entries_break_the_run() -> None:
    check = {"inserted": 300, "audit_rows": 299, "job_status": "committed", "job_inserted": 300}
    with pytest.raises(import_setup.BenchError, match="299 audit entries"):
        imports._check_import("datadesk import", check, 300)
    imports._check_import("datadesk import", {**check, "audit_rows": 300}, 300)
