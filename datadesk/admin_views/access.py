"""The access policy applied to one generated view and one request.

Every page and write of a view asks here: which actions the signed-in user has on the table,
which columns they may see and write, and which rows are theirs.  The decisions themselves are
made by ``datadesk.auth.policy.RolePolicy``; this module only applies them to grids and forms.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from datadesk.auth.actor import Actor
from datadesk.auth.policy import TableAccess
from datadesk.errors import AccessDenied, NotFound
from datadesk.models.audit import AuditContext, jsonable
from datadesk.models.catalog import TableInfo
from datadesk.models.grid_query import GridQuery
from datadesk.models.records import RowConflict
from datadesk.models.row_keys import row_exists

if TYPE_CHECKING:
    from datadesk.admin_views.model_view import DatadeskModelView

# The access of the form being built or saved, for sqladmin hooks that receive no request.
current_access: ContextVar[TableAccess | None] = ContextVar("datadesk_access", default=None)

_GRID_CACHE_SIZE = 256


def actor_of(request: Request) -> Actor:
    """The signed-in user; AccessDenied for anonymous requests."""
    actor = getattr(request.state, "actor", None)
    if actor is None:
        raise AccessDenied("sign in first")
    return actor


def access_for(view: DatadeskModelView, request: Request) -> TableAccess:
    """What the signed-in user may do with the view's table."""
    return view.services.policy.access(actor_of(request), view.table_info.name)


def scope_key(request: Request) -> tuple[Any, ...]:
    """What makes one user's row scope differ from another's (for cached counts)."""
    actor = actor_of(request)
    return (tuple(sorted(actor.roles)), tuple(sorted(actor.attributes.items())))


class GridCache:
    """GridQuery objects per (hidden columns, row scope) of one view, most recent kept."""

    def __init__(self) -> None:
        self._grids: OrderedDict[tuple[Any, ...], GridQuery] = OrderedDict()
        self._lock = threading.Lock()

    def grid(self, view: DatadeskModelView, access: TableAccess, key: tuple[Any, ...]) -> GridQuery:
        """The grid of the view as this user sees it."""
        full_key = (access.hidden, key)
        with self._lock:
            found = self._grids.get(full_key)
            if found is not None:
                self._grids.move_to_end(full_key)
                return found
        base = view.grid
        grid = GridQuery(
            view.table_info,
            view.services.catalog,
            [c.name for c in base.columns],
            search_columns=[c.name for c in base.search_columns],
            filter_columns=list(base.filter_columns),
            default_sort=[("-" if desc else "") + name for name, desc in base.default_sort],
            hidden=access.hidden,
            scope=access.where_for("list"),
        )
        with self._lock:
            self._grids[full_key] = grid
            while len(self._grids) > _GRID_CACHE_SIZE:
                self._grids.popitem(last=False)
        return grid


def writable(access: TableAccess | None, fields: Sequence[str], action: str) -> list[str]:
    """The form fields the user may write for an action (hidden and read-only ones dropped)."""
    if access is None:
        return list(fields)
    allowed = set(access.writable_columns(fields, action))
    return [f for f in fields if f in allowed]


def row_in_scope(
    view: DatadeskModelView, access: TableAccess, action: str, key: Sequence[Any]
) -> bool:
    """Whether the row with this key exists and is one the user may act on."""
    with view.services.records.reading() as conn:
        return row_exists(conn, view.table_info, key, access.where_for(action))


def require_row(
    view: DatadeskModelView, access: TableAccess, action: str, key: Sequence[Any]
) -> None:
    """NotFound unless the row exists within the user's scope (out of scope looks absent)."""
    if not row_in_scope(view, access, action, key):
        raise NotFound(f"{view.table_info.label}: no row with key {', '.join(map(str, key))}")


def check_values(
    view: DatadeskModelView, access: TableAccess, action: str, values: dict[str, Any]
) -> None:
    """AccessDenied when the row a create or edit would leave falls outside the user's scope."""
    if access.needs_database:
        with view.services.records.reading() as conn:
            allowed = access.row_matches(values, action=action, connection=conn)
    else:
        allowed = access.row_matches(values, action=action)
    if not allowed:
        raise AccessDenied(
            f"{view.table_info.label}: you may not {action} a row with these values "
            "(it would be outside the rows your role allows)"
        )


def audit_context(request: Request, source: str) -> AuditContext:
    """Who changes data in this request, and from where, for the audit log."""
    client = getattr(request.state, "client_address", None)
    if client is None and request.client:
        client = request.client.host
    return AuditContext(actor_of(request).username, source, client)


def encode_version(values: Mapping[str, Any]) -> str:
    """The version an edit form carries: the row's values as the user saw them."""
    text = json.dumps(
        {k: jsonable(v) for k, v in values.items()},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def decode_version(raw: Any, table: TableInfo) -> dict[str, Any]:
    """The values an edit form was loaded with; a missing or garbled version is refused."""
    try:
        values = json.loads(base64.urlsafe_b64decode(str(raw or "").encode("ascii")))
    except (ValueError, UnicodeError):
        values = None
    if not isinstance(values, dict) or not values:
        raise RowConflict(
            f"{table.label}: the form does not say which version of the row it edits; "
            "reopen the row and make your change again"
        )
    return {k: v for k, v in values.items() if k in table.columns}
