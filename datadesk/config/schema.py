"""Typed schema of ``datadesk.yaml``; every model forbids unknown keys.

Table and column names are matched case-insensitively against the reflected schema
(Oracle reports upper-case names, SQLAlchemy reflects them lower-case).

The one-line docstring under each field is its description: the scaffold prints it as a
comment and ``docs/configuration.md`` expands on it.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FlagStyle = Literal["yn", "01", "none"]
Widget = Literal["auto", "select", "lookup", "text", "textarea"]


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class DatabaseConfig(StrictModel):
    """Which part of the database is reflected."""

    schema_name: str | None = Field(default=None, alias="schema")
    """Schema (Oracle owner) to reflect; not set means the connecting user's own schema."""
    include: tuple[str, ...] = ("*",)
    """Tables and views to serve: name patterns with * and ?, case-insensitive."""
    exclude: tuple[str, ...] = ()
    """Tables and views left out even when they match include."""
    include_views: bool = True
    """Serve database views too (read-only unless a key is configured)."""
    pool_size: int = Field(default=5, ge=1, le=100)
    """Database connections each worker process keeps open."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AppConfig(StrictModel):
    """Application-wide presentation and behaviour."""

    title: str = "datadesk"
    """Application name shown in the browser title and the page header."""
    page_size: int = Field(default=50, ge=1, le=500)
    """Rows per grid page, unless a table sets its own page_size."""
    page_size_options: tuple[int, ...] = (25, 50, 100, 200)
    """Page sizes a user can choose from in a grid."""
    count_cap: int = Field(default=10_000, ge=100)
    """Grids count matching rows only up to this number, then show 'N+'."""
    count_cache_seconds: float = Field(default=30.0, ge=0)
    """Seconds a grid's row count is reused before counting again; 0 counts every time."""
    select_limit: int = Field(default=200, ge=1, le=5000)
    """Most rows a foreign-key drop-down lists; larger tables get a search-as-you-type lookup."""
    reflection_cache: bool = True
    """Keep the reflected schema in a disk cache so that restarts are fast."""


class ColumnConfig(StrictModel):
    """Per-column presentation and legacy-type overrides."""

    label: str | None = None
    """Column heading and form label; not set means the column comment or its name."""
    help: str | None = None
    """Help text shown with the form field; not set means the column comment, if any."""
    flag: FlagStyle | None = None
    """Legacy boolean storage: yn (CHAR(1) Y/N), 01 (NUMBER(1) 0/1) or none; not set: detected."""
    widget: Widget = "auto"
    """Form widget: auto, select, lookup, text or textarea."""
    read_only: bool = False
    """Shown, but never written by forms, bulk actions or imports."""
    hidden: bool = False
    """Never shown nor written anywhere: grid, detail, form, export, import."""


class TableConfig(StrictModel):
    """Per-table grid, form and key settings."""

    label: str | None = None
    """Singular name of a row, e.g. Staff member; not set means the table comment or name."""
    label_plural: str | None = None
    """Name of the table in the menu and grid title; not set means derived from label."""
    help: str | None = None
    """Text shown above the grid; not set means the table comment, if any."""
    category: str | None = None
    """Menu group the table is listed under; not set means top level."""
    key: tuple[str, ...] | None = None
    """Columns that identify a row, for views and tables without a primary key."""
    sequence: str | None = None
    """Oracle sequence that supplies the key of new rows."""
    read_only: bool = False
    """Serve the table read-only: no create, edit, delete or import."""
    list_columns: tuple[str, ...] | None = None
    """Grid columns, in order; not set means the first 8 that are not long text or binary."""
    detail_columns: tuple[str, ...] | None = None
    """Detail page columns, in order; not set means every column."""
    form_columns: tuple[str, ...] | None = None
    """Create and edit form fields, in order; not set means every editable column."""
    search: tuple[str, ...] | None = None
    """Text columns the grid search box looks in; not set means the first 3 text columns."""
    filters: tuple[str, ...] | None = None
    """Columns offered as grid filters; not set means flags and foreign-key columns."""
    default_sort: tuple[str, ...] = ()
    """Initial grid order: column names, a leading - for descending; empty means by key."""
    page_size: int | None = Field(default=None, ge=1, le=500)
    """Rows per grid page for this table; not set means app.page_size."""
    row_label: str | None = None
    """How a row is named in links and pickers, e.g. '{last_name}, {first_name}'."""
    columns: dict[str, ColumnConfig] = Field(default_factory=dict)
    """Per-column settings, by column name."""

    @field_validator("default_sort")
    @classmethod
    def _check_sort(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not item.lstrip("-").strip():
                raise ValueError("sort entries are column names, optionally prefixed with '-'")
        return value


Action = Literal["list", "view", "create", "edit", "delete", "export", "import"]
Scalar = str | int | float | bool
RULE_OPERATORS = ("equals", "equals_user", "in", "within_days", "in_table")


class RowRule(StrictModel):
    """One condition on a column of the table; a row is in scope when all rules hold.

    A rule names its column and exactly one operator: equals, equals_user, in, within_days or
    in_table.
    """

    column: str
    """The column the condition is about."""
    equals: Scalar | None = None
    """The column equals this fixed value."""
    equals_user: str | None = None
    """The column equals this attribute of the signed-in user (e.g. department_id)."""
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in")
    """The column is one of these values."""
    within_days: int | None = Field(default=None, ge=0)
    """The column (a date) is no more than this many days before today, or later."""
    in_table: RowSubquery | None = None
    """The column holds a value of another table's column, in rows matching its own rules."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    @property
    def operators(self) -> list[str]:
        """The operators this rule sets, as written in YAML (one, when the rule is valid)."""
        values = (self.equals, self.equals_user, self.in_, self.within_days, self.in_table)
        return [
            name for name, value in zip(RULE_OPERATORS, values, strict=True) if value is not None
        ]

    @model_validator(mode="after")
    def _check_one_operator(self) -> RowRule:
        found = self.operators
        if len(found) != 1:
            what = " and ".join(found) if found else "none"
            raise ValueError(
                "a row rule needs exactly one of equals, equals_user, in, within_days,"
                f" in_table (found {what})"
            )
        return self


class RowSubquery(StrictModel):
    """Rows of another table, for a rule that follows a reference (e.g. the staff member's)."""

    table: str
    """The other table."""
    column: str
    """Its column whose values the rule's column must hold (usually its key)."""
    where: tuple[RowRule, ...] = ()
    """Conditions on the other table's rows, written like rows; none means all its rows."""


RowRule.model_rebuild()


class TableGrant(StrictModel):
    """What a role may do with one table (or with every table, under the key '*')."""

    actions: tuple[Action, ...] = ()
    """Allowed actions: list, view, create, edit, delete, export, import."""
    hidden: tuple[str, ...] = ()
    """Columns never shown to, nor written by, holders of this role."""
    read_only: tuple[str, ...] = ()
    """Columns shown but never written by holders of this role."""
    rows: tuple[RowRule, ...] = ()
    """Conditions limiting the rows the role may read and write; none means all rows."""


class RoleConfig(StrictModel):
    """A role: a name users are given, and the tables it grants."""

    label: str | None = None
    """Name of the role shown on the users pages."""
    description: str | None = None
    """What the role is for, shown on the users pages."""
    tables: dict[str, TableGrant] = Field(default_factory=dict)
    """Grants by table name; '*' applies to every table not listed by name."""
    manage_users: bool = False
    """Holders may create users, reset passwords and assign roles."""
    audit: bool = False
    """Holders may browse the audit log."""


class AuthConfig(StrictModel):
    """Sign-in, sessions and throttling."""

    session_idle_minutes: int = Field(default=30, ge=1)
    """A session ends after this many minutes without a request."""
    session_max_hours: float = Field(default=12, gt=0)
    """A session ends this many hours after sign-in, active or not."""
    lockout_attempts: int = Field(default=5, ge=1)
    """Failed sign-ins for one account before it is locked for lockout_minutes."""
    address_attempts: int = Field(default=20, ge=1)
    """Failed sign-ins from one client address before it is locked for lockout_minutes."""
    lockout_minutes: int = Field(default=15, ge=1)
    """How long an account or address stays locked after too many failures."""
    password_min_length: int = Field(default=10, ge=8)
    """Shortest password accepted when one is set."""
    hash_time_cost: int = Field(default=3, ge=1)
    """Argon2id passes; raise it and hashes are upgraded at each user's next sign-in."""
    hash_memory_kib: int = Field(default=65536, ge=8192)
    """Argon2id memory in KiB; raise it and hashes are upgraded at next sign-in."""
    trusted_header: str | None = None
    """Header carrying the user name set by the proxy for single sign-on (e.g. X-Remote-User)."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks of proxies whose trusted_header and X-Forwarded-For are honoured."""

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_networks(value)


def _check_networks(value: tuple[str, ...]) -> tuple[str, ...]:
    for entry in value:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ValueError(f"'{entry}' is not an IP address or network") from None
    return value


class AppTablesConfig(StrictModel):
    """Where datadesk keeps its own tables (users, roles, audit)."""

    schema_name: str | None = Field(default=None, alias="schema")
    """Schema (Oracle owner) of datadesk's own tables; not set means the connection's default."""
    prefix: str = Field(default="datadesk_", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
    """Prefix of datadesk's own table names; such tables are never served as grids."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


class Config(StrictModel):
    """The whole ``datadesk.yaml`` file."""

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    """Which database objects are served."""
    app: AppConfig = Field(default_factory=AppConfig)
    """Application-wide settings."""
    tables: dict[str, TableConfig] = Field(default_factory=dict)
    """Per-table settings, by table name; tables not listed use the defaults."""
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    """Roles by name; the role 'admin' always exists and may do everything."""
    auth: AuthConfig = Field(default_factory=AuthConfig)
    """Sign-in and session settings."""
    app_tables: AppTablesConfig = Field(default_factory=AppTablesConfig)
    """Placement of datadesk's own tables."""

    def table(self, name: str) -> TableConfig:
        """The config of a table (case-insensitive), or defaults when it is not configured."""
        lowered = name.lower()
        for key, value in self.tables.items():
            if key.lower() == lowered:
                return value
        return TableConfig()
