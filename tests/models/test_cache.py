"""The on-disk reflection cache: hits, refresh, corrupt and stale files."""

from __future__ import annotations

import pickle
from pathlib import Path

import sqlalchemy as sa

from datadesk.config.schema import Config
from datadesk.models.cache import ReflectionCache, cache_key
from datadesk.models.reflection import reflect_catalog
from tests.models.conftest import run_ddl

SCHEMA = [
    "CREATE TABLE DEPT (DEPT_ID INTEGER PRIMARY KEY, DEPT_NAME VARCHAR(40))",
    "CREATE TABLE STAFF (STAFF_ID INTEGER PRIMARY KEY, ACTIVE CHAR(1) CHECK (ACTIVE IN ('Y','N')),"
    " DEPT_ID INTEGER REFERENCES DEPT (DEPT_ID))",
]


def cache_files(folder: Path) -> list[Path]:
    """The cache files written so far."""
    return sorted(folder.glob("reflection-*.pickle")) if folder.exists() else []


def test_cache_hit_serves_without_reflecting(engine: sa.Engine, tmp_path: Path) -> None:
    run_ddl(engine, SCHEMA)
    folder = tmp_path / "cache"
    first = reflect_catalog(engine, Config(), cache_dir=folder)
    assert set(first.tables) == {"dept", "staff"}
    assert len(cache_files(folder)) == 1
    run_ddl(engine, ["CREATE TABLE LATE (ID INTEGER PRIMARY KEY)"])
    cached = reflect_catalog(engine, Config(), cache_dir=folder)
    assert set(cached.tables) == {"dept", "staff"}  # served from the cache: LATE is not seen
    assert cached.tables["staff"].columns["active"].flag_style == "yn"
    assert cached.tables["staff"].columns["dept_id"].foreign_key is not None
    refreshed = reflect_catalog(engine, Config(), cache_dir=folder, refresh=True)
    assert set(refreshed.tables) == {"dept", "staff", "late"}
    again = reflect_catalog(engine, Config(), cache_dir=folder)
    assert "late" in again.tables  # the refresh rewrote the cache


def test_config_changes_apply_to_cached_metadata(engine: sa.Engine, tmp_path: Path) -> None:
    run_ddl(engine, SCHEMA)
    folder = tmp_path / "cache"
    reflect_catalog(engine, Config(), cache_dir=folder)
    configured = Config.model_validate(
        {"tables": {"staff": {"label": "Employee", "columns": {"active": {"flag": "none"}}}}}
    )
    catalog = reflect_catalog(engine, configured, cache_dir=folder)
    assert catalog.tables["staff"].label == "Employee"
    assert catalog.tables["staff"].columns["active"].kind == "text"
    assert len(cache_files(folder)) == 1  # presentation settings do not change the cache key


def test_reflection_settings_get_their_own_cache_file(engine: sa.Engine, tmp_path: Path) -> None:
    run_ddl(engine, SCHEMA)
    folder = tmp_path / "cache"
    reflect_catalog(engine, Config(), cache_dir=folder)
    only_staff = Config.model_validate({"database": {"include": ["staff"]}})
    catalog = reflect_catalog(engine, only_staff, cache_dir=folder)
    assert set(catalog.tables) == {"staff"}
    assert len(cache_files(folder)) == 2


def test_corrupt_cache_file_is_ignored_and_rewritten(engine: sa.Engine, tmp_path: Path) -> None:
    run_ddl(engine, SCHEMA)
    folder = tmp_path / "cache"
    reflect_catalog(engine, Config(), cache_dir=folder)
    [path] = cache_files(folder)
    path.write_bytes(b"\x80\x05this is not a pickle")
    catalog = reflect_catalog(engine, Config(), cache_dir=folder)
    assert set(catalog.tables) == {"dept", "staff"}
    assert pickle.loads(path.read_bytes())["key"] == cache_key(engine.url, Config().database)


def test_foreign_or_stale_payload_is_ignored(engine: sa.Engine, tmp_path: Path) -> None:
    run_ddl(engine, SCHEMA)
    folder = tmp_path / "cache"
    cache = ReflectionCache(folder, engine.url, Config().database)
    cache.store({"something": "else"})
    assert set(reflect_catalog(engine, Config(), cache_dir=folder).tables) == {"dept", "staff"}
    with cache.path.open("wb") as handle:
        pickle.dump({"key": "another key", "payload": None}, handle)
    assert cache.load() is None
    cache.path.write_bytes(b"")
    assert cache.load() is None
    cache.clear()
    assert not cache.path.exists()


def test_unwritable_cache_folder_does_not_stop_the_start(engine: sa.Engine, tmp_path: Path) -> None:
    run_ddl(engine, SCHEMA)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    catalog = reflect_catalog(engine, Config(), cache_dir=blocker / "cache")
    assert set(catalog.tables) == {"dept", "staff"}


def test_cache_can_be_switched_off(engine: sa.Engine, tmp_path: Path) -> None:
    run_ddl(engine, SCHEMA)
    folder = tmp_path / "cache"
    reflect_catalog(
        engine, Config.model_validate({"app": {"reflection_cache": False}}), cache_dir=folder
    )
    reflect_catalog(engine, Config(), cache_dir=None)
    assert cache_files(folder) == []


def test_cache_key_ignores_the_password() -> None:
    database = Config().database
    one = sa.engine.make_url("postgresql+psycopg://scott:tiger@db/hr")
    two = sa.engine.make_url("postgresql+psycopg://scott:other@db/hr")
    three = sa.engine.make_url("postgresql+psycopg://scott:tiger@db/payroll")
    assert cache_key(one, database) == cache_key(two, database)
    assert cache_key(one, database) != cache_key(three, database)
    schema = Config.model_validate({"database": {"schema": "HR"}}).database
    assert cache_key(one, database) != cache_key(one, schema)
