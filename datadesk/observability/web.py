"""The ASGI side of observability: request ids, the access log, request metrics, error pages.

``RequestObserver`` wraps the whole application.  It takes a trusted proxy's X-Request-ID (or
makes one), echoes it in the response, logs one line per request and counts it by route
template.  An unhandled error becomes a friendly page (or JSON) naming the request id, never a
traceback, and goes to the ``ErrorReporter``; an unreachable database answers 503.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import logging
import time
from importlib import resources
from string import Template
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datadesk.auth.proxies import TrustedProxies
from datadesk.observability import metrics
from datadesk.observability.context import (
    REQUEST_ID_HEADER,
    RequestContext,
    accepted_request_id,
    current_request,
    current_request_id,
    new_request_id,
)
from datadesk.observability.error_reports import ErrorReporter, is_database_unavailable

access_log = logging.getLogger("datadesk.access")
PAGE = Template(resources.files(__package__).joinpath("error_page.html").read_text("utf-8"))
FORWARDING_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")
MESSAGES = {
    500: (
        "Something went wrong",
        "The request could not be completed because of an error on our side. It has been "
        "recorded; nothing was changed by the request that failed. If it keeps happening, "
        "give your administrator the reference below.",
    ),
    503: (
        "Temporarily unavailable",
        "The database cannot be reached right now. Nothing was changed by the request that "
        "failed; please try again in a minute.",
    ),
}


def route_template(scope: Scope) -> str:
    """The matched route's path template ('/admin/{identity}/list'), never the raw path."""
    route = scope.get("route")
    if route is None:
        return metrics.UNMATCHED_ROUTE
    prefix = scope.get("root_path", "")[len(scope.get("app_root_path", "")) :]
    path = getattr(route, "path", None) or ""
    if isinstance(route, Mount):
        return f"{prefix}/{{path}}" if prefix.endswith(path) else f"{prefix}{path}/{{path}}"
    return f"{prefix}{path}" or metrics.UNMATCHED_ROUTE


def wants_json(request: Request) -> bool:
    """JSON clients (Accept names JSON before HTML) get JSON errors."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, exc: BaseException, title: str = "datadesk") -> Response:
    """The friendly answer to an unhandled error: 503 when the database is away, else 500."""
    status = 503 if is_database_unavailable(exc) else 500
    heading, message = MESSAGES[status]
    request_id = current_request_id()
    headers = {"retry-after": "30"} if status == 503 else None
    if wants_json(request):
        body = {"error": heading, "message": message, "request_id": request_id}
        return JSONResponse(body, status_code=status, headers=headers)
    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    page = PAGE.substitute(
        title=html.escape(title),
        status=status,
        heading=html.escape(heading),
        message=html.escape(message),
        request_id=html.escape(request_id),
        home=html.escape(f"{root}/"),
    )
    return HTMLResponse(page, status_code=status, headers=headers)


class RequestObserver:
    """Outermost middleware: request context, access log, metrics, error pages and reports."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        proxies: TrustedProxies,
        reporter: ErrorReporter,
        title: str = "datadesk",
    ) -> None:
        self.app = app
        self.proxies = proxies
        self.reporter = reporter
        self.title = title

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside its context."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        peer = scope["client"][0] if scope.get("client") else None
        trusted = self.proxies.is_trusted(peer)
        proxy_id = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = (accepted_request_id(proxy_id) if trusted else None) or new_request_id()
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1") or None
        context = RequestContext(
            request_id=request_id,
            method=scope["method"],
            path=scope.get("path", ""),
            client=self.proxies.client_address(peer, forwarded),
            state=scope.setdefault("state", {}),
        )
        token = current_request.set(context)
        status = [0]

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception as exc:  # the app's edge: answer, report, never re-raise to the server
            context.route = route_template(scope)
            if not status[0]:
                response = error_response(Request(scope), exc, self.title)
                await response(scope, receive, observed_send)
            elif status[0] < 500:
                status[0] = 500  # the response broke off midway: count it as failed
            self.reporter.report(exc, self._report_context(context))
        finally:
            context.route = route_template(scope)
            seconds = time.perf_counter() - started
            metrics.observe_request(context.route, context.method, status[0] or 500, seconds)
            access_log.info(
                "%s %s %s",
                context.method,
                context.path,
                status[0],
                extra={
                    "status": status[0],
                    "duration_ms": round(seconds * 1000, 1),
                    "client": context.client,
                    "method": context.method,
                    "path": context.path,
                },
            )
            current_request.reset(token)

    @staticmethod
    def _report_context(context: RequestContext) -> dict[str, Any]:
        return {
            "request_id": context.request_id,
            "method": context.method,
            "path": context.path,
            "route": context.route,
            "user": context.user,
            "client": context.client,
        }


class MetricsAccess:
    """Who may read /metrics: a configured client network, or the bearer token."""

    def __init__(self, networks: tuple[str, ...], token: str, proxies: TrustedProxies) -> None:
        self.networks = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks)
        self.token = token
        self.proxies = proxies

    def allows(self, request: Request) -> bool:
        """Whether this request may read the metrics."""
        auth = request.headers.get("authorization", "")
        if self.token and auth.startswith("Bearer "):
            return hmac.compare_digest(auth[7:].strip().encode(), self.token.encode())
        peer = request.client.host if request.client else None
        address: str | None = peer
        if self.proxies.is_trusted(peer):
            address = self.proxies.client_address(peer, request.headers.get("x-forwarded-for"))
        elif any(name in request.headers for name in FORWARDING_HEADERS):
            return False  # forwarded by a proxy we do not trust: the real client is unknown
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.networks)
