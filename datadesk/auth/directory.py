"""Who a signed-in user is, per request: their roles and attributes, cached for a few seconds.

Every request needs the user's roles; reading three tables each time would cost more than the
grid query.  Entries live ``ttl_seconds`` at most, so disabling a user or changing their roles
takes effect within that bound even when done by another process; changes made through this
process drop the entry at once.
"""

from __future__ import annotations

import threading
import time

from datadesk.auth.actor import Actor
from datadesk.auth.users import UserStore


class ActorDirectory:
    """Loads active users as Actors, with a short-lived cache."""

    def __init__(self, users: UserStore, ttl_seconds: float = 10.0) -> None:
        self.users = users
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Actor | None]] = {}
        self._lock = threading.Lock()

    def peek(self, username: str) -> tuple[bool, Actor | None]:
        """(True, actor) when the answer is cached and fresh; (False, None) when ``load`` must
        ask the database.  Lets callers on the event loop skip a thread hop on a hit."""
        hit = self._cache.get(username.lower())
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return True, hit[1]
        return False, None

    def load(self, username: str) -> Actor | None:
        """The active user of that name as an Actor, or None (unknown or disabled)."""
        key = username.lower()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        user = self.users.get(key)
        actor = None
        if user is not None and user.is_active:
            changed = user.password_changed_at
            actor = Actor(
                user.username,
                frozenset(user.roles),
                dict(user.attributes),
                sessions_valid_after=changed.timestamp() if changed is not None else 0.0,
            )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, actor)
        return actor

    def invalidate(self, username: str | None = None) -> None:
        """Forget one user (or everyone) after a change made through this process."""
        with self._lock:
            if username is None:
                self._cache.clear()
            else:
                self._cache.pop(username.lower(), None)
