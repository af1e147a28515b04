"""The composition root: ``create_app(settings)`` (uvicorn --factory datadesk.app:create_app)."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from pathlib import Path

import anyio
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from datadesk.admin_views.audit_pages import install_audit_pages
from datadesk.admin_views.import_pages import install_import_pages
from datadesk.admin_views.model_view import ChoiceCache, ViewServices, build_model_view
from datadesk.admin_views.session_gate import SessionGate
from datadesk.admin_views.site import DatadeskAdmin
from datadesk.admin_views.users_pages import install_users_pages
from datadesk.auth.directory import ActorDirectory
from datadesk.auth.policy import RolePolicy
from datadesk.auth.proxies import TrustedProxies
from datadesk.auth.sessions import SessionCodec, load_or_create_secret
from datadesk.auth.users import UserStore
from datadesk.config.loader import cross_check_error, load_config
from datadesk.config.roles_check import find_role_problems
from datadesk.config.schema import Config
from datadesk.importers.service import ImportService
from datadesk.models.app_tables import app_tables
from datadesk.models.audit import AuditLog
from datadesk.models.catalog import Catalog
from datadesk.models.count_cache import CountCache
from datadesk.models.engine import create_db_engine
from datadesk.models.records import RecordStore
from datadesk.models.reflection import find_config_problems, reflect_catalog
from datadesk.settings import Settings

STATIC_DIR = Path(__file__).parent / "admin_views" / "static"
UPLOAD_OVERHEAD_BYTES = 1024 * 1024  # multipart framing and form fields around an upload
logger = logging.getLogger("datadesk")


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


def open_runtime(settings: Settings, *, refresh_schema: bool = False) -> Runtime:
    """Load the config, connect, reflect (cached) and check the config against the schema."""
    config = load_config(settings.config_path)
    engine = create_db_engine(settings.database_url, pool_size=config.database.pool_size)
    cache_dir = settings.cache_dir if config.app.reflection_cache else None
    catalog = reflect_catalog(engine, config, cache_dir=cache_dir, refresh=refresh_schema)
    problems = find_config_problems(config, catalog) + find_role_problems(config, catalog)
    if problems:
        raise cross_check_error(settings.config_path, problems)
    # The catalog lives as long as the process: keep the collector from rescanning it.
    gc.collect()
    gc.freeze()
    factory: sessionmaker[Session] = sessionmaker(bind=engine, autoflush=False)
    tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
    records = RecordStore(factory, AuditLog(tables))
    counts = CountCache(config.app.count_cache_seconds)
    records.listeners.append(counts.invalidate)
    users = UserStore(engine, tables, config.auth)
    secret = settings.secret_key or load_or_create_secret(settings.var_dir)
    codec = SessionCodec(
        secret,
        idle_seconds=config.auth.session_idle_minutes * 60,
        max_seconds=config.auth.session_max_hours * 3600,
    )
    policy = RolePolicy(config, catalog)
    imports = ImportService(engine, catalog, policy, config, tables)
    imports.listeners.append(counts.invalidate)
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
    )


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Starlette:
    """Build the whole web application for one database and config."""
    if runtime is None:
        runtime = open_runtime(settings or Settings.from_environ())

    async def root(request: Request) -> Response:
        return RedirectResponse(url="/admin/", status_code=302)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        try:
            with runtime.engine.connect() as conn:
                conn.execute(
                    sa.text("SELECT 1")
                    if runtime.engine.dialect.name != "oracle"
                    else sa.text("SELECT 1 FROM DUAL")
                )
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"ready": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ready": True})

    app = Starlette(
        routes=[
            Route("/", root),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount("/static/datadesk", StaticFiles(directory=STATIC_DIR), name="datadesk_static"),
        ],
    )
    app.state.runtime = runtime
    admin = DatadeskAdmin(
        app,
        runtime.engine,
        title=runtime.config.app.title,
        counts=runtime.counts,
        count_cap=runtime.config.app.count_cap,
        codec=runtime.codec,
        users=runtime.users,
        gate=Middleware(
            SessionGate,
            codec=runtime.codec,
            load_actor=runtime.directory.load,
            peek_actor=runtime.directory.peek,
            proxies=TrustedProxies(runtime.config.auth.trusted_proxies),
            trusted_header=runtime.config.auth.trusted_header,
            max_body_bytes=runtime.imports.max_upload_bytes + UPLOAD_OVERHEAD_BYTES,
        ),
    )
    services = ViewServices(
        catalog=runtime.catalog,
        config=runtime.config,
        records=runtime.records,
        choices=ChoiceCache(runtime.records, runtime.catalog, runtime.config.app.select_limit),
        policy=runtime.policy,
        db_threads=anyio.CapacityLimiter(runtime.config.database.pool_size),
    )
    runtime.imports.listeners.append(services.choices.invalidate)
    for table in sorted(runtime.catalog.tables.values(), key=lambda t: t.label_plural.lower()):
        admin.add_view(build_model_view(table, services))
    install_users_pages(
        admin, runtime.users, runtime.directory, services.policy, runtime.config.roles
    )
    install_audit_pages(admin, runtime.users.tables, services)
    install_import_pages(admin, runtime.imports)
    app.state.admin = admin
    return app
