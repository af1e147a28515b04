"""Signed session cookies with idle and absolute timeouts, and the CSRF token bound to them.

The cookie holds only who signed in, when, when last seen, and a random nonce; it is signed
with itsdangerous so it cannot be forged or altered. A new nonce is drawn at every sign-in
(rotation), and the CSRF token is an HMAC of that nonce, so a token is worthless outside the
session it was issued for.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "datadesk_session"
SEEN_REFRESH_SECONDS = 60  # how stale "last seen" may get before the cookie is re-issued


@dataclass(frozen=True)
class SessionData:
    """What a session cookie says."""

    username: str
    issued_at: float
    seen_at: float
    nonce: str


class SessionCodec:
    """Encodes, verifies and ages session cookies."""

    def __init__(self, secret_key: str, *, idle_seconds: float, max_seconds: float) -> None:
        if len(secret_key) < 16:
            raise ValueError("the session secret key must be at least 16 characters")
        self._serializer = URLSafeSerializer(secret_key, salt="datadesk.session")
        self._csrf_key = hashlib.sha256(("csrf:" + secret_key).encode()).digest()
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds

    def start(self, username: str, now: float | None = None) -> SessionData:
        """A fresh session (new nonce) for a user who just signed in."""
        moment = time.time() if now is None else now
        return SessionData(username, moment, moment, secrets.token_urlsafe(18))

    def encode(self, data: SessionData) -> str:
        """The signed cookie value."""
        return self._serializer.dumps(
            [data.username, round(data.issued_at, 3), round(data.seen_at, 3), data.nonce]
        )

    def decode(self, value: str, now: float | None = None) -> SessionData | None:
        """The session a cookie carries, or None when forged, malformed or expired."""
        moment = time.time() if now is None else now
        try:
            payload = self._serializer.loads(value)
            username, issued, seen, nonce = payload
            data = SessionData(str(username), float(issued), float(seen), str(nonce))
        except (BadSignature, ValueError, TypeError):
            return None
        if moment - data.seen_at > self.idle_seconds:
            return None
        if moment - data.issued_at > self.max_seconds:
            return None
        return data

    def touch(self, data: SessionData, now: float | None = None) -> SessionData | None:
        """The session with a fresher 'last seen', or None when the cookie need not change."""
        moment = time.time() if now is None else now
        if moment - data.seen_at < SEEN_REFRESH_SECONDS:
            return None
        return replace(data, seen_at=moment)

    def cookie(self, data: SessionData, *, secure: bool) -> bytes:
        """The Set-Cookie header value: HttpOnly, SameSite=Strict, Secure over TLS."""
        parts = [f"{COOKIE_NAME}={self.encode(data)}", "Path=/", "HttpOnly", "SameSite=Strict"]
        if secure:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")

    def csrf_token(self, data: SessionData) -> str:
        """The CSRF token of a session."""
        return hmac.new(self._csrf_key, data.nonce.encode(), hashlib.sha256).hexdigest()

    def is_valid_csrf(self, data: SessionData, token: str) -> bool:
        """Constant-time comparison of a submitted token with the session's."""
        return hmac.compare_digest(self.csrf_token(data), token)


def load_or_create_secret(var_dir: Path) -> str:
    """The secret kept in ``var/secret_key`` (created 0600 on first use) for when no
    DATADESK_SECRET_KEY is configured: sessions then survive restarts of this one node."""
    path = var_dir / "secret_key"
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if len(text) >= 32:
            return text
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret
