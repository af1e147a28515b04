"""The child processes of the import benchmark (``bench.imports``): each measurement, and the
preparation of databases and workbooks, runs here in a fresh interpreter, started as
``python -m bench.import_children KIND SPEC_JSON``, and prints its result as one JSON line."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

FLOOR_BATCH = 1_000
PROFILE_NAME = "bench_immunizations"
ACTOR = "bench"
HEADINGS = (
    "imm_id",
    "staff_id",
    "student_id",
    "vaccine_code",
    "dose_no",
    "admin_date",
    "lot_number",
    "verified",
)
RESULT_MARK = "BENCH-RESULT "


def child_main(
    kind: str, spec_json: str, children: dict[str, Callable[[Any], Any]] | None = None
) -> int:
    """Run one child function (of ``children``, default this module's) and print its result
    as one JSON line."""
    spec = json.loads(spec_json)
    result = (children or CHILDREN)[kind](spec)
    print(RESULT_MARK + json.dumps(result, default=str), flush=True)
    return 0


def _bench_profile() -> Any:
    from datadesk.config.schema import ImportProfile

    return ImportProfile.model_validate(
        {
            "table": "immunizations",
            "label": "Benchmark: immunizations",
            "mode": "insert",
            "key": ["imm_id"],
            "header_row": 1,
            "columns": {name: {"from": name} for name in HEADINGS},
        }
    )


def _child_prepare(spec: dict[str, Any]) -> dict[str, Any]:
    import sqlalchemy as sa

    from datadesk.app import open_runtime
    from datadesk.config.loader import load_config
    from datadesk.demo.build import build_demo
    from datadesk.models.engine import create_db_engine
    from datadesk.models.migrations import upgrade_database
    from datadesk.settings import DEMO_CONFIG, Settings

    url = spec["url"]
    engine = create_db_engine(url)
    build_demo(engine, immunizations=spec["immunizations"])
    engine.dispose()
    config = load_config(DEMO_CONFIG)
    upgrade_database(url, config.app_tables)
    runtime = open_runtime(
        Settings(database_url=url, config_path=DEMO_CONFIG, var_dir=Path(spec["var_dir"]))
    )  # also writes the reflection cache the CLI will read
    try:
        runtime.imports.jobs.save_profile(PROFILE_NAME, _bench_profile(), ACTOR)
        with runtime.engine.connect() as conn:
            base = conn.execute(sa.text("SELECT max(IMM_ID) FROM IMMUNIZATIONS")).scalar()
            staff = conn.execute(sa.text("SELECT STAFF_ID FROM STAFF ORDER BY STAFF_ID")).scalars()
            staff_ids = [int(v) for v in staff]
            codes = conn.execute(
                sa.text("SELECT VACCINE_CODE FROM VACCINES ORDER BY VACCINE_CODE")
            ).scalars()
            vaccine_codes = [str(v) for v in codes]
    finally:
        runtime.engine.dispose()
    return {
        "config_path": str(DEMO_CONFIG),
        "base_imm_id": int(base or 0),
        "staff_ids": staff_ids,
        "vaccine_codes": vaccine_codes,
    }


def _child_workbook(spec: dict[str, Any]) -> dict[str, Any]:
    """Write the rows with openpyxl's write_only mode (streamed to the file)."""
    import random

    from openpyxl import Workbook

    path = Path(spec["path"])
    rows, base = spec["rows"], spec["base"]
    staff_ids, codes = spec["staff_ids"], spec["vaccine_codes"]
    rng = random.Random(rows)
    first_day = dt.date(2015, 1, 1).toordinal()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Immunizations")
    sheet.append(list(HEADINGS))
    for number in range(rows):
        sheet.append(
            [
                base + 1 + number,
                rng.choice(staff_ids),
                None,  # student_id: blank (the row is a staff member's)
                rng.choice(codes),
                rng.randint(1, 3),
                dt.date.fromordinal(first_day + rng.randrange(3650)),
                f"L{rng.randrange(10_000_000):07d}",
                "Y" if rng.random() < 0.7 else "N",
            ]
        )
    partial = path.with_suffix(".part")
    workbook.save(partial)
    partial.replace(path)
    return {"bytes": path.stat().st_size}


def _calamine_dicts(path: str, names: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of the first sheet as dicts by heading (or by ``names`` in sheet order); '' -> None."""
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    rows = sheet.iter_rows()
    headings = [str(h) for h in next(rows)]
    keys = list(names) if names is not None else headings
    for row in rows:
        yield {k: (None if v == "" else v) for k, v in zip(keys, row, strict=True)}


def _child_calamine(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    count = sum(1 for _ in _calamine_dicts(spec["path"]))
    return {"rows": count, "work_seconds": time.perf_counter() - started}


def _child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor; with ``audit``, also one audit entry per row in the same transaction."""
    import sqlalchemy as sa

    from datadesk.models.engine import create_db_engine

    engine = create_db_engine(spec["url"])
    audit = _audit_table() if spec.get("audit") else None
    try:
        table = sa.Table("immunizations", sa.MetaData(), autoload_with=engine)
        by_lower = {c.name.lower(): c.name for c in table.columns}
        names = [by_lower[h] for h in HEADINGS]
        started = time.perf_counter()
        with engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for row in _calamine_dicts(spec["path"], names):
                batch.append(row)
                if len(batch) >= FLOOR_BATCH:
                    _floor_write(conn, table, audit, batch)
                    batch = []
            if batch:
                _floor_write(conn, table, audit, batch)
        work = time.perf_counter() - started
        with engine.connect() as conn:
            inserted = conn.execute(
                sa.select(sa.func.count()).where(table.c[names[0]] > spec["base"])
            ).scalar_one()
            audit_rows = (
                conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one()
                if audit is not None
                else None
            )
    finally:
        engine.dispose()
    return {"inserted": inserted, "audit_rows": audit_rows, "work_seconds": work}


def _audit_table() -> Any:
    from datadesk.config.loader import load_config
    from datadesk.models.app_tables import app_tables
    from datadesk.settings import DEMO_CONFIG

    config = load_config(DEMO_CONFIG)
    return app_tables(config.app_tables.prefix, config.app_tables.schema_name).audit


def _floor_write(conn: Any, table: Any, audit: Any, batch: list[dict[str, Any]]) -> None:
    """One executemany of the rows; with ``audit``, one of their audit entries too (the JSON
    of every non-blank value, as a hand-written import that keeps history would write)."""
    conn.execute(table.insert(), batch)
    if audit is None:
        return
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    key = next(iter(batch[0]))
    entries = [
        {
            "occurred_at": now,
            "username": ACTOR,
            "source": "import",
            "table_name": "immunizations",
            "row_key": str(int(row[key])),
            "action": "create",
            "changes": json.dumps(
                {k.lower(): [None, v] for k, v in row.items() if v is not None},
                default=str,
                sort_keys=True,
            ),
        }
        for row in batch
    ]
    conn.execute(audit.insert(), entries)


def _child_openpyxl(spec: dict[str, Any]) -> dict[str, Any]:
    from openpyxl import load_workbook

    started = time.perf_counter()
    workbook = load_workbook(spec["path"], read_only=True)
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    next(rows)
    count = sum(1 for _ in rows)
    workbook.close()
    return {"rows": count, "work_seconds": time.perf_counter() - started}


def _child_datadesk_read(spec: dict[str, Any]) -> dict[str, Any]:
    from datadesk.config.schema import ImportSettings
    from datadesk.importers.readers import open_profile_sheet

    profile = _bench_profile()
    settings = ImportSettings()
    path = Path(spec["path"])
    started = time.perf_counter()
    sheet = open_profile_sheet(path, path.name, profile, settings)
    count = sum(1 for _ in sheet.rows)
    return {"rows": count, "work_seconds": time.perf_counter() - started}


def _child_inprocess(spec: dict[str, Any]) -> dict[str, Any]:
    """The import service in this process, as the CLI runs it (the file read where it lies),
    optionally under cProfile."""
    import cProfile
    import io
    import pstats

    from datadesk.app import open_runtime
    from datadesk.auth.actor import Actor
    from datadesk.settings import Settings

    runtime = open_runtime(
        Settings(
            database_url=spec["url"],
            config_path=Path(spec["config_path"]),
            var_dir=Path(spec["var_dir"]),
        )
    )
    actor = Actor(ACTOR, frozenset({"admin"}))
    path = Path(spec["path"])
    service = runtime.imports
    profiler = cProfile.Profile() if spec.get("profile_out") else None
    try:
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        job_id = service.start_file(
            actor=actor, profile=service.profile(PROFILE_NAME), profile_name=PROFILE_NAME, path=path
        )
        job, report = service.run(job_id, actor, commit=True, path=path)
        if profiler is not None:
            profiler.disable()
        work = time.perf_counter() - started
    finally:
        runtime.engine.dispose()
    top: list[str] = []
    if profiler is not None:
        profiler.dump_stats(spec["profile_out"])
        for key in ("tottime", "cumulative"):
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats(key).print_stats(25)
            top += [f"--- by {key} ---", *_pstats_table(text.getvalue())]
    return {
        "work_seconds": work,
        "job_id": job.id,
        "status": job.status,
        "inserted": report.inserted if report else None,
        "top": top,
    }


def _pstats_table(text: str) -> list[str]:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.lstrip().startswith("ncalls"):
            return [row for row in lines[index:] if row.strip()]
    return lines


def _child_check(spec: dict[str, Any]) -> dict[str, Any]:
    """Rows above the base id, audit entries of the last job, and that job's figures."""
    import sqlalchemy as sa

    from datadesk.config.loader import load_config
    from datadesk.models.app_tables import app_tables
    from datadesk.models.engine import create_db_engine
    from datadesk.settings import DEMO_CONFIG

    config = load_config(DEMO_CONFIG)
    tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
    engine = create_db_engine(spec["url"])
    try:
        with engine.connect() as conn:
            inserted = conn.execute(
                sa.text("SELECT count(*) FROM IMMUNIZATIONS WHERE IMM_ID > :base"),
                {"base": spec["base"]},
            ).scalar_one()
            jobs = tables.import_jobs
            job = conn.execute(
                sa.select(jobs.c.id, jobs.c.status, jobs.c.inserted, jobs.c.duration_ms)
                .order_by(jobs.c.id.desc())
                .limit(1)
            ).first()
            audit = tables.audit
            audit_rows = conn.execute(
                sa.select(sa.func.count()).where(
                    audit.c.source == "import",
                    audit.c.action == "create",
                    audit.c.job_id == (job.id if job else None),
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return {
        "inserted": inserted,
        "audit_rows": audit_rows,
        "job_id": job.id if job else None,
        "job_status": job.status if job else None,
        "job_inserted": job.inserted if job else None,
        "job_duration_ms": job.duration_ms if job else None,
    }


def _child_restore(spec: dict[str, Any]) -> dict[str, Any]:
    """Delete what imports added (rows above the base id, import audit entries, jobs)."""
    import sqlalchemy as sa

    from datadesk.config.loader import load_config
    from datadesk.models.app_tables import app_tables
    from datadesk.models.engine import create_db_engine
    from datadesk.settings import DEMO_CONFIG

    config = load_config(DEMO_CONFIG)
    tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
    engine = create_db_engine(spec["url"])
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM IMMUNIZATIONS WHERE IMM_ID > :base"), {"base": spec["base"]}
            )
            conn.execute(sa.delete(tables.audit).where(tables.audit.c.source == "import"))
            conn.execute(sa.delete(tables.import_files))
            conn.execute(sa.delete(tables.import_jobs))
        vacuum = [tables.audit, tables.import_jobs, tables.import_files]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("VACUUM ANALYZE IMMUNIZATIONS")
                for table in vacuum:
                    conn.exec_driver_sql(f"VACUUM ANALYZE {table.fullname}")
    finally:
        engine.dispose()
    return {}


def _child_pg(spec: dict[str, Any]) -> dict[str, Any]:
    """CREATE (optionally from a template), rename or DROP a database on the server."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    server = make_url(spec["server"])
    if server.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a PostgreSQL server URL")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")

    def disconnect(conn: sa.Connection, name: str) -> None:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )

    result: dict[str, Any] = {}
    try:
        with admin.connect() as conn:
            if "drop" in spec:
                disconnect(conn, spec["drop"])
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{spec["drop"]}"')
            if "rename" in spec:
                old, new = spec["rename"]
                disconnect(conn, old)
                conn.exec_driver_sql(f'ALTER DATABASE "{old}" RENAME TO "{new}"')
            if "create" in spec:
                name = spec["create"]
                template = f' TEMPLATE "{spec["template"]}"' if spec.get("template") else ""
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"{template}')
                result["url"] = server.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.dispose()
    return result


CHILDREN = {
    "prepare": _child_prepare,
    "workbook": _child_workbook,
    "calamine": _child_calamine,
    "floor": _child_floor,
    "openpyxl": _child_openpyxl,
    "datadesk-read": _child_datadesk_read,
    "inprocess": _child_inprocess,
    "check": _child_check,
    "restore": _child_restore,
    "pg": _child_pg,
}


if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1], sys.argv[2]))
