"""Load shedding: past the cap, page requests get 503 with Retry-After; saves, health and static
files never do; once requests finish, pages are served again."""

from __future__ import annotations

import asyncio

import httpx2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from datadesk.admission import SHED_ROUTE, ConcurrencyLimit
from datadesk.observability import metrics
from tests.operations.test_metrics import sample

LIMIT = 3


def build() -> tuple[Starlette, asyncio.Event, list[str]]:
    """An app whose pages wait until released, behind the limit."""
    release = asyncio.Event()
    started: list[str] = []

    async def page(request: Request) -> Response:
        started.append(request.method)
        await release.wait()
        return PlainTextResponse("done")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/page", page, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/static/x.css", healthz),
        ],
        middleware=[Middleware(ConcurrencyLimit, limit=LIMIT)],
    )
    return app, release, started


def refused_so_far() -> float:
    """Refusals counted in the request metrics of this process."""
    text = metrics.render()[0].decode()
    return sample(text, "datadesk_http_requests_total", route=SHED_ROUTE, status="503")


def test_requests_past_the_limit_are_shed_except_writes_and_health() -> None:
    counted = refused_so_far()

    async def scenario() -> None:
        app, release, started = build()
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            busy = [asyncio.create_task(client.get("/page")) for _ in range(LIMIT)]
            while len(started) < LIMIT:
                await asyncio.sleep(0)
            refused = await client.get("/page")
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "2"
            assert "busy" in refused.text
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/static/x.css")).status_code == 200
            save = asyncio.create_task(client.post("/page"))
            while len(started) < LIMIT + 1:
                await asyncio.sleep(0)
            assert started[-1] == "POST"  # admitted although full
            release.set()
            answers = await asyncio.gather(*busy, save)
            assert [a.status_code for a in answers] == [200] * (LIMIT + 1)
            assert (await client.get("/page")).status_code == 200
            limiter = app.middleware_stack
            while not isinstance(limiter, ConcurrencyLimit):
                limiter = limiter.app  # type: ignore[attr-defined]
            assert limiter.active == 0 and limiter.shed_total == 1

    asyncio.run(scenario())
    assert refused_so_far() == counted + 1
