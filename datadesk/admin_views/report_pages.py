"""The Reports pages: the reports the user may run, each one's form, and its workbook.

``GET /admin/reports`` lists them; ``GET /admin/reports/{name}`` shows the form with its
defaults; ``POST`` to the same address (with the CSRF token) checks the values and answers
with the workbook, written completely to a temporary file first. A wrong value re-shows the
form with the message next to its field; a report with too many rows re-shows it with the
message on top: never a partial file. Plain forms, no JavaScript needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from sqladmin.authentication import login_required
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from datadesk.admin_views.access import actor_of
from datadesk.admin_views.admin_pages import AdminPages
from datadesk.admin_views.export_pages import TemporaryFileResponse
from datadesk.auth.actor import Actor
from datadesk.errors import TooManyRows
from datadesk.exports.reports_params import ParameterProblems, ParameterSpec
from datadesk.exports.reports_service import XLSX_TYPE, ReportService
from datadesk.exports.reports_spec import ReportSpec

if TYPE_CHECKING:
    from datadesk.admin_views.site import DatadeskAdmin

MAX_FIELDS = 100


@dataclass(frozen=True)
class FormField:
    """One parameter as the form shows it: current text, options, and its problem if any."""

    name: str
    label: str
    type: str
    required: bool
    help: str | None
    value: str
    value_from: str
    value_to: str
    options: list[tuple[str, str]] | None  # (value, label); None: typed in
    error: str


class ReportPages(AdminPages):
    """Routes under /admin/reports."""

    def __init__(self, admin: DatadeskAdmin, service: ReportService, concurrent: int) -> None:
        super().__init__(admin)
        self.service = service
        self.limiter = anyio.CapacityLimiter(concurrent)

    def routes(self) -> list[Route]:
        """The routes to mount in the admin."""
        return [
            Route("/reports", endpoint=self.index, name="reports"),
            Route("/reports/{name}", endpoint=self.report, name="report", methods=["GET", "POST"]),
        ]

    def can_run_reports(self, request: Request) -> bool:
        """Whether the signed-in user may run some report (for the menu link)."""
        actor = getattr(request.state, "actor", None)
        return actor is not None and bool(self.service.available(actor))

    async def _in_thread(self, func: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(func, *args, limiter=self.limiter)

    @login_required
    async def index(self, request: Request) -> Response:
        """The reports the signed-in user may run, with what each is for."""
        reports = self.service.available(actor_of(request))
        context = {"title": "Reports", "reports": reports}
        return await self.admin.render(request, "datadesk/reports/list.html", context)

    @login_required
    async def report(self, request: Request) -> Response:
        """GET: the report's form; POST: its workbook, or the form with what is wrong."""
        actor = actor_of(request)
        spec = self.service.get(request.path_params["name"])
        self.service.require(actor, spec)
        if request.method == "GET":
            return await self._form(request, spec, actor, {}, {}, "", 200)
        form = await request.form(max_fields=MAX_FIELDS, max_files=0)
        raw = {key: str(value) for key, value in form.items() if key != "csrf_token"}
        try:
            values = await self._in_thread(self.service.read_parameters, spec, actor, raw)
        except ParameterProblems as exc:
            return await self._form(request, spec, actor, raw, exc.errors, "", 400)
        path = self.service.temp_path(spec)
        try:
            result = await self._in_thread(self.service.write, spec, actor, values, path)
        except TooManyRows as exc:
            path.unlink(missing_ok=True)
            return await self._form(request, spec, actor, raw, {}, exc.message, exc.status_code)
        except BaseException:  # also a cancelled request: the thread finished, its file goes
            path.unlink(missing_ok=True)
            raise
        return TemporaryFileResponse(path, media_type=XLSX_TYPE, filename=result.file_name)

    async def _form(
        self,
        request: Request,
        spec: ReportSpec,
        actor: Actor,
        raw: dict[str, str],
        errors: dict[str, str],
        message: str,
        status_code: int,
    ) -> Response:
        fields = await self._in_thread(self._fields, spec, actor, raw, errors)
        context = {
            "title": spec.title,
            "report": spec,
            "fields": fields,
            "message": message,
            "has_errors": bool(errors),
        }
        return await self.admin.render(
            request, "datadesk/reports/form.html", context, status_code=status_code
        )

    def _fields(
        self, spec: ReportSpec, actor: Actor, raw: dict[str, str], errors: dict[str, str]
    ) -> list[FormField]:
        """The form's fields: submitted text when re-shown, else the defaults."""
        today = self.service.today()
        fields = []
        for name, parameter in spec.parameters.items():
            default = parameter.default_text(today)
            start, end = default if isinstance(default, tuple) else ("", "")
            fields.append(
                FormField(
                    name=name,
                    label=parameter.label,
                    type=parameter.type,
                    required=parameter.required,
                    help=parameter.help,
                    value=raw.get(name, default if isinstance(default, str) else ""),
                    value_from=raw.get(f"{name}.from", start),
                    value_to=raw.get(f"{name}.to", end),
                    options=self._options(parameter, actor),
                    error=errors.get(name, ""),
                )
            )
        return fields

    def _options(self, parameter: ParameterSpec, actor: Actor) -> list[tuple[str, str]] | None:
        if parameter.type != "choice":
            return None
        found = self.service.options(parameter, actor)
        return None if found is None else [(str(value), label) for value, label in found]


def install_report_pages(admin: DatadeskAdmin, service: ReportService) -> ReportPages:
    """Add the Reports pages to the admin's routes and the menu link to its templates."""
    pages = ReportPages(admin, service, service.settings.concurrent)
    # After the grids' routes: a table called "reports" keeps its own pages.
    admin.admin.router.routes.extend(pages.routes())
    for env in (admin.templates.env, admin.page_templates):
        env.globals["can_run_reports"] = pages.can_run_reports
    return pages
