"""Signed session cookies: forgery, idle and absolute expiry, rotation, CSRF binding."""

from __future__ import annotations

from pathlib import Path

import pytest

from datadesk.auth.sessions import SessionCodec, load_or_create_secret

SECRET = "s" * 40


def codec() -> SessionCodec:
    """Idle after 30 minutes, absolute after 12 hours."""
    return SessionCodec(SECRET, idle_seconds=1800, max_seconds=12 * 3600)


def test_round_trip_and_forgery() -> None:
    c = codec()
    data = c.start("clerk", now=1000.0)
    token = c.encode(data)
    assert c.decode(token, now=1001.0) == data
    middle = len(token) // 3  # inside the payload: every bit of it is signed
    forged = token[:middle] + ("x" if token[middle] != "x" else "y") + token[middle + 1 :]
    assert c.decode(forged, now=1001.0) is None
    other = SessionCodec("t" * 40, idle_seconds=1800, max_seconds=3600)
    assert other.decode(token, now=1001.0) is None
    assert c.decode("garbage", now=1001.0) is None


def test_idle_and_absolute_timeouts() -> None:
    c = codec()
    data = c.start("clerk", now=0.0)
    token = c.encode(data)
    assert c.decode(token, now=1799.0) is not None
    assert c.decode(token, now=1801.0) is None  # idle
    # Kept active, it still ends 12 hours after sign-in.
    moment, current = 0.0, data
    while moment < 12 * 3600 - 1500:
        moment += 1500
        touched = c.touch(current, now=moment)
        current = touched or current
        assert c.decode(c.encode(current), now=moment) is not None
    assert c.decode(c.encode(current), now=12 * 3600 + 1) is None


def test_each_sign_in_rotates_the_nonce_and_csrf_token() -> None:
    c = codec()
    first, second = c.start("clerk"), c.start("clerk")
    assert first.nonce != second.nonce
    assert c.csrf_token(first) != c.csrf_token(second)
    assert c.is_valid_csrf(first, c.csrf_token(first))
    assert not c.is_valid_csrf(second, c.csrf_token(first))


def test_cookie_flags() -> None:
    c = codec()
    plain = c.cookie(c.start("x"), secure=False).decode()
    tls = c.cookie(c.start("x"), secure=True).decode()
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain
    assert tls.endswith("; Secure")


def test_short_secrets_are_refused_and_generated_one_persists(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SessionCodec("short", idle_seconds=1, max_seconds=1)
    first = load_or_create_secret(tmp_path)
    assert len(first) >= 32
    assert load_or_create_secret(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
