"""The request being served, as every log line and error report of this task sees it."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
# A proxy's id is kept only when it is short and plain: it ends up in logs and headers.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


@dataclass
class RequestContext:
    """One HTTP request: its id, route template and (once signed in) its user."""

    request_id: str
    method: str = ""
    path: str = ""
    client: str = ""
    route: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # the ASGI scope's state

    @property
    def user(self) -> str | None:
        """The signed-in user's name, as the session gate put it on the request state."""
        actor = self.state.get("actor")
        return getattr(actor, "username", None) if actor is not None else None


current_request: ContextVar[RequestContext | None] = ContextVar("datadesk_request", default=None)


def new_request_id() -> str:
    """A fresh random request id (32 hex digits)."""
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str | None:
    """A proxy-supplied request id when it is safe to log and echo, else None."""
    if value and _ACCEPTED_ID.match(value):
        return value
    return None


def current_request_id() -> str:
    """The id of the request being served, or '' outside a request."""
    request = current_request.get()
    return request.request_id if request is not None else ""
