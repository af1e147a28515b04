"""The Export download of every grid: the list's state as .xlsx or .csv, in a worker thread.

``GET /admin/{table}/export?format=xlsx|csv[&columns=all]&<the list's query>``: a plain link
(no JavaScript), reading only. The file is written completely to a temporary file before the
first byte is sent, so an error (no ``export`` action, a malformed list state, too many rows)
is an error page, never a partial file; the file is removed once sent or when the client
goes away. Exports run on their own bounded pool of threads, so a long one never holds up
other users' pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
from sqladmin.authentication import login_required
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from datadesk.admin_views.access import actor_of
from datadesk.admin_views.admin_pages import AdminPages
from datadesk.exports.grid_export import GridExporter

if TYPE_CHECKING:
    from datadesk.admin_views.site import DatadeskAdmin


class TemporaryFileResponse(FileResponse):
    """A file download whose file is deleted afterwards, also when the client disconnects."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            Path(self.path).unlink(missing_ok=True)


class ExportPages(AdminPages):
    """The ``/{identity}/export`` route of the admin."""

    def __init__(self, admin: DatadeskAdmin, exporter: GridExporter) -> None:
        super().__init__(admin)
        self.exporter = exporter
        self.limiter = anyio.CapacityLimiter(exporter.settings.concurrent)

    def routes(self) -> list[Route]:
        """The routes to mount in the admin."""
        return [Route("/{identity}/export", endpoint=self.export, name="grid_export")]

    @login_required
    async def export(self, request: Request) -> Response:
        """The grid's rows for its list state, as a download."""
        view = self.admin.view_for(request)
        query = request.query_params
        plan = self.exporter.plan(
            actor_of(request),
            view.table_info.name,
            query.multi_items(),
            query.get("format", "xlsx"),
            all_columns=query.get("columns") == "all",
        )
        path = self.exporter.temp_path(plan)
        try:
            await anyio.to_thread.run_sync(self.exporter.write, plan, path, limiter=self.limiter)
        except BaseException:  # also a cancelled request: the thread finished, its file goes
            path.unlink(missing_ok=True)
            raise
        return TemporaryFileResponse(path, media_type=plan.media_type, filename=plan.file_name)


def install_export_pages(admin: DatadeskAdmin, exporter: GridExporter) -> ExportPages:
    """Add the export route to the admin (the grid's toolbar links to it)."""
    pages = ExportPages(admin, exporter)
    admin.admin.router.routes[0:0] = pages.routes()
    return pages
