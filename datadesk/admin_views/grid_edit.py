"""Edit mode of a grid: change cells of many rows, save them all in one transaction.

``GET /admin/{table}/grid`` shows a page of the grid (same search, filters, sort and paging as
the list) with the grid-editable columns as inputs, in one plain HTML form. ``POST`` to the
same address saves the changed cells: every changed row is validated like the edit form and
checked against the version it was loaded with; then all rows are written in one transaction,
or none when any is refused. Without JavaScript the answer is the page again (a redirect after
a save, the marked form when refused); asked for JSON (``Accept: application/json``, as
``grid_edit.js`` does) it is a JSON document the script places on the cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqladmin.authentication import login_required
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from datadesk.admin_views.access import access_for, audit_context, decode_version, scope_key
from datadesk.admin_views.admin_pages import AdminPages
from datadesk.admin_views.bulk_set import BulkSetPages
from datadesk.admin_views.grid_form import GridForm
from datadesk.admin_views.grid_rows import EditRow, GridRows, editable_column
from datadesk.admin_views.grid_submission import GridSubmission, SubmittedRow, read_submission
from datadesk.admin_views.model_view import DatadeskModelView
from datadesk.admin_views.pages import GridPage
from datadesk.admin_views.session_gate import MAX_FORM_FIELDS
from datadesk.auth.policy import TableAccess
from datadesk.errors import AccessDenied, DatadeskError
from datadesk.models.batch_writes import BatchOutcome, BatchUpdate, RowChange
from datadesk.models.row_keys import match_key

if TYPE_CHECKING:
    from datadesk.admin_views.site import DatadeskAdmin

MAX_SAVED_KEYS = 100  # keys of saved rows named in the address after a save
# What the address after a write says was done (never free text: a link could carry it).
DONE_PARAMS = frozenset({"saved", "saved_rows", "unchanged", "bulk", "bulk_column"})


class GridEditPages(AdminPages):
    """GET and POST /admin/{table}/grid."""

    def __init__(self, admin: DatadeskAdmin) -> None:
        super().__init__(admin)

    def routes(self) -> list[Route]:
        """The routes to mount in the admin."""
        return [
            Route(
                "/{identity}/grid",
                endpoint=self.grid,
                name="grid_edit",
                methods=["GET", "POST"],
            )
        ]

    async def prepare(self, request: Request) -> tuple[DatadeskModelView, TableAccess, GridForm]:
        """The view, the user's access (list and edit needed) and the grid's inputs."""
        view = self.admin.view_for(request)
        access = access_for(view, request)
        access.require("list")
        access.require("edit")
        if not view.permissions(access)["grid_edit"]:
            raise AccessDenied(f"no columns of {view.name_plural} can be edited in the grid")
        return view, access, await GridForm.build(view, access)

    def page(self, request: Request, view: DatadeskModelView, access: TableAccess) -> GridPage:
        """The grid page loader, with the column telling editable rows apart."""
        return GridPage(
            view,
            view.grid_for(request, access),
            self.admin.counts,
            self.admin.count_cap,
            root=request.scope.get("root_path", "").rstrip("/"),
            count_scope=scope_key(request) if access.where_for("list") is not None else (),
            extra_columns=editable_column(access),
        )

    @staticmethod
    def max_rows(view: DatadeskModelView) -> int:
        """Most rows one save may hold: the largest page a user can choose."""
        return max((*view.services.config.app.page_size_options, view.page_size_value))

    # -- GET --------------------------------------------------------------------------------------

    @login_required
    async def grid(self, request: Request) -> Response:
        """GET: the editable grid; POST: save its changed cells (or start a bulk set)."""
        view, access, form = await self.prepare(request)
        if request.method == "POST":
            return await self._post(request, view, access, form)
        saved = frozenset(request.query_params.getlist("saved"))
        rows = GridRows(self.page(request, view, access), form, access)

        def load() -> tuple[dict[str, Any], list[EditRow]]:
            context = rows.page.load(grid_params(request))
            if context["page"] != context["state"].page:
                return context, []
            shown = [rows.fresh(i, r, saved) for i, r in enumerate(context["records"])]
            return context, shown

        context, shown = await view.services.run_db(load)
        if context["page"] != context["state"].page:
            url = request.url.include_query_params(page=context["page"])
            return RedirectResponse(url, status_code=302)
        message = _done_message(request, form)
        return await self.render_page(request, view, access, form, context, shown, message=message)

    async def render_page(
        self,
        request: Request,
        view: DatadeskModelView,
        access: TableAccess,
        form: GridForm,
        context: dict[str, Any],
        rows: list[EditRow],
        *,
        message: str = "",
        error: str = "",
        problems: list[str] | None = None,
        status_code: int = 200,
    ) -> Response:
        """The editable grid page around ``rows``, with a message or the problems found."""
        context.update(
            {
                "model_view": view,
                "title": f"Edit {view.name_plural}",
                "perms": view.permissions(access),
                "edit_rows": rows,
                "grid_form": form,
                "message": message,
                "error": error,
                "problems": problems or [],
                "bulk_columns": [(c, form.column(c).label) for c in form.columns],
                "max_rows": self.max_rows(view),
            }
        )
        return await self.admin.render(
            request, "datadesk/grid_edit.html", context, status_code=status_code
        )

    # -- POST -------------------------------------------------------------------------------------

    async def _post(
        self, request: Request, view: DatadeskModelView, access: TableAccess, form: GridForm
    ) -> Response:
        data = await request.form(max_fields=MAX_FORM_FIELDS)
        sent = read_submission(data.multi_items(), form, self.max_rows(view))
        answer = _Answer(self, request, view, access, form, sent)
        if sent.problems:
            return await answer.malformed()
        self._read_keys(view, sent)
        if sent.action == "bulk":
            return await answer.to_bulk()
        touched = sent.touched
        if not touched:
            return await answer.saved()
        await view.services.run_db(self._check_cells, form, touched)
        if any(row.has_problems for row in sent.in_order):
            return await answer.refused(status_code=400)
        batch = BatchUpdate(
            view.services.records,
            view.table_info,
            access.where_for("edit"),
            audit_context(request, "grid"),
        )
        changes = [RowChange(r.key or (), r.new_values, r.expected) for r in touched]
        outcome = await view.services.run_db(batch.apply, changes)
        if not outcome.is_written:
            self._place_refusals(outcome, touched)
            return await answer.refused(status_code=409)
        return await answer.saved()

    @staticmethod
    def _read_keys(view: DatadeskModelView, sent: GridSubmission) -> None:
        """Type each row's key and read its version; a row sent twice is refused at both."""
        first: dict[tuple[Any, ...], SubmittedRow] = {}
        for row in sent.in_order:
            if not row.raw_key:
                continue
            try:
                row.key = tuple(view.parse_key(row.raw_key))
            except DatadeskError:
                row.problem = row.problem or f"no row with key {row.raw_key[:60]}"
                continue
            same = first.setdefault(match_key(row.key), row)
            if same is not row:
                message = "this row is in the form twice; save each row once"
                row.problem = same.problem = message
            if row.is_touched and not row.problem:
                try:
                    row.expected = decode_version(row.version, view.table_info)
                except DatadeskError:
                    row.problem = "the row's version is garbled; reload the page"

    @staticmethod
    def _check_cells(form: GridForm, rows: list[SubmittedRow]) -> None:
        """Validate the changed cells of each row like the edit form (in a worker thread:
        checks of references query the database)."""
        for row in rows:
            if row.problem or not row.changed:
                continue
            check = form.check(row.changed)
            row.cell_problems.update(check.errors)
            row.new_values = check.values

    @staticmethod
    def _place_refusals(outcome: BatchOutcome, rows: list[SubmittedRow]) -> None:
        """Put what the database or the version check refused on the rows and cells."""
        by_key = {match_key(row.key or ()): row for row in rows}
        for refusal in outcome.refusals:
            row = by_key.get(match_key(refusal.key))
            if row is None:
                continue
            if refusal.column is not None and refusal.column in row.changed:
                row.cell_problems[refusal.column] = refusal.message
            else:
                row.problem = refusal.message
            row.is_conflict = refusal.code == "conflict"
            row.their_changes = frozenset(refusal.changed)


class _Answer:
    """The answers to one POST of a grid: the page or JSON, after a save or a refusal."""

    def __init__(
        self,
        pages: GridEditPages,
        request: Request,
        view: DatadeskModelView,
        access: TableAccess,
        form: GridForm,
        sent: GridSubmission,
    ) -> None:
        self.pages = pages
        self.request = request
        self.view = view
        self.access = access
        self.form = form
        self.sent = sent
        self.wants_json = "application/json" in request.headers.get("accept", "")
        self.rows = GridRows(pages.page(request, view, access), form, access)

    async def malformed(self) -> Response:
        """The form as a whole cannot be read: say why; nothing was saved."""
        message = "The form could not be read, so nothing was saved."
        if self.wants_json:
            return JSONResponse(
                {"ok": False, "message": message, "problems": self.sent.problems}, 400
            )
        return await self._page(error=message, problems=self.sent.problems, status_code=400)

    async def refused(self, *, status_code: int) -> Response:
        """Nothing was saved: every problem on its row or cell, the user's input kept."""
        touched = self.sent.touched
        bad = [row for row in self.sent.in_order if row.has_problems]
        conflicts = sum(1 for row in bad if row.is_conflict)
        message = (
            f"Nothing was saved: {len(bad)} of the {len(touched)} changed rows "
            f"{'has' if len(bad) == 1 else 'have'} problems, marked in the grid. "
            "Fix them and save again."
        )
        if conflicts:
            message += (
                f" Someone else changed {conflicts} of the rows after you loaded them: their "
                "values are shown beside yours; save again to put yours over theirs, or reload "
                "the page to start from theirs."
            )
        rows = await self._shown(self.sent.in_order if not self.wants_json else touched)
        if self.wants_json:
            payload = [_row_json(row, with_state=sent.is_conflict) for row, sent in rows]
            return JSONResponse({"ok": False, "message": message, "rows": payload}, status_code)
        return await self._page([row for row, _ in rows], error=message, status_code=status_code)

    async def saved(self) -> Response:
        """Everything was saved (or nothing had changed)."""
        touched = self.sent.touched
        if self.wants_json:
            rows = await self._shown(touched, fresh=True)
            count = len(touched)
            message = f"Saved: {count} row{'s' if count != 1 else ''} changed."
            if not touched:
                message = "Nothing to save: no cell was changed."
            payload = [{**_row_json(row), "index": sent.index} for row, sent in rows]
            return JSONResponse({"ok": True, "message": message, "rows": payload})
        params = grid_params(self.request)
        params += [("saved", row.raw_key) for row in touched[:MAX_SAVED_KEYS]]
        params += [("saved_rows", str(len(touched)))] if touched else []
        if not touched:
            params.append(("unchanged", "1"))
        url = self.request.url.replace(query=urlencode(params))
        return RedirectResponse(url, status_code=303)

    async def to_bulk(self) -> Response:
        """On to the bulk set page with the chosen rows, unless cells are unsaved."""
        changed = [row for row in self.sent.in_order if row.changed]
        if changed:
            rows = await self._shown(self.sent.in_order)
            return await self._page(
                [row for row, _ in rows],
                error=(
                    f"You have unsaved changes in {len(changed)} row"
                    f"{'s' if len(changed) != 1 else ''}: save them first (or reload the page "
                    "to drop them), then set a column on many rows."
                ),
                status_code=400,
            )
        params = grid_params(self.request)
        params += [("column", self.sent.bulk_column), ("rows", self.sent.bulk_rows or "chosen")]
        params += [("pks", key) for key in self.sent.picked]
        url = self.request.url_for("admin:bulk_set", identity=self.view.identity)
        return RedirectResponse(url.replace(query=urlencode(params)), status_code=303)

    async def _shown(
        self, sent_rows: list[SubmittedRow], *, fresh: bool = False
    ) -> list[tuple[EditRow, SubmittedRow]]:
        """The rows to show again, from the database and what was submitted."""

        def build() -> list[tuple[EditRow, SubmittedRow]]:
            records = self.rows.load([row.key for row in sent_rows if row.key is not None])
            shown = []
            for sent in sent_rows:
                record = records.get(match_key(sent.key)) if sent.key is not None else None
                if fresh and record is not None:
                    row = self.rows.fresh(sent.index, record, frozenset())
                else:
                    row = self.rows.submitted(sent, record, conflict=sent.is_conflict)
                shown.append((row, sent))
            return shown

        return await self.view.services.run_db(build)

    async def _page(
        self,
        rows: list[EditRow] | None = None,
        *,
        error: str,
        problems: list[str] | None = None,
        status_code: int,
    ) -> Response:
        """The grid page around ``rows`` (the page from the database when None)."""
        page = self.rows.page

        def load() -> tuple[dict[str, Any], list[EditRow]]:
            context = page.load(grid_params(self.request))
            if rows is not None:
                return context, rows
            fresh = [self.rows.fresh(i, r, frozenset()) for i, r in enumerate(context["records"])]
            return context, fresh

        context, shown = await self.view.services.run_db(load)
        return await self.pages.render_page(
            self.request,
            self.view,
            self.access,
            self.form,
            context,
            shown,
            error=error,
            problems=problems,
            status_code=status_code,
        )


def _row_json(row: EditRow, *, with_state: bool = True) -> dict[str, Any]:
    """One row of a JSON answer: its problems and, when it was reloaded (saved, or changed
    by someone else), the state it has now."""
    result: dict[str, Any] = {"index": row.index, "key": row.raw_key}
    errors = {c.column.name: c.error for c in row.cells if c.error}
    if row.problem:
        result["problem"] = row.problem
    if errors:
        result["errors"] = errors
    if with_state:
        result["version"] = row.version
        result["loaded"] = row.loaded()
        theirs = {c.column.name: c.theirs for c in row.cells if c.theirs}
        if theirs:
            result["theirs"] = theirs
    return result


def grid_params(request: Request) -> list[tuple[str, str]]:
    """The grid's state (search, filters, sort, page) from the address, without the note of
    what the previous write did."""
    return [(k, v) for k, v in request.query_params.multi_items() if k not in DONE_PARAMS]


def _done_message(request: Request, form: GridForm) -> str:
    """What the previous write did, from the address it redirected to."""
    params = request.query_params
    count = params.get("saved_rows", "")
    saved = int(count) if count.isdigit() else len(params.getlist("saved"))
    if saved:
        return f"Saved: {saved} row{'s' if saved != 1 else ''} changed (marked in the grid)."
    if params.get("unchanged"):
        return "Nothing to save: no cell was changed."
    count, column = params.get("bulk", ""), params.get("bulk_column", "")
    if count.isdigit() and column in form.columns:
        rows = f"{int(count)} row{'s' if int(count) != 1 else ''}"
        return f"{form.column(column).label} was set on {rows}."
    return ""


def install_grid_edit_pages(admin: DatadeskAdmin) -> GridEditPages:
    """Add the editable grid and bulk set pages to the admin's routes."""
    pages = GridEditPages(admin)
    admin.admin.router.routes[0:0] = [*pages.routes(), *BulkSetPages(pages).routes()]
    return pages
