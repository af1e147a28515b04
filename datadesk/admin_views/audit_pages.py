"""The audit log for auditors: browse and filter changes, see one change, revert it."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqladmin.authentication import login_required
from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from datadesk.admin_views.access import actor_of, audit_context, check_values, require_row
from datadesk.admin_views.admin_pages import AdminPages
from datadesk.admin_views.cells import path_to_key_parts
from datadesk.auth.actor import Actor
from datadesk.errors import AccessDenied, InvalidInput
from datadesk.exports.columns import defuse
from datadesk.models.app_tables import AppTables, to_db_time
from datadesk.models.grid_query import coerce_value
from datadesk.models.revert import REVERSE_ACTION, AuditEntry, entry_from_row, load_entry
from datadesk.models.revert import revert_entry as apply_revert

if TYPE_CHECKING:
    from datadesk.admin_views.model_view import ViewServices
    from datadesk.admin_views.site import DatadeskAdmin

PAGE_SIZE = 50
FILTERS = ("username", "table", "key", "from", "to")
HIDDEN_VALUE = "(hidden)"


class AuditPages(AdminPages):
    """GET /admin/audit, GET /admin/audit/{id}, POST /admin/audit/{id}/revert."""

    def __init__(self, admin: DatadeskAdmin, tables: AppTables, services: ViewServices) -> None:
        super().__init__(admin)
        self.tables = tables
        self.services = services

    def routes(self) -> list[Route]:
        """The routes to mount in the admin."""
        return [
            Route("/audit", endpoint=self.index, name="audit"),
            Route("/audit/export.csv", endpoint=self.export, name="audit_export"),
            Route("/audit/{entry_id:int}", endpoint=self.entry, name="audit_entry"),
            Route(
                "/audit/{entry_id:int}/revert",
                endpoint=self.revert,
                name="audit_revert",
                methods=["POST"],
            ),
        ]

    def _require_auditor(self, request: Request) -> None:
        policy = self._services().policy
        if not policy.can_audit(actor_of(request)):
            raise AccessDenied("only auditors may read the audit log")

    def _services(self) -> ViewServices:
        return self.services

    def can_audit(self, request: Request) -> bool:
        """Whether the signed-in user may read the audit log (for the menu link)."""
        actor = getattr(request.state, "actor", None)
        return actor is not None and self.services.policy.can_audit(actor)

    @login_required
    async def index(self, request: Request) -> Response:
        """Newest changes first, filtered by user, table, row key and time."""
        self._require_auditor(request)
        params = {k: request.query_params.get(k, "").strip()[:100] for k in FILTERS}
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            raise InvalidInput("page must be a whole number") from None
        entries, has_next = await self._services().run_db(self._load, params, page)
        actor = actor_of(request)
        entries = [self._shown(actor, entry) for entry in entries]
        query = {k: v for k, v in params.items() if v}
        context = {
            "title": "Audit log",
            "entries": entries,
            "filters": params,
            "page": page,
            "prev": "?" + urlencode({**query, "page": page - 1}) if page > 1 else None,
            "next": "?" + urlencode({**query, "page": page + 1}) if has_next else None,
        }
        return await self.admin.render(request, "datadesk/audit/list.html", context)

    @login_required
    async def export(self, request: Request) -> Response:
        """The filtered log as CSV, streamed; cells that a spreadsheet would run as formulas are
        written as text."""
        self._require_auditor(request)
        params = {k: request.query_params.get(k, "").strip()[:100] for k in FILTERS}
        stmt = self._filtered(params).order_by(self.tables.audit.c.id)
        records = self.services.records
        actor = actor_of(request)

        def rows() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(EXPORT_COLUMNS)
            with records.reading() as conn:
                result = conn.execution_options(yield_per=1000).execute(stmt)
                for row in result:
                    for line in _export_lines(self._shown(actor, entry_from_row(row))):
                        writer.writerow([_safe_cell(v) for v in line])
                    if buffer.tell() > 64_000:
                        yield buffer.getvalue()
                        buffer.seek(0)
                        buffer.truncate()
            yield buffer.getvalue()

        return StreamingResponse(
            iterate_in_threadpool(rows()),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="audit-log.csv"'},
        )

    def _load(self, params: dict[str, str], page: int) -> tuple[list[AuditEntry], bool]:
        stmt = self._filtered(params)
        stmt = stmt.order_by(self.tables.audit.c.id.desc()).limit(PAGE_SIZE + 1)
        stmt = stmt.offset((page - 1) * PAGE_SIZE)
        with self._services().records.reading() as conn:
            rows = conn.execute(stmt).all()
        return [entry_from_row(r) for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE

    def _filtered(self, params: dict[str, str]) -> sa.Select[Any]:
        audit = self.tables.audit
        stmt = sa.select(audit)
        if params["username"]:
            stmt = stmt.where(audit.c.username == params["username"].lower())
        if params["table"]:
            stmt = stmt.where(audit.c.table_name == params["table"].lower())
        if params["key"]:
            stmt = stmt.where(audit.c.row_key == params["key"])
        for name, op in (("from", "ge"), ("to", "lt")):
            if params[name]:
                try:
                    day = dt.date.fromisoformat(params[name])
                except ValueError:
                    raise InvalidInput(f"{name}: '{params[name]}' is not a date") from None
                moment = dt.datetime.combine(day, dt.time(), dt.UTC)
                if op == "lt":
                    stmt = stmt.where(audit.c.occurred_at < to_db_time(moment + dt.timedelta(1)))
                else:
                    stmt = stmt.where(audit.c.occurred_at >= to_db_time(moment))
        return stmt

    @login_required
    async def entry(self, request: Request) -> Response:
        """One change, field by field, with a revert button when the user may undo it."""
        self._require_auditor(request)
        services = self._services()
        entry = await services.run_db(
            load_entry, services.records, self.tables, request.path_params["entry_id"]
        )
        context = {
            "title": f"Change {entry.id}",
            "entry": self._shown(actor_of(request), entry),
            "can_revert": self._may_revert(request, entry),
            "message": request.query_params.get("done", ""),
            "error": "",
        }
        return await self.admin.render(request, "datadesk/audit/entry.html", context)

    def _shown(self, actor: Actor, entry: AuditEntry) -> AuditEntry:
        """The entry as this auditor may read it: values of columns their roles hide on the
        table are replaced by a marker (the column names stay, so the change is still seen)."""
        if entry.table_name not in self.services.catalog.tables:
            return entry  # datadesk's own tables (user accounts): no column is hidden
        hidden = self.services.policy.access(actor, entry.table_name).hidden
        if not hidden.intersection(entry.changes):
            return entry
        changes = {
            name: [HIDDEN_VALUE, HIDDEN_VALUE] if name in hidden else pair
            for name, pair in entry.changes.items()
        }
        return dataclasses.replace(entry, changes=changes)

    def _may_revert(self, request: Request, entry: AuditEntry) -> bool:
        services = self._services()
        if entry.table_name not in services.catalog.tables:
            return False
        access = services.policy.access(actor_of(request), entry.table_name)
        return access.can(REVERSE_ACTION.get(entry.action, "-"))

    @login_required
    async def revert(self, request: Request) -> Response:
        """Undo one change, if the row still holds what the change wrote (else show why not)."""
        self._require_auditor(request)
        services = self._services()
        entry = await services.run_db(
            load_entry, services.records, self.tables, request.path_params["entry_id"]
        )
        if not self._may_revert(request, entry):
            raise AccessDenied(f"you may not undo changes to {entry.table_name}")
        table = services.catalog.tables[entry.table_name]
        view = self.admin._find_model_view(entry.table_name)
        access = services.policy.access(actor_of(request), entry.table_name)
        parts = path_to_key_parts(entry.row_key, len(table.primary_key))
        key = [
            coerce_value(table.columns[n], p) for n, p in zip(table.primary_key, parts, strict=True)
        ]
        action = REVERSE_ACTION[entry.action]
        if entry.action == "delete":
            before = {name: pair[0] for name, pair in entry.changes.items()}
            await services.run_db(check_values, view, access, "create", before)
        else:
            await services.run_db(require_row, view, access, action, key)
        context = audit_context(request, "revert")
        context = type(context)(
            context.username, "revert", context.address, reverted_entry_id=entry.id
        )
        await services.run_db(apply_revert, services.records, services.catalog, entry, key, context)
        url = request.url_for("admin:audit_entry", entry_id=entry.id)
        return RedirectResponse(url.include_query_params(done="reverted"), status_code=303)


EXPORT_COLUMNS = [
    "id",
    "occurred_at_utc",
    "username",
    "source",
    "address",
    "table",
    "row_key",
    "action",
    "reverts",
    "column",
    "before",
    "after",
]


def _export_lines(entry: AuditEntry) -> Iterator[list[Any]]:
    """One CSV line per changed column of an entry (so a spreadsheet can filter them)."""
    when = entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S") if entry.occurred_at else ""
    head = [
        entry.id,
        when,
        entry.username,
        entry.source,
        entry.address or "",
        entry.table_name,
        entry.row_key,
        entry.action,
        entry.reverted_entry_id or "",
    ]
    for name, (before, after) in entry.changes.items():
        yield [*head, name, "" if before is None else before, "" if after is None else after]


def _safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written with a leading apostrophe."""
    return defuse(value) if isinstance(value, str) else value


def install_audit_pages(
    admin: DatadeskAdmin, tables: AppTables, services: ViewServices
) -> AuditPages:
    """Add the audit pages to the admin's routes and the menu link to its templates."""
    pages = AuditPages(admin, tables, services)
    admin.admin.router.routes[0:0] = pages.routes()
    admin.templates.env.globals["can_audit"] = pages.can_audit
    admin.page_templates.globals["can_audit"] = pages.can_audit
    return pages
