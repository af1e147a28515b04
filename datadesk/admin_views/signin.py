"""The sign-in and sign-out pages, and the sqladmin authentication hook that guards the rest."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from sqladmin.authentication import AuthenticationBackend
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from datadesk.auth.sessions import SessionCodec
from datadesk.auth.users import UserStore
from datadesk.observability.metrics import record_login_failure

logger = logging.getLogger("datadesk.security")
Render = Callable[[Request, str, dict[str, Any], int], Awaitable[Response]]
MAX_FIELD = 200


class SignInBackend(AuthenticationBackend):
    """sqladmin's hook: a request passes when the session gate found a signed-in user."""

    def __init__(self) -> None:
        self.middlewares = []

    async def authenticate(self, request: Request) -> Response | bool:
        """Signed-in users pass; others are sent to the sign-in page, then back."""
        if request.state.actor is not None:
            return True
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = request.url_for("admin:login").include_query_params(next=target)
        return RedirectResponse(login, status_code=302)

    async def get_user_id(self, request: Request) -> Any:
        """The signed-in user's name."""
        actor = request.state.actor
        return actor.username if actor is not None else None


class SignInPages:
    """GET/POST /admin/login and POST /admin/logout."""

    def __init__(
        self,
        *,
        codec: SessionCodec,
        users: UserStore,
        render: Render,
        client_address: Callable[[Request], str],
    ) -> None:
        self.codec = codec
        self.users = users
        self.render = render
        self.client_address = client_address

    async def login(self, request: Request) -> Response:
        """Show the form; on POST check the credentials and start a fresh session."""
        next_url = _local_path(request.query_params.get("next", ""), request)
        if request.method == "GET":
            return await self._page(request, next_url, "", 200)
        form = await request.form()
        username = str(form.get("username", ""))[:MAX_FIELD].strip()
        password = str(form.get("password", ""))[:1024]
        next_url = _local_path(str(form.get("next", "")), request)
        if not username or not password:
            return await self._page(request, next_url, "Enter your user name and password.", 400)
        address = self.client_address(request)
        result = await run_in_threadpool(self.users.authenticate, username, password, address)
        if not result.ok or result.user is None:
            record_login_failure(str(result.reason or "invalid"))
            logger.warning(
                "sign-in refused for %r from %s: %s", username[:60], address, result.reason
            )
            return await self._page(request, next_url, result.message, 401)
        session = self.codec.start(result.user.username)
        response = RedirectResponse(next_url, status_code=303)
        secure = request.url.scheme == "https"
        response.raw_headers.append((b"set-cookie", self.codec.cookie(session, secure=secure)))
        logger.info("signed in %s from %s", result.user.username, address)
        return response

    async def logout(self, request: Request) -> Response:
        """End the session (POST only: a link cannot sign anyone out)."""
        response = RedirectResponse(request.url_for("admin:login"), status_code=303)
        fresh = self.codec.start("")
        secure = request.url.scheme == "https"
        response.raw_headers.append((b"set-cookie", self.codec.cookie(fresh, secure=secure)))
        return response

    async def _page(self, request: Request, next_url: str, error: str, status: int) -> Response:
        return await self.render(
            request, "datadesk/login.html", {"next": next_url, "error": error}, status
        )


def _local_path(target: str, request: Request) -> str:
    """Only same-site paths are followed after sign-in (no open redirects)."""
    parts = urlsplit(target)
    if (
        target
        and not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return str(request.url_for("admin:index").path)
