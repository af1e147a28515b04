"""The composition root of the web application: ``create_app(settings)`` (uvicorn --factory
datadesk.app:create_app)."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from datadesk.admin_views.audit_pages import install_audit_pages
from datadesk.admin_views.export_pages import install_export_pages
from datadesk.admin_views.grid_edit import install_grid_edit_pages
from datadesk.admin_views.import_pages import install_import_pages
from datadesk.admin_views.model_view import ViewServices, build_model_view
from datadesk.admin_views.reference_cache import ChoiceCache, ReferenceLabels
from datadesk.admin_views.report_pages import install_report_pages
from datadesk.admin_views.session_gate import SessionGate
from datadesk.admin_views.site import DatadeskAdmin
from datadesk.admin_views.users_pages import install_users_pages
from datadesk.admission import ConcurrencyLimit
from datadesk.auth.proxies import TrustedProxies
from datadesk.observability import metrics
from datadesk.observability.error_reports import ErrorReporter
from datadesk.observability.logs import configure_logging
from datadesk.observability.readiness import ReadinessCheck
from datadesk.observability.web import MetricsAccess, RequestObserver, error_response
from datadesk.runtime import Runtime, open_runtime
from datadesk.settings import Settings

__all__ = ["Runtime", "create_app", "open_runtime"]

STATIC_DIR = Path(__file__).parent / "admin_views" / "static"
UPLOAD_OVERHEAD_BYTES = 1024 * 1024  # multipart framing and form fields around an upload
logger = logging.getLogger("datadesk")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Starlette:
    """Build the whole web application for one database and config."""
    settings = runtime.settings if runtime is not None else settings or Settings.from_environ()
    settings.require_production_ready()
    configure_logging(settings.log_format, settings.log_level)
    if runtime is None:
        runtime = open_runtime(settings)
    config = runtime.config
    proxies = TrustedProxies(config.auth.trusted_proxies)
    reporter = ErrorReporter(runtime.mailer, config.monitoring, app_title=config.app.title)
    readiness = ReadinessCheck(runtime.engine, runtime.catalog, config)
    metrics_access = MetricsAccess(
        config.monitoring.metrics_networks, settings.metrics_token, proxies
    )
    metrics.watch_pool(runtime.engine)

    async def root(request: Request) -> Response:
        return RedirectResponse(url="/admin/", status_code=302)

    async def healthz(request: Request) -> Response:
        """Alive: the process answers (no database involved)."""
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        """Ready: database reachable, own tables current, schema still matching the config."""
        verdict = await anyio.to_thread.run_sync(readiness.check)
        return JSONResponse(verdict.as_json(), status_code=200 if verdict.ready else 503)

    async def metrics_page(request: Request) -> Response:
        """Prometheus metrics of every worker, for allowed networks or the bearer token."""
        if not metrics_access.allows(request):
            return PlainTextResponse("403 Forbidden: metrics are not open to you", 403)
        body, content_type = await anyio.to_thread.run_sync(metrics.render, settings.metrics_dir)
        return Response(body, headers={"content-type": content_type})

    async def unhandled(request: Request, exc: Exception) -> Response:
        return error_response(request, exc, config.app.title)

    app = Starlette(
        routes=[
            Route("/", root),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_page),
            Mount("/static/datadesk", StaticFiles(directory=STATIC_DIR), name="datadesk_static"),
        ],
        middleware=[
            # Outermost: refusing must cost next to nothing (refusals are counted, not logged
            # one by one).
            *(
                [Middleware(ConcurrencyLimit, limit=settings.max_concurrency)]
                if settings.max_concurrency
                else []
            ),
            Middleware(RequestObserver, proxies=proxies, reporter=reporter, title=config.app.title),
        ],
        exception_handlers={Exception: unhandled},
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
            proxies=proxies,
            trusted_header=runtime.config.auth.trusted_header,
            max_body_bytes=runtime.imports.max_upload_bytes + UPLOAD_OVERHEAD_BYTES,
        ),
    )
    services = ViewServices(
        catalog=runtime.catalog,
        config=runtime.config,
        records=runtime.records,
        choices=ChoiceCache(
            runtime.records,
            runtime.catalog,
            config.app.select_limit,
            ttl_seconds=config.cache.ttl_seconds,
            max_entries=config.cache.max_entries,
        ),
        policy=runtime.policy,
        labels=ReferenceLabels(runtime.records, config.cache.ttl_seconds, config.cache.max_entries),
        db_threads=anyio.CapacityLimiter(runtime.config.database.pool_size),
    )
    runtime.imports.listeners.append(services.choices.invalidate)
    runtime.imports.listeners.append(services.labels.invalidate)
    for table in sorted(runtime.catalog.tables.values(), key=lambda t: t.label_plural.lower()):
        admin.add_view(build_model_view(table, services))
    install_users_pages(
        admin, runtime.users, runtime.directory, services.policy, runtime.config.roles
    )
    install_audit_pages(admin, runtime.users.tables, services)
    install_import_pages(admin, runtime.imports)
    install_export_pages(admin, runtime.exports)
    install_report_pages(admin, runtime.reports)
    # The admin is an app of its own: its last-resort handler must show the same friendly page
    # (the error then reaches RequestObserver, which reports it).
    admin.admin.exception_handlers[Exception] = unhandled
    install_grid_edit_pages(admin)
    app.state.admin = admin
    app.state.reporter = reporter
    app.state.readiness = readiness
    return app
