"""Load shedding: a cap on the requests one worker process works on at once.

Past the cap (``DATADESK_MAX_CONCURRENCY``), a page request is answered at once with 503 and
``Retry-After`` instead of waiting behind hundreds of others: the requests let in keep normal
latency through a spike, and when the spike ends there is no backlog to work off. Saves and
other state-changing requests are never refused (losing a user's form is worse than waiting),
and neither are health, readiness, metrics and static files. Refusals are counted in the
request metrics (route "(busy)", status 503) and summed up in the log every 10 s,
not logged one by one: under a spike, refusing must cost next to nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from datadesk.observability import metrics

SHEDDABLE_METHODS = frozenset({"GET", "HEAD"})
SHED_ROUTE = "(busy)"  # the route label of refused requests in the request metrics
EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/", "/admin/statics/")
RETRY_AFTER_SECONDS = 2
LOG_EVERY_SECONDS = 10.0
BUSY_PAGE = (
    b"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Busy</title></head>"
    b"<body><h1>The server is busy</h1><p>Too many people are using it right now. Please try "
    b"again in a few seconds (reload the page).</p></body></html>"
)
logger = logging.getLogger("datadesk.admission")


class ConcurrencyLimit:
    """ASGI middleware: at most ``limit`` requests in progress in this process; further page
    requests get 503 with Retry-After."""

    def __init__(
        self, app: ASGIApp, *, limit: int, exempt: Iterable[str] = EXEMPT_PREFIXES
    ) -> None:
        self.app = app
        self.limit = limit
        self.exempt = tuple(exempt)
        self.active = 0
        self.shed_total = 0
        self._shed_since_log = 0
        self._logged_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request in, or refuse it when full and it may be refused."""
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit and scope["method"] in SHEDDABLE_METHODS:
            self._note_shed()
            metrics.observe_request(SHED_ROUTE, scope["method"], 503, 0.0)
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(BUSY_PAGE)).encode()),
                        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": BUSY_PAGE})
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1

    def _note_shed(self) -> None:
        """Count a refusal; log how many at most every LOG_EVERY_SECONDS."""
        self.shed_total += 1
        self._shed_since_log += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            logger.warning(
                "busy: refused %d page requests with 503 (more than %d in progress)",
                self._shed_since_log,
                self.limit,
            )
            self._logged_at = now
            self._shed_since_log = 0
