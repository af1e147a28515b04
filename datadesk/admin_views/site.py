"""The admin site: sqladmin's Admin with datadesk's list, detail, delete and lookup pages.

sqladmin keeps the create/edit forms, menu, layout and static files; the pages that must stay
fast on big tables or work without JavaScript are served here from Core SELECTs.
"""

from __future__ import annotations

import builtins
import logging
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from markupsafe import Markup
from sqladmin import Admin
from sqladmin.application import _save_button_clicked
from sqladmin.authentication import login_required
from starlette.applications import Starlette
from starlette.datastructures import URL, FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from datadesk.admin_views.access import access_for, audit_context, current_access, scope_key
from datadesk.admin_views.cells import format_cell
from datadesk.admin_views.model_view import DatadeskModelView
from datadesk.admin_views.pages import GridPage
from datadesk.admin_views.session_gate import current_csrf_token
from datadesk.admin_views.signin import SignInBackend, SignInPages
from datadesk.auth.policy import TableAccess
from datadesk.auth.sessions import SessionCodec
from datadesk.auth.users import UserStore
from datadesk.errors import DatadeskError, NotFound
from datadesk.models.count_cache import CountCache
from datadesk.models.grid_query import (
    coerce_value,
    format_row_label,
    label_attributes,
    like_pattern,
)
from datadesk.models.row_keys import keys_condition, match_key

TEMPLATES_DIR = Path(__file__).parent / "templates"
logger = logging.getLogger("datadesk.admin")
refusals = logging.getLogger("datadesk.refused")  # every 4xx/5xx answer given for a DatadeskError


class ExpectedRefusals(logging.Filter):
    """sqladmin logs every exception of a save with its traceback; a refusal datadesk expects
    (a conflict, a constraint, a row out of reach) becomes one warning line without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Downgrade records carrying a DatadeskError; keep everything else as it is."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, DatadeskError):
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "refused save: %s", (error.message[:300],)
        return True


def _quiet_expected_refusals() -> None:
    sqladmin_logger = logging.getLogger("sqladmin.application")
    if not any(isinstance(f, ExpectedRefusals) for f in sqladmin_logger.filters):
        sqladmin_logger.addFilter(ExpectedRefusals())


class DatadeskAdmin(Admin):
    """Admin whose list, detail and delete pages are datadesk's own."""

    def __init__(
        self,
        app: Starlette,
        engine: sa.Engine,
        *,
        title: str,
        counts: CountCache,
        count_cap: int,
        codec: SessionCodec,
        users: UserStore,
        gate: Middleware,
    ) -> None:
        super().__init__(
            app,
            engine,
            title=title,
            templates_dir=str(TEMPLATES_DIR),
            base_url="/admin",
            middlewares=[gate],
            authentication_backend=SignInBackend(),
        )
        self.counts = counts
        self.count_cap = count_cap
        self.signin = SignInPages(
            codec=codec, users=users, render=self.render, client_address=client_address
        )
        self._replace_routes()
        _quiet_expected_refusals()
        self.admin.exception_handlers = {
            HTTPException: self._http_error,
            DatadeskError: self._datadesk_error,
        }
        self.templates.env.globals["format_cell"] = format_cell
        self.templates.env.globals["csrf_token"] = current_csrf_token.get
        self.page_templates = self._sync_environment()
        self._nav_cache: dict[tuple[Any, ...], Markup] = {}
        for env_globals in (self.templates.env.globals, self.page_templates.globals):
            env_globals["nav_html"] = self.nav_html

    def _replace_routes(self) -> None:
        dropped = {
            "delete",
            "export",
            "import",
            "file_download",
            "file_preview",
            "ajax_lookup",
            "login",
            "logout",
        }
        routes = [r for r in self.admin.router.routes if getattr(r, "name", None) not in dropped]
        extra = [
            Route("/login", endpoint=self.signin.login, name="login", methods=["GET", "POST"]),
            Route("/logout", endpoint=self.signin.logout, name="logout", methods=["POST"]),
            Route(
                "/{identity}/delete", endpoint=self.delete, name="delete", methods=["GET", "POST"]
            ),
            Route("/{identity}/lookup", endpoint=self.lookup, name="ajax_lookup"),
        ]
        self.admin.router.routes = extra + routes

    def _sync_environment(self) -> jinja2.Environment:
        """datadesk's own pages render synchronously: the same loader and globals as sqladmin's
        environment, without the per-node cost of Jinja's async mode."""
        env = jinja2.Environment(
            loader=self.templates.env.loader, autoescape=True, extensions=["jinja2.ext.i18n"]
        )
        env.globals.update(self.templates.env.globals)
        env.globals["url_for"] = _memoized_url_for()
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
        return env

    def nav_html(self, request: Request) -> Markup:
        """The navigation of a page; it depends only on the user's roles and attributes and
        on which page is open, so it is rendered once per such combination."""
        actor = getattr(request.state, "actor", None)
        root = request.scope.get("root_path", "")
        key = (
            None if actor is None else (actor.roles, tuple(sorted(actor.attributes.items()))),
            root,
            request.path_params.get("identity"),
            request.url.path.startswith(root + "/users"),
        )
        found = self._nav_cache.get(key)
        if found is None:
            html = self.page_templates.get_template("datadesk/nav.html").render(
                request=request, root=root
            )
            found = Markup(html)
            if len(self._nav_cache) > 5_000:
                self._nav_cache.clear()
            self._nav_cache[key] = found
        return found

    # -- helpers ----------------------------------------------------------------------------------

    def view_for(self, request: Request) -> DatadeskModelView:
        """The generated view named in the path, or 404."""
        view = self._find_model_view(request.path_params["identity"])
        assert isinstance(view, DatadeskModelView)
        return view

    async def render(
        self, request: Request, template: str, context: dict[str, Any], status_code: int = 200
    ) -> Response:
        """Render one of datadesk's templates."""
        context.setdefault("request", request)
        content = self.page_templates.get_template(template).render(context)
        return HTMLResponse(content, status_code=status_code)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return await self._error_page(request, exc.status_code, str(exc.detail))

    async def _datadesk_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DatadeskError)
        actor = getattr(request.state, "actor", None)
        refusals.log(
            logging.WARNING if exc.status_code < 500 else logging.ERROR,
            "refused %s %s for %s: %s %s",
            request.method,
            request.url.path,
            actor.username if actor is not None else "anonymous",
            exc.status_code,
            exc.message[:300],
        )
        return await self._error_page(request, exc.status_code, exc.message)

    async def _error_page(self, request: Request, status_code: int, message: str) -> Response:
        return await self.render(
            request,
            "datadesk/error.html",
            {"status_code": status_code, "message": message},
            status_code=status_code,
        )

    # -- pages ------------------------------------------------------------------------------------

    @login_required
    async def list(self, request: Request) -> Response:
        """The grid: one page of rows with search, filters, sort and a capped count."""
        view = self.view_for(request)
        access = access_for(view, request)
        access.require("list")
        page = GridPage(
            view,
            view.grid_for(request, access),
            self.counts,
            self.count_cap,
            root=request.scope.get("root_path", "").rstrip("/"),
            count_scope=scope_key(request) if access.where_for("list") is not None else (),
        )
        context = await view.services.run_db(page.load, request.query_params.multi_items())
        if context["page"] != context["state"].page:
            url = request.url.include_query_params(page=context["page"])
            return RedirectResponse(url, status_code=302)
        context["model_view"] = view
        context["title"] = view.name_plural
        context["perms"] = view.permissions(access)
        return await self.render(request, "datadesk/list.html", context)

    async def create(self, request: Request) -> Response:
        """sqladmin's create page, with the form limited to what this user may write."""
        return await self._with_access(request, super().create)

    async def edit(self, request: Request) -> Response:
        """sqladmin's edit page, with the form limited to what this user may write."""
        return await self._with_access(request, super().edit)

    async def _with_access(self, request: Request, handler: Any) -> Response:
        if getattr(request.state, "actor", None) is None:
            return await handler(request)  # sqladmin sends anonymous users to sign in
        view = self.view_for(request)
        token = current_access.set(access_for(view, request))
        try:
            response: Response = await handler(request)
            return response
        finally:
            current_access.reset(token)

    @login_required
    async def details(self, request: Request) -> Response:
        """One row, every column the user may see, references shown by label and linked."""
        view = self.view_for(request)
        access = access_for(view, request)
        access.require("view")
        key = view.parse_key(request.path_params["pk"])
        row = await view.services.run_db(self._load_row, view, key, access, "view")
        context = {
            "model_view": view,
            "title": view.name,
            "row": row,
            "key_path": view.key_path(row),
            "columns": access.visible_columns(view.detail_columns),
            "perms": view.permissions(access),
            "labels": await view.services.run_db(self._reference_labels, view, row),
        }
        return await self.render(request, "datadesk/details.html", context)

    def _load_row(
        self,
        view: DatadeskModelView,
        key: builtins.list[Any],
        access: TableAccess,
        action: str,
    ) -> Any:
        return self._load_rows(view, [key], access, action)[0]

    def _load_rows(
        self,
        view: DatadeskModelView,
        keys: builtins.list[builtins.list[Any]],
        access: TableAccess,
        action: str,
    ) -> builtins.list[Any]:
        """The rows with these keys, in their order, as ``action`` may reach them (one query);
        NotFound names the first key that is absent or out of scope (the two look alike)."""
        table = view.table_info
        cols = [
            table.table.c[c.db_name].label(c.name)
            for c in table.columns.values()
            if c.name not in access.hidden or c.name in table.primary_key
        ]
        stmt = access.restrict(sa.select(*cols).where(keys_condition(table, keys)), action)
        with view.services.records.reading() as conn:
            found = {
                match_key(row[name] for name in table.primary_key): row
                for row in conn.execute(stmt).mappings()
            }
        rows = []
        for key in keys:
            row = found.get(match_key(key))
            if row is None:
                raise NotFound(f"{table.label}: no row with key {', '.join(map(str, key))}")
            rows.append(row)
        return rows

    def _reference_labels(self, view: DatadeskModelView, row: Any) -> dict[str, tuple[str, str]]:
        """(label, target identity) of each non-null reference of a row."""
        labels: dict[str, tuple[str, str]] = {}
        catalog = view.services.catalog
        with view.services.records.reading() as conn:
            for column in view.table_info.foreign_keys:
                fk = column.foreign_key
                assert fk is not None
                if row[column.name] is None or fk.target_table not in catalog.tables:
                    continue
                target = catalog.tables[fk.target_table]
                text = view.services.labels.label(conn, target, fk.target_column, row[column.name])
                if text is not None:
                    labels[column.name] = (text, target.name)
        return labels

    @login_required
    async def delete(self, request: Request) -> Response:
        """GET: a confirmation page listing the rows; POST: delete them in one transaction."""
        view = self.view_for(request)
        access = access_for(view, request)
        if not view.can_delete:
            raise HTTPException(status_code=403, detail=f"{view.name_plural} are read-only.")
        access.require("delete")
        if request.method == "POST":
            form = await request.form()
            raw_keys = [str(k) for k in form.getlist("pks")]
        else:
            raw_keys = [str(k) for k in request.query_params.getlist("pks")]
        raw_keys = [k for k in raw_keys if k][:1000]
        if not raw_keys:
            raise HTTPException(status_code=400, detail="No rows were chosen to delete.")
        keys = [view.parse_key(k) for k in raw_keys]
        list_url = str(request.url_for("admin:list", identity=view.identity))
        if request.method == "POST":
            source = "form" if len(keys) == 1 else "bulk"
            await view.services.run_db(
                partial(view.services.records.delete_many, audit=audit_context(request, source)),
                view.table_info,
                keys,
                access.where_for("delete"),
            )
            return RedirectResponse(
                URL(list_url).include_query_params(deleted=str(len(keys))), status_code=303
            )
        rows = await view.services.run_db(self._load_rows, view, keys, access, "delete")
        context = {
            "model_view": view,
            "title": f"Delete {view.name_plural}",
            "rows": rows,
            "columns": access.visible_columns(view.visible_columns),
            "raw_keys": raw_keys,
            "list_url": list_url,
        }
        return await self.render(request, "datadesk/delete.html", context)

    @login_required
    async def lookup(self, request: Request) -> Response:
        """JSON search over the labels of rows the user may list, for key inputs."""
        view = self.view_for(request)
        access = access_for(view, request)
        access.require("list")
        term = request.query_params.get("q", "")[:100]
        return JSONResponse(await view.services.run_db(self._lookup_rows, view, access, term))

    def _lookup_rows(
        self, view: DatadeskModelView, access: TableAccess, term: str
    ) -> builtins.list[dict[str, str]]:
        table = view.table_info
        if len(table.primary_key) != 1:
            return []
        attrs = [a for a in label_attributes(table) if a not in access.hidden]
        attrs = attrs or list(table.primary_key)
        t = table.table
        key = t.c[table.columns[table.primary_key[0]].db_name]
        stmt = sa.select(
            key.label("__key"), *(t.c[table.columns[a].db_name].label(a) for a in attrs)
        )
        if term:
            pattern = like_pattern(term)
            text_cols = [
                t.c[table.columns[a].db_name] for a in attrs if table.columns[a].kind == "text"
            ]
            terms: builtins.list[sa.ColumnElement[bool]] = [
                sa.func.lower(c).like(pattern, escape="\\") for c in text_cols
            ]
            key_info = table.columns[table.primary_key[0]]
            if key_info.kind == "text":
                terms.append(key == term)
            elif key_info.kind in {"integer", "decimal", "number"} and term.isdigit():
                # decided by the column's kind: a driver type may not know its Python type
                terms.append(key == coerce_value(key_info, term))
            stmt = stmt.where(sa.or_(*terms)) if terms else stmt.where(key.is_(None))
        scope = access.where_for("list")
        if scope is not None:
            stmt = stmt.where(scope)
        stmt = stmt.limit(20)
        with view.services.records.reading() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [{"key": str(r["__key"]), "label": format_row_label(table, r)} for r in rows]

    @staticmethod
    def get_save_redirect_url(  # type: ignore[override]
        request: Request, form: FormData, model_view: Any, obj: Any
    ) -> str | URL:
        """After a save: back to the list, or on to the edit/create page, by button."""
        identity = request.path_params["identity"]
        if _save_button_clicked(form, "Save and continue editing"):
            return request.url_for("admin:edit", identity=identity, pk=model_view.key_path(obj))
        if _save_button_clicked(form, "Save and add another"):
            return request.url_for("admin:create", identity=identity)
        return URL(
            str(request.url_for("admin:details", identity=identity, pk=model_view.key_path(obj)))
        )


def client_address(request: Request) -> str:
    """The client's address as the session gate established it (proxies taken into account)."""
    found = getattr(request.state, "client_address", None)
    if found:
        return str(found)
    return request.client.host if request.client else "unknown"


def _memoized_url_for() -> Any:
    """``url_for`` for templates, remembering answers: the same route, parameters, host and
    mount point always give the same URL, and walking the route table costs more than the
    rest of a grid row."""
    cache: dict[tuple[Any, ...], URL] = {}

    @jinja2.pass_context
    def url_for(context: Any, name: str, /, **params: Any) -> URL:
        request: Request = context["request"]
        scope = request.scope
        key = (
            name,
            tuple(sorted((k, str(v)) for k, v in params.items())),
            scope.get("scheme"),
            request.headers.get("host"),
            scope.get("app_root_path", ""),
        )
        found = cache.get(key)
        if found is None:
            if len(cache) > 10_000:
                cache.clear()
            found = cache[key] = request.url_for(name, **params)
        return found

    return url_for
