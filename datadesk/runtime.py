"""What one running app, or one CLI command, holds: config, engine, catalog and services.

Kept apart from ``datadesk.app`` so that CLI commands get their services without importing
the web layer (sqladmin, Starlette, templates).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from datadesk.auth.directory import ActorDirectory
from datadesk.auth.policy import RolePolicy
from datadesk.auth.sessions import SessionCodec, load_or_create_secret
from datadesk.auth.users import UserStore
from datadesk.config.loader import cross_check_error, load_config
from datadesk.config.roles_check import find_role_problems
from datadesk.config.schema import Config
from datadesk.exports.grid_export import GridExporter
from datadesk.exports.reports_service import ReportService, open_reports
from datadesk.importers.service import ImportService
from datadesk.mailer import Mailer
from datadesk.models.app_tables import app_tables
from datadesk.models.audit import AuditLog
from datadesk.models.catalog import Catalog
from datadesk.models.count_cache import CountCache
from datadesk.models.engine import create_db_engine
from datadesk.models.records import RecordStore
from datadesk.models.reflection import find_config_problems, reflect_catalog
from datadesk.settings import Settings


@dataclass
class Runtime:
    """What one running app holds: config, engine, catalog and services (no globals)."""

    settings: Settings
    config: Config
    engine: sa.Engine
    catalog: Catalog
    records: RecordStore
    counts: CountCache
    users: UserStore
    directory: ActorDirectory
    codec: SessionCodec
    policy: RolePolicy
    imports: ImportService
    mailer: Mailer
    exports: GridExporter
    reports: ReportService


def open_runtime(settings: Settings, *, refresh_schema: bool = False) -> Runtime:
    """Load the config, connect, reflect (cached) and check the config against the schema."""
    config = load_config(settings.config_path)
    engine = create_db_engine(settings.database_url, pool_size=config.database.pool_size)
    cache_dir = settings.cache_dir if config.app.reflection_cache else None
    catalog = reflect_catalog(engine, config, cache_dir=cache_dir, refresh=refresh_schema)
    problems = find_config_problems(config, catalog) + find_role_problems(config, catalog)
    if problems:
        raise cross_check_error(settings.config_path, problems)
    # The catalog lives as long as the process: keep the collector from rescanning it. No full
    # collection first: it costs every command about 50 ms to free a few thousand objects left
    # over from reflection, which the freeze keeps instead (once per process, a bounded cost).
    gc.freeze()
    factory: sessionmaker[Session] = sessionmaker(bind=engine, autoflush=False)
    tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
    audit_log = AuditLog(tables)
    records = RecordStore(factory, audit_log)
    counts = CountCache(config.app.count_cache_seconds)
    records.listeners.append(counts.invalidate)
    users = UserStore(engine, tables, config.auth, audit_log=audit_log)
    secret = settings.secret_key or load_or_create_secret(settings.var_dir)
    codec = SessionCodec(
        secret,
        idle_seconds=config.auth.session_idle_minutes * 60,
        max_seconds=config.auth.session_max_hours * 3600,
    )
    policy = RolePolicy(config, catalog)
    imports = ImportService(engine, catalog, policy, config, tables)
    imports.listeners.append(counts.invalidate)
    reports = open_reports(settings.config_path, config, engine, catalog, policy)
    records.listeners.append(reports.choices.invalidate)
    imports.listeners.append(reports.choices.invalidate)
    return Runtime(
        settings,
        config,
        engine,
        catalog,
        records,
        counts,
        users,
        ActorDirectory(users),
        codec,
        policy,
        imports,
        Mailer(config.mail, settings.smtp_password),
        GridExporter(engine, catalog, policy, config),
        reports,
    )
