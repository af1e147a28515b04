"""The Import pages: upload a workbook to a table, map its columns, preview, commit, download
the error workbook, and list one's import jobs.

Every page works without JavaScript (plain forms, each run answered when it is done); with it,
``datadesk.js`` submits the run forms in the background and shows the rows read so far.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio
from pydantic import ValidationError
from sqladmin.authentication import login_required
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from datadesk.admin_views.access import actor_of, audit_context
from datadesk.admin_views.admin_pages import AdminPages
from datadesk.auth.actor import Actor
from datadesk.config.schema import ImportProfile
from datadesk.errors import AccessDenied, FileTooLarge, InvalidInput, NotFound
from datadesk.importers.jobs import ERRORS
from datadesk.importers.matching import suggest_mapping
from datadesk.importers.service import ImportService
from datadesk.models.catalog import TableInfo

if TYPE_CHECKING:
    from datadesk.admin_views.site import DatadeskAdmin

MAP_YOURSELF = "__map__"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROGRESS_TOKENS = 1000  # progress entries kept per process
CONCURRENT_RUNS = 2  # imports running at once per worker process


class ImportPages(AdminPages):
    """Routes under /admin: /{table}/import and /imports/..."""

    def __init__(self, admin: DatadeskAdmin, service: ImportService) -> None:
        super().__init__(admin)
        self.service = service
        self.limiter = anyio.CapacityLimiter(CONCURRENT_RUNS)
        self.tokens: dict[str, int] = {}

    def routes(self) -> list[Route]:
        """The routes to mount in the admin."""
        return [
            Route("/imports", endpoint=self.jobs, name="imports"),
            Route("/imports/progress/{token}", endpoint=self.progress, name="import_progress"),
            Route("/imports/{job_id:int}", endpoint=self.job, name="import_job"),
            Route(
                "/imports/{job_id:int}/map",
                endpoint=self.map,
                name="import_map",
                methods=["GET", "POST"],
            ),
            Route(
                "/imports/{job_id:int}/preview",
                endpoint=self.preview,
                name="import_preview",
                methods=["POST"],
            ),
            Route(
                "/imports/{job_id:int}/commit",
                endpoint=self.commit,
                name="import_commit",
                methods=["POST"],
            ),
            Route("/imports/{job_id:int}/errors", endpoint=self.errors, name="import_errors"),
            Route(
                "/{identity}/import",
                endpoint=self.upload,
                name="import_upload",
                methods=["GET", "POST"],
            ),
        ]

    # --- helpers -------------------------------------------------------------------------------

    def _root(self, request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def _table(self, request: Request) -> TableInfo:
        view = self.admin.view_for(request)
        return view.table_info

    async def _in_thread(self, func: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(func, *args, limiter=self.limiter)

    def _token_progress(self, request: Request, form: Any) -> Any:
        token = str(form.get("progress_token", ""))[:40]
        if not token:
            return None
        if len(self.tokens) > PROGRESS_TOKENS:
            self.tokens.clear()
        self.tokens[token] = 0

        def update(rows: int) -> None:
            self.tokens[token] = rows

        return update

    # --- pages ---------------------------------------------------------------------------------

    @login_required
    async def upload(self, request: Request) -> Response:
        """GET: the upload form; POST: store the upload as a job and preview it."""
        table = self._table(request)
        actor = actor_of(request)
        access = self.service.policy.access(actor, table.name)
        access.require("import")
        profiles = await self._in_thread(self.service.profiles_for, actor, table.name)
        context: dict[str, Any] = {
            "title": f"Import into {table.label_plural}",
            "table": table,
            "profiles": profiles,
            "map_yourself": MAP_YOURSELF,
            "max_mb": self.service.settings.max_upload_mb,
            "progress_token": secrets.token_urlsafe(12),
        }
        if request.method == "GET":
            context["jobs"] = await self._in_thread(
                lambda: self.service.jobs.recent(
                    username=None if actor.is_admin else actor.username,
                    table_name=table.name,
                    limit=10,
                )
            )
            return await self.admin.render(request, "datadesk/imports/upload.html", context)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.service.max_upload_bytes + 64 * 1024:
            raise FileTooLarge(
                f"the upload is {int(length) / 1048576:.1f} MB; "
                f"the limit is {self.service.settings.max_upload_mb:g} MB"
            )
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("choose a file to upload")
        content = await upload.read(self.service.max_upload_bytes + 1)
        if len(content) > self.service.max_upload_bytes:
            raise FileTooLarge(
                f"{upload.filename} is larger than {self.service.settings.max_upload_mb:g} MB"
            )
        choice = str(form.get("profile", ""))
        progress = self._token_progress(request, form)
        if choice == MAP_YOURSELF or not choice:
            job_id = await self._in_thread(
                self._start_mapping, actor, table, upload.filename, content
            )
            return RedirectResponse(f"{self._root(request)}/imports/{job_id}/map", 303)
        if choice not in profiles:
            raise NotFound(f"no import profile '{choice[:60]}' for {table.label_plural}")
        job_id = await self._in_thread(
            lambda: self.service.start(
                actor=actor,
                profile=profiles[choice],
                profile_name=choice,
                file_name=upload.filename or "upload",
                content=content,
                channel="web",
            )
        )
        await self._run(request, job_id, actor, commit=False, progress=progress)
        return RedirectResponse(f"{self._root(request)}/imports/{job_id}", 303)

    def _start_mapping(self, actor: Actor, table: TableInfo, file_name: str, content: bytes) -> int:
        """A job for a workbook without a profile: its columns mapped by similarity first."""
        placeholder = ImportProfile.model_validate(
            {
                "table": table.name,
                "mode": "insert",
                "columns": {
                    _first_writable(self.service, actor, table): {"from": "-", "optional": True}
                },
            }
        )
        job_id = self.service.start(
            actor=actor,
            profile=placeholder,
            profile_name=None,
            file_name=file_name,
            content=content,
            channel="web",
        )
        job = self.service.jobs.get(job_id)
        headings = self.service.headings(job)
        suggested = suggest_mapping(headings, table)
        writable = set(
            self.service.policy.access(actor, table.name).writable_columns(table.columns, "import")
        )
        columns = {name: {"from": h.text} for name, h in suggested.items() if name in writable}
        if columns:
            profile = ImportProfile.model_validate(
                {"table": table.name, "mode": "insert", "columns": columns}
            )
            self.service.jobs.set_profile(job_id, profile, None)
        return job_id

    @login_required
    async def map(self, request: Request) -> Response:
        """GET: map each sheet heading to a column; POST: keep the mapping and preview."""
        actor = actor_of(request)
        job = await self._in_thread(self.service.job_for, request.path_params["job_id"], actor)
        table = self.service.catalog.get(job.table_name)
        if table is None:
            raise NotFound(f"no such table: {job.table_name}")
        self.service.policy.access(actor, table.name).require("import")
        if job.status == "committed":
            raise InvalidInput(f"import job {job.id} was committed already")
        writable = self.service.policy.access(actor, table.name).writable_columns(
            table.columns, "import"
        )
        headings = await self._in_thread(self.service.headings, job)
        error = ""
        if request.method == "POST":
            form = await request.form(max_fields=500)
            try:
                profile, name = _profile_from_form(form, table, headings, writable)
                await self._in_thread(self.service.jobs.set_profile, job.id, profile, name)
                if name:
                    await self._in_thread(self.service.save_profile, name, profile, actor)
            except ValidationError as exc:
                error = "; ".join(_pydantic_message(e) for e in exc.errors())
            except InvalidInput as exc:
                error = exc.message
            else:
                await self._run(
                    request,
                    job.id,
                    actor,
                    commit=False,
                    progress=self._token_progress(request, form),
                )
                return RedirectResponse(f"{self._root(request)}/imports/{job.id}", 303)
        current = {h: name for name, col in job.profile.columns.items() for h in col.source}
        context = {
            "title": f"Map the columns of {job.file_name}",
            "job": job,
            "table": table,
            "headings": headings,
            "writable": [table.columns[n] for n in writable],
            "current": current,
            "keys": set(job.profile.key),
            "mode": job.profile.mode,
            "error": error,
            "progress_token": secrets.token_urlsafe(12),
        }
        return await self.admin.render(
            request, "datadesk/imports/map.html", context, status_code=400 if error else 200
        )

    @login_required
    async def job(self, request: Request) -> Response:
        """One job: counts, notices, problems, planned changes; commit and download buttons."""
        actor = actor_of(request)
        job = await self._in_thread(self.service.job_for, request.path_params["job_id"], actor)
        table = self.service.catalog.get(job.table_name)
        has_errors = await self._in_thread(self.service.jobs.file, job.id, ERRORS) is not None
        context = {
            "title": f"Import job {job.id}",
            "job": job,
            "table": table,
            "has_errors_file": has_errors,
            "progress_token": secrets.token_urlsafe(12),
        }
        return await self.admin.render(request, "datadesk/imports/job.html", context)

    @login_required
    async def jobs(self, request: Request) -> Response:
        """The signed-in user's import jobs (an admin sees everyone's)."""
        actor = actor_of(request)
        jobs = await self._in_thread(
            lambda: self.service.jobs.recent(
                username=None if actor.is_admin else actor.username, table_name=None, limit=100
            )
        )
        context = {"title": "Import jobs", "jobs": jobs, "catalog": self.service.catalog}
        return await self.admin.render(request, "datadesk/imports/jobs.html", context)

    @login_required
    async def preview(self, request: Request) -> Response:
        """Run the job again as a dry run (e.g. after the data was fixed in the database)."""
        return await self._run_from_form(request, commit=False)

    @login_required
    async def commit(self, request: Request) -> Response:
        """Write the job's rows in one transaction: all of them, or none."""
        return await self._run_from_form(request, commit=True)

    async def _run_from_form(self, request: Request, *, commit: bool) -> Response:
        form = await request.form(max_fields=5)
        job_id = request.path_params["job_id"]
        progress = self._token_progress(request, form)
        await self._run(request, job_id, actor_of(request), commit=commit, progress=progress)
        return RedirectResponse(f"{self._root(request)}/imports/{job_id}", 303)

    async def _run(
        self, request: Request, job_id: int, actor: Actor, *, commit: bool, progress: Any
    ) -> None:
        address = audit_context(request, "import").address
        await self._in_thread(
            lambda: self.service.run(
                job_id, actor, commit=commit, address=address, progress=progress
            )
        )

    @login_required
    async def errors(self, request: Request) -> Response:
        """The uploaded workbook with each problem marked, and an Errors sheet."""
        actor = actor_of(request)
        job = await self._in_thread(self.service.job_for, request.path_params["job_id"], actor)
        content = await self._in_thread(self.service.jobs.file, job.id, ERRORS)
        if content is None:
            raise NotFound(f"import job {job.id} has no error workbook")
        name = self.service.error_workbook_name(job)
        media = (
            XLSX_TYPE
            if name.endswith(".xlsx")
            else "application/vnd.ms-excel.sheet.macroEnabled.12"
        )
        return Response(
            content,
            media_type=media,
            headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )

    @login_required
    async def progress(self, request: Request) -> Response:
        """Rows read so far by a run started with this token (in this process)."""
        token = request.path_params["token"][:40]
        return JSONResponse({"rows": self.tokens.get(token)})

    def can_import_any(self, request: Request) -> bool:
        """Whether the signed-in user may import into some table (for the menu link)."""
        actor = getattr(request.state, "actor", None)
        if actor is None:
            return False
        return any(
            self.service.policy.access(actor, name).can("import")
            for name in self.service.catalog.tables
        )

    def can_import(self, request: Request) -> bool:
        """Whether the signed-in user may import into the grid's table (for its toolbar)."""
        actor = getattr(request.state, "actor", None)
        identity = request.path_params.get("identity")
        if actor is None or not identity:
            return False
        try:
            return self.service.policy.access(actor, identity).can("import")
        except NotFound:
            return False


def _first_writable(service: ImportService, actor: Actor, table: TableInfo) -> str:
    writable = service.policy.access(actor, table.name).writable_columns(table.columns, "import")
    if not writable:
        raise AccessDenied(f"you may not set any column of {table.label_plural}")
    return writable[0]


def _profile_from_form(
    form: Any, table: TableInfo, headings: list[Any], writable: list[str]
) -> tuple[ImportProfile, str | None]:
    """The profile the mapping form describes, and the name to save it under (if any)."""
    columns: dict[str, dict[str, Any]] = {}
    for heading in headings:
        target = str(form.get(f"map.{heading.index}", ""))
        if not target:
            continue
        if target not in writable:
            raise InvalidInput(f"{table.label_plural} has no column {target[:60]} you may set")
        if target in columns:
            label = table.columns[target].label
            raise InvalidInput(f"{label} is chosen for two headings; choose it once")
        columns[target] = {"from": heading.text}
    if not columns:
        raise InvalidInput("choose a column for at least one heading")
    keys = [k for k in form.getlist("key") if k in columns]
    mode = "upsert" if form.get("mode") == "upsert" else "insert"
    name = str(form.get("save_as", "")).strip() or None
    profile = ImportProfile.model_validate(
        {"table": table.name, "mode": mode, "key": keys, "columns": columns}
    )
    return profile, name


def _pydantic_message(error: Any) -> str:
    message = str(error.get("msg", "invalid mapping"))
    return message.removeprefix("Value error, ")


def install_import_pages(admin: DatadeskAdmin, service: ImportService) -> ImportPages:
    """Add the import pages to the admin's routes and the toolbar/menu helpers to templates."""
    pages = ImportPages(admin, service)
    admin.admin.router.routes[0:0] = pages.routes()
    for env in (admin.templates.env, admin.page_templates):
        env.globals["can_import"] = pages.can_import
        env.globals["can_import_any"] = pages.can_import_any
    return pages
