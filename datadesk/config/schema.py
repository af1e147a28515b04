"""Typed schema of ``datadesk.yaml``; every model forbids unknown keys.

Table and column names are matched case-insensitively against the reflected schema
(Oracle reports upper-case names, SQLAlchemy reflects them lower-case).

The one-line docstring under each field is its description: the scaffold prints it as a
comment and ``docs/configuration.md`` expands on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from datadesk.config.base import StrictModel, check_networks
from datadesk.config.cache import CacheConfig
from datadesk.config.exports import ExportsConfig
from datadesk.config.mail import MailConfig
from datadesk.config.monitoring import MonitoringConfig
from datadesk.config.reports import ReportConfig

FlagStyle = Literal["yn", "01", "none"]
Widget = Literal["auto", "select", "lookup", "text", "textarea"]


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

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


class AppConfig(StrictModel):
    """Application-wide presentation and behaviour."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

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
    grid_edit: tuple[str, ...] = ()
    """Grid columns that can be edited in the grid itself and set in bulk; empty means none."""
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
        return check_networks(value)


class AppTablesConfig(StrictModel):
    """Where datadesk keeps its own tables (users, roles, audit)."""

    schema_name: str | None = Field(default=None, alias="schema")
    """Schema (Oracle owner) of datadesk's own tables; not set means the connection's default."""
    prefix: str = Field(default="datadesk_", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
    """Prefix of datadesk's own table names; such tables are never served as grids."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


TextCase = Literal["upper", "lower", "title"]
ImportMode = Literal["insert", "upsert"]
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%y", "%d/%m/%y")
DEFAULT_TRUE_VALUES = ("y", "yes", "x", "true", "1", "j", "ja", "oui", "✓", "✔")
DEFAULT_FALSE_VALUES = ("n", "no", "false", "0", "nein", "non", "-")
DEFAULT_SKIP_ROWS = (r"^\s*(grand\s+)?(sub)?totals?\b", r"^\s*sum\b")


class ImportLookup(StrictModel):
    """Find a foreign key by another column of the referenced table (e.g. a department code)."""

    table: str
    """The referenced table."""
    column: str
    """Its column holding the value found in the sheet (a natural key, e.g. dept_code)."""
    where: tuple[RowRule, ...] = ()
    """Conditions narrowing the referenced rows (e.g. only active ones), written like row rules."""


class ImportColumn(StrictModel):
    """How one target column is filled: from a sheet column (by heading), a constant or a
    default, and how the cell text is cleaned on the way."""

    source: tuple[str, ...] = Field(default=(), alias="from")
    """Sheet headings that feed this column: the first is the usual one, the rest aliases;
    matched ignoring case, spaces and punctuation. A single heading may be written as text."""
    optional: bool = False
    """The sheet may lack this column; otherwise a missing heading stops the import."""
    constant: Scalar | None = None
    """A fixed value written to every row (no sheet column is read)."""
    default: Scalar | None = None
    """Value used when the sheet cell is blank."""
    trim: bool = True
    """Strip spaces (and non-breaking spaces) around text."""
    case: TextCase | None = None
    """Change text to upper, lower or title case."""
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    """strptime formats tried, in order, for dates written as text (e.g. '%d.%m.%Y')."""
    decimal_comma: bool = False
    """Numbers written as text use a comma for decimals ('1.234,50'); otherwise a point."""
    true_values: tuple[str, ...] = DEFAULT_TRUE_VALUES
    """Texts read as yes for a yes/no column (compared ignoring case)."""
    false_values: tuple[str, ...] = DEFAULT_FALSE_VALUES
    """Texts read as no for a yes/no column (compared ignoring case); a blank cell is no too
    unless the column allows empty values."""
    zero_pad: int | None = Field(default=None, ge=1, le=40)
    """Pad numeric codes with leading zeros to this width (for codes Excel turned into numbers)."""
    values: dict[str, Scalar] = Field(default_factory=dict)
    """Replace cell texts before conversion, e.g. {'Dr.': 'DR'} (matched ignoring case)."""
    lookup: ImportLookup | None = None
    """Take the value from another table by a natural key found in the sheet."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    @field_validator("source", mode="before")
    @classmethod
    def _one_heading(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _source_or_constant(self) -> ImportColumn:
        if self.constant is not None and self.source:
            raise ValueError("a column takes either 'from' or 'constant', not both")
        if self.constant is None and not self.source and self.default is None:
            raise ValueError("a column needs 'from' (sheet headings), 'constant' or 'default'")
        return self


class ImportProfile(StrictModel):
    """A saved way of reading one kind of workbook into one table."""

    table: str
    """Target table."""
    label: str | None = None
    """Name shown on the Import page; not set means the profile's name."""
    description: str | None = None
    """What kind of sheet the profile is for, shown on the Import page."""
    sheet: str | int = 0
    """Sheet to read: its name, or its position counting visible sheets from 0."""
    header_row: int | None = Field(default=None, ge=1)
    """Excel row number of the column headings; not set means the first row that holds most
    of the expected headings (title rows above it are skipped)."""
    mode: ImportMode = "upsert"
    """insert: only new rows (a row whose key exists is an error unless identical);
    upsert: update rows whose key exists, insert the others."""
    key: tuple[str, ...] = ()
    """Target columns that identify a row (a natural key); needed for upsert. Without a key
    every sheet row is inserted, and the same file is refused a second time."""
    columns: dict[str, ImportColumn] = Field(default_factory=dict)
    """How each target column is filled, by target column name."""
    skip_blank_rows: bool = True
    """Leave out rows whose cells are all blank."""
    skip_rows_matching: tuple[str, ...] = DEFAULT_SKIP_ROWS
    """Regular expressions (ignoring case); a row whose first non-blank cell matches one is
    left out (totals rows)."""
    date_system: Literal["auto", "1900", "1904"] = "auto"
    """How Excel serial numbers become dates; auto takes the workbook's own setting."""
    encoding: str | None = None
    """Text encoding of CSV files; not set means detected (UTF-8, UTF-16 or Windows-1252)."""
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    """Field separator of CSV files; not set means detected."""

    @field_validator("skip_rows_matching")
    @classmethod
    def _valid_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"'{pattern}' is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check_shape(self) -> ImportProfile:
        if not self.columns:
            raise ValueError("an import profile needs at least one entry under 'columns'")
        if self.mode == "upsert" and not self.key:
            raise ValueError("mode 'upsert' needs 'key': the columns that identify a row")
        missing = [name for name in self.key if name.lower() not in _lower(self.columns)]
        if missing:
            raise ValueError(f"key column(s) {', '.join(missing)} are not under 'columns'")
        return self


def _lower(names: Mapping[str, object]) -> set[str]:
    return {name.lower() for name in names}


class ImportSettings(StrictModel):
    """Limits of uploads and imports."""

    max_upload_mb: float = Field(default=50, gt=0)
    """Largest workbook accepted, in megabytes (nginx's client_max_body_size should match)."""
    max_rows: int = Field(default=1_000_000, ge=1)
    """Most data rows one import reads."""
    max_expansion: int = Field(default=100, ge=2)
    """Refuse a zipped workbook (xlsx, ods) that unpacks to more than this many times its size."""
    keep_days: int = Field(default=90, ge=1)
    """Uploaded files and error workbooks are deleted after this many days (job records stay)."""


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
    imports: dict[str, ImportProfile] = Field(default_factory=dict)
    """Import profiles by name: how workbooks are read into tables."""
    import_settings: ImportSettings = Field(default_factory=ImportSettings)
    """Upload and import limits."""
    exports: ExportsConfig = Field(default_factory=ExportsConfig)
    """Grid exports: the row cap, how many run at once, columns allowed to hold formulas."""
    mail: MailConfig = Field(default_factory=MailConfig)
    """Outgoing e-mail: the SMTP server reports and error reports are sent through."""
    reports: dict[str, ReportConfig] = Field(default_factory=dict)
    """Named reports by name: workbooks of chosen rows, groups and totals, with a form."""
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    """Metrics access, error e-mails and readiness checks."""
    cache: CacheConfig = Field(default_factory=CacheConfig)
    """Bounds of the in-process caches."""

    def table(self, name: str) -> TableConfig:
        """The config of a table (case-insensitive), or defaults when it is not configured."""
        lowered = name.lower()
        for key, value in self.tables.items():
            if key.lower() == lowered:
                return value
        return TableConfig()
