"""One sqladmin ModelView per reflected table, built from the catalog and datadesk.yaml."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, TypeVar

import anyio
import anyio.to_thread
import sqlalchemy as sa
from sqladmin import ModelView
from sqladmin.forms import get_model_form
from starlette.requests import Request
from wtforms import Form, StringField, TextAreaField, validators

from datadesk.admin_views.access import (
    GridCache,
    access_for,
    audit_context,
    check_values,
    current_access,
    decode_version,
    encode_version,
    require_row,
    scope_key,
    writable,
)
from datadesk.admin_views.cells import key_to_path, path_to_key_parts
from datadesk.admin_views.forms import (
    CsrfForm,
    DatadeskConverter,
    ReferenceSelectField,
    field_class_for,
)
from datadesk.admin_views.reference_cache import ChoiceCache, ReferenceLabels
from datadesk.auth.policy import RolePolicy, TableAccess
from datadesk.config.roles_check import column_named
from datadesk.config.schema import AppConfig, ColumnConfig, Config, TableConfig
from datadesk.errors import InvalidInput, NotFound
from datadesk.models.catalog import Catalog, ColumnInfo, TableInfo
from datadesk.models.grid_layout import GridLayout
from datadesk.models.grid_query import GridQuery, coerce_value
from datadesk.models.records import RecordStore

T = TypeVar("T")
DEFAULT_DB_THREADS = 5
MAX_SELECT_OPTIONS = 5000  # `widget: select` on a reference never renders more options than this


@dataclass
class ViewServices:
    """What every generated view shares: the catalog, the config and the data services."""

    catalog: Catalog
    config: Config
    records: RecordStore
    choices: ChoiceCache
    policy: RolePolicy
    labels: ReferenceLabels
    db_threads: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(DEFAULT_DB_THREADS)
    )

    async def run_db(self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking database work in a worker thread; threads are capped at the size of
        the connection pool, since more only fight over the GIL and wait for a connection."""
        return await anyio.to_thread.run_sync(func, *args, limiter=self.db_threads)


class DatadeskModelView(ModelView):
    """Base of every generated view: catalog-driven columns, forms and writes."""

    table_info: ClassVar[TableInfo]
    services: ClassVar[ViewServices]
    table_config: ClassVar[TableConfig]
    grid: ClassVar[GridQuery]
    layout: ClassVar[GridLayout]
    visible_columns: ClassVar[list[str]]
    detail_columns: ClassVar[list[str]]
    create_fields: ClassVar[list[str]]
    edit_fields: ClassVar[list[str]]
    grid_edit_fields: ClassVar[list[str]]  # grid columns the config lets be edited in place
    page_size_value: ClassVar[int]
    grids: ClassVar[GridCache]
    can_export = False
    can_import = False
    form_base_class = CsrfForm

    # -- keys -----------------------------------------------------------------------------------

    def key_path(self, row: Any) -> str:
        """URL path segment identifying a row (mapping or ORM object)."""
        names = self.table_info.primary_key
        if hasattr(row, "keys") and callable(row.keys):
            values = [row[n] for n in names]
        else:
            values = [getattr(row, n) for n in names]
        return key_to_path(values)

    def parse_key(self, text: str) -> list[Any]:
        """Turn a key path segment into typed key values; InvalidInput/NotFound on nonsense."""
        names = self.table_info.primary_key
        parts = path_to_key_parts(text, len(names))
        if len(parts) != len(names):
            raise NotFound(f"{self.table_info.label}: no row with key '{text[:60]}'")
        values = []
        for name, part in zip(names, parts, strict=True):
            column = self.table_info.columns[name]
            try:
                values.append(coerce_value(column, part))
            except InvalidInput:
                raise NotFound(f"{self.table_info.label}: no row with key '{text[:60]}'") from None
        return values

    # -- access -------------------------------------------------------------------------------

    def is_accessible(self, request: Request) -> bool:
        """Signed-in users whose roles let them list this table see it (menu and pages)."""
        if getattr(request.state, "actor", None) is None:
            return False
        return access_for(self, request).can("list")

    def is_visible(self, request: Request) -> bool:
        """Shown in the menu exactly when accessible."""
        return self.is_accessible(request)

    def grid_for(self, request: Request, access: TableAccess) -> GridQuery:
        """The grid as this user may see it: hidden columns gone, rows limited to their scope."""
        return self.grids.grid(self, access, scope_key(request))

    def permissions(self, access: TableAccess) -> dict[str, bool]:
        """Which buttons and links a page shows for this user."""
        return {
            "create": self.can_create and access.can("create"),
            "edit": self.can_edit and access.can("edit"),
            "delete": self.can_delete and access.can("delete"),
            "view": self.can_view_details and access.can("view"),
            "import": access.can("import"),
            "export": access.can("export"),
            "grid_edit": self.can_edit
            and access.can("edit")
            and bool(access.writable_columns(self.grid_edit_fields, "edit")),
        }

    async def check_can_create(self, request: Request) -> bool:
        """Create needs the create action."""
        return self.can_create and access_for(self, request).can("create")

    async def check_can_edit(self, request: Request, model: Any) -> bool:
        """Edit needs the edit action and a row in the user's scope."""
        return await self._may_touch(request, model, "edit", self.can_edit)

    async def check_can_delete(self, request: Request, model: Any) -> bool:
        """Delete needs the delete action and a row in the user's scope."""
        return await self._may_touch(request, model, "delete", self.can_delete)

    async def check_can_view_details(self, request: Request, model: Any) -> bool:
        """Details need the view action and a row in the user's scope."""
        return await self._may_touch(request, model, "view", self.can_view_details)

    async def _may_touch(self, request: Request, model: Any, action: str, enabled: bool) -> bool:
        if model is None:
            raise NotFound(f"{self.table_info.label}: no such row")
        access = access_for(self, request)
        if not (enabled and access.can(action)):
            return False
        key = [getattr(model, n) for n in self.table_info.primary_key]
        # Out of the user's scope looks exactly like absent, as on the detail page.
        await self.services.run_db(require_row, self, access, action, key)
        return True

    # -- forms ----------------------------------------------------------------------------------

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        """Build the create or edit form; references become drop-downs or key inputs."""
        is_create = rules is self._form_create_rules
        names = writable(
            current_access.get(), list(rules or self.edit_fields), "create" if is_create else "edit"
        )
        overrides: dict[str, Any] = {}
        args: dict[str, dict[str, Any]] = {}
        for name in names:
            column = self.table_info.columns[name]
            field_args: dict[str, Any] = {"description": column.help or ""}
            if column.kind == "text" and column.length:
                field_args["validators"] = [validators.Length(max=column.length)]
            widget = self.column_config(name).widget
            if column.foreign_key is not None and widget not in {"text", "textarea"}:
                override, extra = await self._reference_field(column, widget)
                overrides[name] = override
                field_args.update(extra)
            elif column.choices and widget in {"auto", "select"}:
                overrides[name] = ReferenceSelectField
                field_args.update(_choice_field_args(column))
            elif widget == "textarea":
                overrides[name] = TextAreaField
            elif widget == "text" and column.kind in {"text", "long_text"}:
                overrides[name] = StringField
            elif (by_kind := field_class_for(column.kind)) is not None:
                overrides[name] = by_kind
            args[name] = field_args
        return await get_model_form(
            model=self.model,
            session_maker=self.session_maker,
            only=names,
            column_labels={n: self.table_info.columns[n].label for n in names},
            form_args=args,
            form_widget_args={},
            form_class=self.form_base_class,
            form_overrides=overrides,
            form_include_pk=True,
            form_converter=DatadeskConverter,
        )

    def column_config(self, name: str) -> ColumnConfig:
        """The config of one column of this table (case-insensitive), or defaults."""
        for key, value in self.table_config.columns.items():
            if key.lower() == name:
                return value
        return ColumnConfig()

    async def _reference_field(
        self, column: ColumnInfo, widget: str = "auto"
    ) -> tuple[type[Any], dict[str, Any]]:
        fk = column.foreign_key
        assert fk is not None
        target = self.services.catalog.tables[fk.target_table]
        target_column = target.columns[fk.target_column]
        options = None
        if widget != "lookup":
            limit = MAX_SELECT_OPTIONS if widget == "select" else None
            options = await self.services.run_db(
                self.services.choices.options, target, fk.target_column, limit
            )

        def coerce_key(raw: Any) -> Any:
            return coerce_value(target_column, str(raw))

        required = [] if column.nullable else [validators.InputRequired()]
        if options is not None:
            blank = [("", "—")] if column.nullable else [("", "— choose —")]
            choices = blank + [(str(k), label) for k, label in options]
            return ReferenceSelectField, {
                "choices": choices,
                "coerce_key": coerce_key,
                "allow_blank": column.nullable,
                "validators": [validators.Optional()] if column.nullable else [],
            }
        hint = f"Key of a row of {target.label_plural} ({target_column.label})."
        return StringField, {
            "validators": [*required, ReferenceExists(self.services, target, target_column)],
            "description": (column.help + " " if column.help else "") + hint,
            "filters": [lambda v: v.strip() if isinstance(v, str) else v],
            "render_kw": {"data-lookup": f"{target.name}", "autocomplete": "off"},
        }

    # -- writes ---------------------------------------------------------------------------------

    def clean_values(self, data: dict[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
        """Form data as values to write: only ``allowed`` fields, blanks as NULL, keys of
        references typed like the referenced column."""
        values: dict[str, Any] = {}
        for name in allowed:
            if name not in data:
                continue
            column = self.table_info.columns[name]
            value = data[name]
            if isinstance(value, str) and column.foreign_key is not None:
                target = self.services.catalog.tables[column.foreign_key.target_table]
                value = (
                    coerce_value(target.columns[column.foreign_key.target_column], value)
                    if value.strip()
                    else None
                )
            if isinstance(value, str) and value == "":
                value = None
            if (
                column.kind == "datetime"
                and isinstance(value, dt.date)
                and not isinstance(value, dt.datetime)
            ):
                value = dt.datetime.combine(value, dt.time())
            values[name] = value
        return values

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        """Insert a row from the fields this user may write, if it lands in their scope."""
        access = access_for(self, request)
        access.require("create")
        values = self.clean_values(data, writable(access, self.create_fields, "create"))
        await self.services.run_db(check_values, self, access, "create", values)
        return await self.services.run_db(
            partial(self.services.records.insert, audit=audit_context(request, "form")),
            self.table_info,
            values,
        )

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        """Update a row in the user's scope from the fields they may write (never the key);
        the row as it would be after the change must stay in their scope."""
        access = access_for(self, request)
        access.require("edit")
        key = self.parse_key(pk)
        await self.services.run_db(require_row, self, access, "edit", key)
        values = self.clean_values(data, writable(access, self.edit_fields, "edit"))
        expected = decode_version(data.get("row_version"), self.table_info)
        current = await self.services.run_db(self.current_values, key)
        await self.services.run_db(check_values, self, access, "edit", {**current, **values})
        update = partial(
            self.services.records.update,
            expected=expected,
            audit=audit_context(request, "form"),
        )
        return await self.services.run_db(update, self.table_info, key, values)

    async def get_form_data_for_edit(self, obj: Any) -> dict[str, Any]:
        """The edit form's values, plus the version of the row as the user sees it."""
        data = {name: getattr(obj, name, None) for name in self.edit_fields}
        access = current_access.get()
        seen = [n for n in self.table_info.columns if access is None or n not in access.hidden]
        data["row_version"] = encode_version({n: getattr(obj, n, None) for n in seen})
        return data

    def current_values(self, key: Sequence[Any]) -> dict[str, Any]:
        """Every column of one row, by attribute name."""
        t = self.table_info.table
        cols = [t.c[c.db_name].label(c.name) for c in self.table_info.columns.values()]
        with self.services.records.reading() as conn:
            row = conn.execute(sa.select(*cols).where(self.grid.key_condition(key))).mappings()
            found = row.first()
        if found is None:
            raise NotFound(f"{self.table_info.label}: no row with key {', '.join(map(str, key))}")
        return dict(found)

    def form_edit_query(self, request: Request) -> sa.Select[Any]:
        """Load the edited row by its (typed) key."""
        key = self.parse_key(request.path_params["pk"])
        return sa.select(self.model).where(self.grid.key_condition(key))

    def form_details_query(self, request: Request) -> sa.Select[Any]:
        """Load one row by its (typed) key."""
        return self.form_edit_query(request)


def _choice_field_args(column: ColumnInfo) -> dict[str, Any]:
    """A drop-down of the values a CHECK constraint allows."""
    assert column.choices is not None
    blank = [("", "—")] if column.nullable else [("", "— choose —")]
    choices = blank + [(str(v), str(v)) for v in column.choices]

    def coerce_key(raw: Any) -> Any:
        return coerce_value(column, str(raw))

    return {
        "choices": choices,
        "coerce_key": coerce_key,
        "allow_blank": column.nullable,
        "validators": [validators.Optional()] if column.nullable else [],
    }


class ReferenceExists:
    """WTForms validator: the typed key exists in the referenced table."""

    def __init__(self, services: ViewServices, target: TableInfo, column: ColumnInfo) -> None:
        self.services = services
        self.target = target
        self.column = column

    def __call__(self, form: Form, field: Any) -> None:
        """Fail with a message naming the referenced table when the key is unknown."""
        raw = field.data
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return
        try:
            value = coerce_value(self.column, str(raw))
        except InvalidInput as exc:
            raise validators.ValidationError(exc.message) from None
        t = self.target.table
        stmt = (
            sa.select(sa.literal(1))
            .select_from(t)
            .where(t.c[self.column.db_name] == value)
            .limit(1)
        )
        with self.services.records.reading() as conn:
            found = conn.execute(stmt).first()
        if found is None:
            raise validators.ValidationError(
                f"No {self.target.label} with {self.column.label} {raw}"
            )


def build_model_view(table: TableInfo, services: ViewServices) -> type[DatadeskModelView]:
    """Create the view class of one table from its catalog entry and config."""
    cfg = services.config.table(table.name)
    app: AppConfig = services.config.app
    usable = [c for c in table.columns.values() if not c.is_hidden]
    layout = GridLayout.of(table, cfg)
    visible = list(layout.columns)
    detail = list(layout.detail)
    editable = [
        c.name for c in usable if not c.is_read_only and c.kind not in {"binary", "unsupported"}
    ]
    form = [n for n in _pick(cfg.form_columns, editable) if n in editable]
    create_fields = [n for n in form if not table.columns[n].is_generated]
    for name in table.primary_key:
        column = table.columns[name]
        if not column.is_generated and name not in create_fields and name in editable:
            create_fields.insert(0, name)
    edit_fields = [n for n in form if n not in table.primary_key]
    grid_edit = [
        found.name
        for found in (column_named(table, name) for name in cfg.grid_edit)
        if found is not None
        and found.name in visible
        and found.name in editable
        and found.name not in table.primary_key
    ]
    grid = layout.query(table, services.catalog)
    read_only = table.is_read_only or cfg.read_only
    attrs: dict[str, Any] = {
        "name": table.label,
        "name_plural": table.label_plural,
        "category": cfg.category or "",
        "table_info": table,
        "services": services,
        "table_config": cfg,
        "grid": grid,
        "layout": layout,
        "visible_columns": visible,
        "detail_columns": detail,
        "create_fields": create_fields,
        "edit_fields": edit_fields,
        "grid_edit_fields": grid_edit,
        "form_create_rules": create_fields,
        "form_edit_rules": edit_fields or list(table.primary_key),
        "column_list": visible,
        "form_columns": form,
        "page_size_value": cfg.page_size or app.page_size,
        "grids": GridCache(),
        "can_create": not read_only and bool(create_fields),
        "can_edit": not read_only and bool(edit_fields),
        "can_delete": not read_only,
    }
    _expose_key_columns_by_db_name(table)
    view: type[DatadeskModelView] = type(
        f"{table.model.__name__}View", (DatadeskModelView,), attrs, model=table.model
    )
    view.identity = table.name
    return view


def _expose_key_columns_by_db_name(table: TableInfo) -> None:
    """sqladmin reads key values as ``getattr(obj, column.name)``; on databases that keep
    upper-case names (SQLite) the attribute is lower-case, so alias the database name."""
    for name in table.primary_key:
        db_name = table.table.c[table.columns[name].db_name].name
        if db_name != name and not hasattr(table.model, db_name):
            setattr(table.model, db_name, property(operator.attrgetter(name)))


def _pick(configured: Sequence[str] | None, default: list[str]) -> list[str]:
    return [c.lower() for c in configured] if configured is not None else default
