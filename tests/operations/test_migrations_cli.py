"""``datadesk db current|downgrade|upgrade`` as a real process, with data kept across the trip."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.operations.test_backup import env_for
from tests.test_cli import run


def test_down_and_up_again_keeps_the_data(small_db: str, tmp_path: Path) -> None:
    env = env_for(small_db, tmp_path)
    current = run("db", "current", env=env)
    assert current.returncode == 0 and "revision 0005 (current)" in current.stdout
    engine = sa.create_engine(small_db)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO datadesk_import_jobs (username, channel, table_name, profile, file_name,"
            " file_sha256, file_size, file_format, status, created_at) VALUES ('admin', 'cli',"
            " 'things', '{}', 'a.csv', 'x', 1, 'csv', 'interrupted', CURRENT_TIMESTAMP)"
        )
    down = run("db", "downgrade", "0003", env=env)
    assert down.returncode == 0, down.stderr
    behind = run("db", "current", env=env)
    assert behind.returncode == 1 and "datadesk db upgrade" in behind.stdout
    with engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT status FROM datadesk_import_jobs").scalar()
        assert status == "failed"  # the older version's word for it
        if engine.dialect.name == "postgresql":
            length = conn.exec_driver_sql(
                "SELECT character_maximum_length FROM information_schema.columns "
                "WHERE table_name = 'datadesk_import_jobs' AND column_name = 'status'"
            ).scalar()
            assert length == 10
    up = run("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    with engine.connect() as conn:
        users = conn.exec_driver_sql("SELECT username FROM datadesk_users").scalars().all()
        jobs = conn.exec_driver_sql("SELECT COUNT(*) FROM datadesk_import_jobs").scalar()
    engine.dispose()
    assert users == ["admin"] and jobs == 1
    assert run("db", "current", env=env).returncode == 0
    unknown = run("db", "downgrade", "0099", env=env)
    assert unknown.returncode == 1 and "no migration '0099'" in unknown.stderr
