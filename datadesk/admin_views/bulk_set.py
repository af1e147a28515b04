"""Bulk set: one column set to one value on chosen rows, or on every row matching the filters.

Reached from the editable grid. ``GET /admin/{table}/bulk-set`` asks for the value (with the
column's own input: check box, drop-down, date...), then shows how many rows would change; its
confirmation POSTs to the same address with a fingerprint of the rows it counted. The commit
recounts inside its transaction and writes only if it finds the same rows with the same
values, else it shows the new count to confirm again. All rows or none, each audited as
``bulk``, each checked to stay within the rows the user may edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqladmin.authentication import login_required
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from datadesk.admin_views.access import audit_context
from datadesk.admin_views.admin_pages import AdminPages
from datadesk.admin_views.grid_form import GridForm
from datadesk.admin_views.grid_rows import version_columns
from datadesk.admin_views.model_view import DatadeskModelView
from datadesk.auth.policy import TableAccess
from datadesk.errors import DatadeskError, InvalidInput
from datadesk.models.batch_writes import BatchOutcome, BatchUpdate
from datadesk.models.grid_query import FILTER_PREFIX
from datadesk.models.row_keys import key_text, keys_condition

if TYPE_CHECKING:
    from datadesk.admin_views.grid_edit import GridEditPages

STATE_PARAMS = frozenset({"search", "sort", "page", "page_size"})
VALUE_PREFIX = "set"  # the value input is named set-<field>
MAX_LISTED = 20  # refused rows named on the page


@dataclass
class BulkRequest:
    """What a bulk set is asked to do: which column, which rows, which value."""

    column: str
    rows: str  # chosen | all
    raw_keys: list[str]
    state_params: list[tuple[str, str]]
    where: list[sa.ColumnElement[bool]] = field(default_factory=list)
    raw_value: str | None = None  # None until a value was submitted
    value: Any = None
    error: str = ""

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The fields that carry this request from one step to the next."""
        fields = [*self.state_params, ("column", self.column), ("rows", self.rows)]
        return fields + [("pks", key) for key in self.raw_keys]


class BulkSetPages(AdminPages):
    """GET and POST /admin/{table}/bulk-set."""

    def __init__(self, grid_pages: GridEditPages) -> None:
        super().__init__(grid_pages.admin)
        self.grid_pages = grid_pages

    def routes(self) -> list[Route]:
        """The routes to mount in the admin."""
        return [
            Route(
                "/{identity}/bulk-set",
                endpoint=self.bulk_set,
                name="bulk_set",
                methods=["GET", "POST"],
            )
        ]

    @login_required
    async def bulk_set(self, request: Request) -> Response:
        """GET: ask for the value and show what would change; POST: make the change."""
        view, access, form = await self.grid_pages.prepare(request)
        params: ImmutableMultiDict[str, Any] = (
            await request.form() if request.method == "POST" else request.query_params
        )
        wanted = self._read(request, view, access, form, params)
        if wanted.raw_value is not None:
            await view.services.run_db(self._check_value, form, wanted)
        batch = BatchUpdate(
            view.services.records,
            view.table_info,
            access.where_for("edit"),
            audit_context(request, "bulk"),
        )
        page = self.grid_pages.page(request, view, access)
        columns = version_columns(page)
        limit = view.services.config.app.count_cap
        context: dict[str, Any] = {"notice": ""}
        if request.method == "POST" and not wanted.error:
            outcome = await view.services.run_db(
                lambda: batch.set_column(
                    wanted.where,
                    wanted.column,
                    wanted.value,
                    confirmed=str(params.get("fingerprint", "")),
                    version_columns=columns,
                    limit=limit,
                )
            )
            if outcome.is_written:
                done = [("bulk", str(len(outcome.written))), ("bulk_column", wanted.column)]
                url = request.url_for("admin:grid_edit", identity=view.identity)
                query = urlencode([*wanted.state_params, *done])
                return RedirectResponse(url.replace(query=query), status_code=303)
            if outcome.refusals:
                context["refusals"] = _refusal_lines(outcome)
                context["notice"] = "Nothing was changed: these rows were refused."
                return await self._render(request, view, form, wanted, None, context, 409)
            context["notice"] = (
                "The rows changed since you looked at them: someone else edited, added or "
                "removed some. Nothing was changed yet; check the new count and confirm again."
            )
        preview = None
        if wanted.raw_value is not None and not wanted.error:
            preview = await view.services.run_db(
                lambda: batch.preview(
                    wanted.where,
                    wanted.column,
                    wanted.value,
                    version_columns=columns,
                    limit=limit,
                )
            )
            wanted.error = self._preview_problem(wanted, preview, limit)
        status = 409 if context["notice"] else (400 if wanted.error else 200)
        return await self._render(request, view, form, wanted, preview, context, status)

    # -- steps ------------------------------------------------------------------------------------

    def _read(
        self,
        request: Request,
        view: DatadeskModelView,
        access: TableAccess,
        form: GridForm,
        params: ImmutableMultiDict[str, Any],
    ) -> BulkRequest:
        """The column, rows and value asked for; the rows as WHERE terms."""
        items = params.multi_items()
        column = str(params.get("column", ""))
        if column not in form.columns:
            raise InvalidInput("choose a column that can be edited in the grid")
        rows = str(params.get("rows", "chosen"))
        if rows not in {"chosen", "all"}:
            raise InvalidInput("rows must be 'chosen' or 'all'")
        state_params = [
            (k, str(v)) for k, v in items if k in STATE_PARAMS or k.startswith(FILTER_PREFIX)
        ]
        raw_keys = [str(v) for k, v in items if k == "pks" and str(v)] if rows == "chosen" else []
        wanted = BulkRequest(column, rows, raw_keys, state_params)
        grid = view.grid_for(request, access)
        app = view.services.config.app
        state = grid.parse_state(
            state_params, page_size=view.page_size_value, page_size_options=app.page_size_options
        )
        if rows == "all":
            wanted.where = grid.where_clauses(state)
        else:
            if not raw_keys:
                raise InvalidInput(
                    "choose the rows to change first (tick their boxes in the grid), or choose "
                    "all rows matching the search and filters"
                )
            maximum = self.grid_pages.max_rows(view)
            if len(raw_keys) > maximum:
                raise InvalidInput(f"{len(raw_keys)} rows chosen; at most {maximum} at once")
            keys = []
            for raw in raw_keys:
                try:
                    keys.append(view.parse_key(raw))
                except DatadeskError:
                    raise InvalidInput(f"no row with key {raw[:60]}") from None
            scope = access.where_for("list")
            wanted.where = [keys_condition(view.table_info, keys)]
            wanted.where += [scope] if scope is not None else []
        name = f"{VALUE_PREFIX}-{form.field_names[column]}"
        if name in params:
            wanted.raw_value = str(params[name])
        elif request.method == "POST":
            # The confirmation always sends the value it showed; without it, nothing is set.
            raise InvalidInput("the new value was not sent; start again from the grid")
        elif params.get("step") == "preview":
            wanted.raw_value = ""  # an unticked check box sends nothing
        return wanted

    @staticmethod
    def _check_value(form: GridForm, wanted: BulkRequest) -> None:
        """Validate the value like the edit form's field for the column."""
        assert wanted.raw_value is not None
        raw = form.normalise(wanted.column, wanted.raw_value)
        check = form.check({wanted.column: raw})
        if check.errors:
            wanted.error = check.errors[wanted.column]
        else:
            wanted.value = check.values.get(wanted.column)

    @staticmethod
    def _preview_problem(wanted: BulkRequest, preview: BatchOutcome, limit: int) -> str:
        if preview.matched > limit:
            return f"more than {limit:,} rows match; narrow the search or filters first"
        if wanted.rows == "chosen":
            missing = len(wanted.raw_keys) - preview.matched
            if missing > 0:
                return (
                    f"{missing} of the chosen rows are not rows you may edit (or no longer "
                    "exist); go back to the grid and choose again"
                )
        if not preview.matched:
            return "no rows match"
        return ""

    async def _render(
        self,
        request: Request,
        view: DatadeskModelView,
        form: GridForm,
        wanted: BulkRequest,
        preview: BatchOutcome | None,
        context: dict[str, Any],
        status_code: int,
    ) -> Response:
        raw = wanted.raw_value or ""
        label = form.column(wanted.column).label
        grid_url = request.url_for("admin:grid_edit", identity=view.identity)
        context.update(
            {
                "model_view": view,
                "title": f"Set {label} on many {view.name_plural}",
                "wanted": wanted,
                "label": label,
                "field_name": form.field_names[wanted.column],
                "input": form.inputs(VALUE_PREFIX, {wanted.column: raw}, "new value")[
                    wanted.column
                ],
                "value_text": form.value_text(wanted.column, raw),
                "raw_value": form.normalise(wanted.column, raw),
                "preview": preview,
                "grid_url": f"{grid_url}?{urlencode(wanted.state_params)}",
            }
        )
        context.setdefault("refusals", [])
        return await self.admin.render(
            request, "datadesk/bulk_set.html", context, status_code=status_code
        )


def _refusal_lines(outcome: BatchOutcome) -> list[str]:
    """One line per refused row (the first MAX_LISTED)."""
    lines = [f"{key_text(r.key)}: {r.message}" for r in outcome.refusals[:MAX_LISTED]]
    if len(outcome.refusals) > MAX_LISTED:
        lines.append(f"…and {len(outcome.refusals) - MAX_LISTED} more")
    return lines
