"""ASGI middleware in front of the admin: session cookie, CSRF check, security headers.

For every request it decodes the signed session cookie (anonymous visitors get an anonymous
session, so the sign-in form has a CSRF token too), loads the signed-in user, and puts both on
``request.state``.  A state-changing request (anything but GET/HEAD/OPTIONS) is refused with 403
before it reaches a handler unless it comes from this site (Origin/Referer) and carries the
session's CSRF token in the ``csrf_token`` form field or the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datadesk.auth.actor import Actor
from datadesk.auth.proxies import TrustedProxies
from datadesk.auth.sessions import COOKIE_NAME, SessionCodec, SessionData

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
# Fields one form may have (within max_form_bytes): an editable grid page of 500 rows sends
# each cell with its loaded value beside it.
MAX_FORM_FIELDS = 20_000
CSRF_HEADER = "x-csrf-token"
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'; "
        b"form-action 'self'; base-uri 'self'; object-src 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]

current_csrf_token: ContextVar[str] = ContextVar("datadesk_csrf_token", default="")
logger = logging.getLogger("datadesk.security")

ActorLoader = Callable[[str], Actor | None]


class SessionGate:
    """Sessions, CSRF and security headers for one ASGI app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        codec: SessionCodec,
        load_actor: ActorLoader,
        peek_actor: Callable[[str], tuple[bool, Actor | None]] | None = None,
        proxies: TrustedProxies | None = None,
        trusted_header: str | None = None,
        max_form_bytes: int = 2 * 1024 * 1024,
        max_body_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.codec = codec
        self.load_actor = load_actor
        self.peek_actor = peek_actor
        self.proxies = proxies or TrustedProxies(())
        self.trusted_header = trusted_header.lower() if trusted_header else None
        self.max_form_bytes = max_form_bytes
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Attach the session, check CSRF on unsafe methods, add headers to the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        peer = scope["client"][0] if scope.get("client") else None
        # Behind a TLS-terminating proxy: secure cookies and https links.
        scope["scheme"] = self.proxies.scheme(
            peer, headers.get("x-forwarded-proto"), scope.get("scheme", "http")
        )
        session, actor, fresh = await self._session(headers)
        sso_user = self._sso_user(headers, peer)
        if sso_user is not None and (actor is None or actor.username != sso_user.lower()):
            # The proxy vouches for a user: start their session (a fresh nonce) on this request.
            actor = await self._actor(sso_user)
            session = self.codec.start(actor.username if actor is not None else "")
            fresh = session
        state = scope.setdefault("state", {})
        state["session"] = session
        state["actor"] = actor
        state["client_address"] = self.proxies.client_address(peer, headers.get("x-forwarded-for"))
        token = current_csrf_token.set(self.codec.csrf_token(session))
        try:
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_body_bytes:
                limit = self.max_body_bytes / 1048576
                response = PlainTextResponse(
                    f"413 Request Entity Too Large: the request is {int(length) / 1048576:.1f} MB; "
                    f"the limit is {limit:.0f} MB.",
                    status_code=413,
                )
                await response(scope, receive, self._sender(send, scope, fresh))
                return
            if scope["method"] not in SAFE_METHODS:
                refusal, receive = await self._check_unsafe(scope, headers, session, receive)
                if refusal is not None:
                    response = PlainTextResponse(
                        f"403 Forbidden: {refusal}. Reload the form and try again.",
                        status_code=403,
                    )
                    await response(scope, receive, self._sender(send, scope, fresh))
                    return
            await self.app(scope, receive, self._sender(send, scope, fresh))
        finally:
            current_csrf_token.reset(token)

    async def _actor(self, username: str) -> Actor | None:
        """The user, from the directory's cache when fresh, else from the database."""
        if self.peek_actor is not None:
            found, actor = self.peek_actor(username)
            if found:
                return actor
        return await run_in_threadpool(self.load_actor, username)

    def _sso_user(self, headers: Headers, peer: str | None) -> str | None:
        """The user named by the single sign-on header, honoured only from a trusted proxy."""
        if self.trusted_header is None:
            return None
        value = headers.get(self.trusted_header, "").strip()
        if not value or not self.proxies.is_trusted(peer):
            return None
        return value[:100]

    async def _session(
        self, headers: Headers
    ) -> tuple[SessionData, Actor | None, SessionData | None]:
        raw = SimpleCookie(headers.get("cookie", "")).get(COOKIE_NAME)
        data = self.codec.decode(raw.value) if raw is not None else None
        actor = None
        if data is not None and data.username:
            actor = await self._actor(data.username)
            # Disabled, deleted, or password changed since sign-in: the session ends now.
            if actor is None or data.issued_at < actor.sessions_valid_after:
                actor = None
                data = None
        if data is None:
            data = self.codec.start("")
            return data, None, data
        touched = self.codec.touch(data)
        if touched is not None:
            return touched, actor, touched
        return data, actor, None

    async def _check_unsafe(
        self, scope: Scope, headers: Headers, session: SessionData, receive: Receive
    ) -> tuple[str | None, Receive]:
        host = headers.get("host", "")
        source = headers.get("origin") or headers.get("referer")
        if source and source != "null" and urlsplit(source).netloc != host:
            logger.warning(
                "refused %s %s from foreign origin %s", scope["method"], scope["path"], source[:100]
            )
            return "the request came from another site", receive
        submitted = headers.get(CSRF_HEADER, "")
        body = b""
        if not submitted and headers.get("content-type", "").startswith("multipart/form-data"):
            # Uploads may be large: read only up to the token field (the form's first field).
            submitted, receive = await _multipart_token(headers, receive, self.max_form_bytes)
        elif not submitted:
            body, too_big = await _read_body(receive, self.max_form_bytes)
            if too_big:
                return "the form is too large", _replay(b"", receive)
            request = Request(scope, _replay(body, receive))
            try:
                form = await request.form(max_fields=MAX_FORM_FIELDS)
            except (HTTPException, MultiPartException):
                return "the form has too many fields", _replay(b"", receive)
            submitted = str(form.get(CSRF_FIELD) or "")
            await form.close()
            receive = _replay(body, receive)
        if not submitted or not self.codec.is_valid_csrf(session, submitted):
            logger.warning(
                "refused %s %s: missing or wrong CSRF token", scope["method"], scope["path"]
            )
            return "the form's security token is missing or has expired", receive
        return None, receive

    def _sender(self, send: Send, scope: Scope, fresh: SessionData | None) -> Send:
        secure = scope.get("scheme") == "https"

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                sets_session = any(
                    k == b"set-cookie" and v.startswith(COOKIE_NAME.encode() + b"=")
                    for k, v in headers
                )
                if fresh is not None and not sets_session:
                    headers.append((b"set-cookie", self.codec.cookie(fresh, secure=secure)))
                present = {k for k, _ in headers}
                headers.extend((k, v) for k, v in SECURITY_HEADERS if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        return sender


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


async def _multipart_token(headers: Headers, receive: Receive, limit: int) -> tuple[str, Receive]:
    """The CSRF field of a multipart body, read as far as needed (at most ``limit`` bytes), and
    a receive channel that hands the app the whole body again."""
    _, params = parse_options_header(headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    read: list[bytes] = []
    more = True
    if not boundary:
        return "", receive
    state: dict[str, Any] = {"header": b"", "name": None, "value": [], "done": False}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] = data[start:end].lower()

    def on_header_value(data: bytes, start: int, end: int) -> None:
        if state["header"] == b"content-disposition":
            _, options = parse_options_header(data[start:end])
            state["name"] = options.get(b"name")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["name"] == CSRF_FIELD.encode():
            state["value"].append(data[start:end])

    def on_part_end() -> None:
        if state["name"] == CSRF_FIELD.encode():
            state["done"] = True
        state["name"] = None

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    size = 0
    while not state["done"] and size <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            more = False
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        read.append(chunk)
        try:
            parser.write(chunk)
        except MultipartParseError:
            break
        if not message.get("more_body", False):
            more = False
            break
    token = b"".join(state["value"]).decode("ascii", "replace") if state["done"] else ""
    return token, _replay(b"".join(read), receive, more=more)


def _replay(
    prefix: bytes, original: Receive, *, more: bool = False
) -> Callable[[], Awaitable[Message]]:
    """A receive channel that hands over the body read already (all of it, or with ``more``
    its first part), then the client's own channel (the rest, and a later disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": prefix, "more_body": more}

    return receive
