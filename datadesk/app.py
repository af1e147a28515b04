"""The composition root of the web application: ``create_app(settings)`` (uvicorn --factory
datadesk.app:create_app)."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from datadesk.admin_views.audit_pages import install_audit_pages
from datadesk.admin_views.grid_edit import install_grid_edit_pages
from datadesk.admin_views.import_pages import install_import_pages
from datadesk.admin_views.model_view import ChoiceCache, ViewServices, build_model_view
from datadesk.admin_views.session_gate import SessionGate
from datadesk.admin_views.site import DatadeskAdmin
from datadesk.admin_views.users_pages import install_users_pages
from datadesk.auth.proxies import TrustedProxies
from datadesk.runtime import Runtime, open_runtime
from datadesk.settings import Settings

__all__ = ["Runtime", "create_app", "open_runtime"]

STATIC_DIR = Path(__file__).parent / "admin_views" / "static"
UPLOAD_OVERHEAD_BYTES = 1024 * 1024  # multipart framing and form fields around an upload
logger = logging.getLogger("datadesk")


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
    install_grid_edit_pages(admin)
    app.state.admin = admin
    return app
