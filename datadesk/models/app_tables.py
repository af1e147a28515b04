"""datadesk's own tables: users, their roles and attributes, sign-in attempts, the audit log.

Every table name starts with a configurable prefix (``app_tables.prefix``) and may live in its
own schema, so that an Oracle DBA can place them; reflection never serves tables with that
prefix as grids.  Types are portable (no JSON type; Text is CLOB on Oracle), keys are identity
columns (Oracle 12c+ and PostgreSQL identity, SQLite rowid), and every table, index and
constraint name is explicit and at most 30 characters long, the limit of Oracle before 12.2.

Timestamps are stored as naive UTC ``TIMESTAMP`` values on every database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from datadesk.errors import ConfigError

DEFAULT_PREFIX = "datadesk_"
MAX_NAME_LENGTH = 30  # Oracle before 12.2
JOB_STATUS_LENGTH = 20  # 10 until revision 0004 (too short for "interrupted")

AUDIT_SOURCES = ("form", "bulk", "import", "cli", "grid", "revert")
"""Where an audited change came from (``audit.source``)."""
AUDIT_ACTIONS = ("create", "update", "delete")
"""What an audited change did (``audit.action``)."""

IMPORT_STATUSES = ("uploaded", "running", "previewed", "committed", "failed")
"""Where an import job stands (``import_jobs.status``)."""

USERNAME_LENGTH = 100
ADDRESS_LENGTH = 64
ROW_KEY_LENGTH = 400
ATTRIBUTE_VALUE_LENGTH = 400

# BIGINT keys for the tables that grow without bound; SQLite needs INTEGER for its rowid alias.
_BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@dataclass(frozen=True)
class AppTables:
    """The Table objects of datadesk's own tables, in one fresh MetaData."""

    metadata: sa.MetaData
    prefix: str
    schema: str | None
    users: sa.Table
    user_roles: sa.Table
    user_attributes: sa.Table
    login_attempts: sa.Table
    audit: sa.Table
    import_jobs: sa.Table
    import_files: sa.Table
    import_profiles: sa.Table

    @property
    def version_table(self) -> str:
        """Name of the Alembic version table kept beside these tables."""
        return version_table_name(self.prefix)

    @property
    def tables(self) -> tuple[sa.Table, ...]:
        """All tables, parents before children."""
        return tuple(self.metadata.sorted_tables)


def to_db_time(moment: dt.datetime) -> dt.datetime:
    """The naive UTC value stored for ``moment`` (a naive ``moment`` is taken as UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def from_db_time(value: dt.datetime | None) -> dt.datetime | None:
    """The aware UTC datetime of a stored naive UTC value."""
    return None if value is None else value.replace(tzinfo=dt.UTC)


def version_table_name(prefix: str) -> str:
    """The Alembic version table for a prefix: ``{prefix}alembic_version``."""
    return f"{prefix.lower()}alembic_version"


def app_tables(prefix: str = DEFAULT_PREFIX, schema: str | None = None) -> AppTables:
    """Define datadesk's own tables with ``prefix`` (folded to lower case) in ``schema``."""
    prefix = prefix.lower()
    _check_name_lengths(prefix)
    metadata = sa.MetaData()

    def name(suffix: str) -> str:
        return f"{prefix}{suffix}"

    users = sa.Table(
        name("users"),
        metadata,
        sa.Column("id", sa.Integer, sa.Identity(), nullable=False),
        sa.Column("username", sa.String(USERNAME_LENGTH), nullable=False),
        sa.Column("display_name", sa.String(200)),
        sa.Column("email", sa.String(254)),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.TIMESTAMP, nullable=False),
        sa.Column("password_changed_at", sa.TIMESTAMP),
        sa.Column("last_login_at", sa.TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name=name("users_pk")),
        sa.UniqueConstraint("username", name=name("users_name_uq")),
        schema=schema,
        comment="datadesk: local users; user names are stored in lower case",
    )
    user_roles = sa.Table(
        name("user_roles"),
        metadata,
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "role", name=name("roles_pk")),
        sa.ForeignKeyConstraint(
            ["user_id"], [users.c.id], name=name("roles_user_fk"), ondelete="CASCADE"
        ),
        schema=schema,
        comment="datadesk: roles held by each user",
    )
    user_attributes = sa.Table(
        name("user_attributes"),
        metadata,
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.String(ATTRIBUTE_VALUE_LENGTH)),
        sa.PrimaryKeyConstraint("user_id", "name", name=name("attrs_pk")),
        sa.ForeignKeyConstraint(
            ["user_id"], [users.c.id], name=name("attrs_user_fk"), ondelete="CASCADE"
        ),
        schema=schema,
        comment="datadesk: user attributes used by row filters (e.g. department_id)",
    )
    login_attempts = sa.Table(
        name("login_attempts"),
        metadata,
        sa.Column("id", _BigKey, sa.Identity(), nullable=False),
        sa.Column("username", sa.String(USERNAME_LENGTH), nullable=False),
        sa.Column("address", sa.String(ADDRESS_LENGTH), nullable=False),
        sa.Column("attempted_at", sa.TIMESTAMP, nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        # ok, invalid, locked or disabled: only 'invalid' counts towards a lockout
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=name("login_pk")),
        sa.Index(name("login_user_ix"), "username", "attempted_at"),
        sa.Index(name("login_addr_ix"), "address", "attempted_at"),
        schema=schema,
        comment="datadesk: every sign-in attempt, for throttling and review",
    )
    audit = sa.Table(
        name("audit"),
        metadata,
        sa.Column("id", _BigKey, sa.Identity(), nullable=False),
        sa.Column("occurred_at", sa.TIMESTAMP, nullable=False),
        sa.Column("username", sa.String(USERNAME_LENGTH), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("row_key", sa.String(ROW_KEY_LENGTH), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        # JSON text {column: [before, after]}; Text is CLOB on Oracle
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("job_id", sa.Integer),
        sa.Column("reverted_entry_id", _BigKey),
        sa.Column("address", sa.String(ADDRESS_LENGTH)),
        sa.PrimaryKeyConstraint("id", name=name("audit_pk")),
        sa.Index(name("audit_row_ix"), "table_name", "row_key"),
        sa.Index(name("audit_time_ix"), "occurred_at"),
        sa.Index(name("audit_user_ix"), "username"),
        schema=schema,
        comment="datadesk: field-level history of every change made through datadesk",
    )
    import_jobs = sa.Table(
        name("import_jobs"),
        metadata,
        sa.Column("id", sa.Integer, sa.Identity(), nullable=False),
        sa.Column("username", sa.String(USERNAME_LENGTH), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),  # web or cli
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("profile_name", sa.String(100)),  # None for a mapping made on the page
        # JSON text of the ImportProfile used (as configured, or as mapped on the page)
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("status", sa.String(JOB_STATUS_LENGTH), nullable=False),
        sa.Column("created_at", sa.TIMESTAMP, nullable=False),
        sa.Column("started_at", sa.TIMESTAMP),
        sa.Column("finished_at", sa.TIMESTAMP),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("rows_read", sa.Integer),
        sa.Column("progress_rows", sa.Integer),
        sa.Column("inserted", sa.Integer),
        sa.Column("updated", sa.Integer),
        sa.Column("unchanged", sa.Integer),
        sa.Column("error_rows", sa.Integer),
        sa.Column("problem_count", sa.Integer),
        sa.Column("message", sa.String(1000)),
        # JSON text: notices, the first problems and changes, headings, for the job page
        sa.Column("report", sa.Text),
        # host:pid:start of the process running the job (revision 0004), to tell a run whose
        # process died from one still going
        sa.Column("runner", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name=name("ijob_pk")),
        sa.Index(name("ijob_user_ix"), "username", "created_at"),
        sa.Index(name("ijob_hash_ix"), "file_sha256"),
        schema=schema,
        comment="datadesk: every import run: who, when, which file and profile, counts, outcome",
    )
    import_files = sa.Table(
        name("import_files"),
        metadata,
        sa.Column("job_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),  # upload or errors
        sa.Column("content", sa.LargeBinary, nullable=False),  # BLOB on Oracle
        sa.PrimaryKeyConstraint("job_id", "kind", name=name("ifile_pk")),
        sa.ForeignKeyConstraint(
            ["job_id"], [import_jobs.c.id], name=name("ifile_job_fk"), ondelete="CASCADE"
        ),
        schema=schema,
        comment="datadesk: uploaded workbooks and their error workbooks, kept for a while",
    )
    import_profiles = sa.Table(
        name("import_profiles"),
        metadata,
        sa.Column("id", sa.Integer, sa.Identity(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),  # JSON text of an ImportProfile
        sa.Column("created_by", sa.String(USERNAME_LENGTH), nullable=False),
        sa.Column("created_at", sa.TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=name("iprof_pk")),
        sa.UniqueConstraint("name", name=name("iprof_name_uq")),
        schema=schema,
        comment="datadesk: import mappings saved from the Import page",
    )
    return AppTables(
        metadata=metadata,
        prefix=prefix,
        schema=schema,
        users=users,
        user_roles=user_roles,
        user_attributes=user_attributes,
        login_attempts=login_attempts,
        audit=audit,
        import_jobs=import_jobs,
        import_files=import_files,
        import_profiles=import_profiles,
    )


# The longest suffixes appended to the prefix: table names and the version table.
_LONGEST_SUFFIXES = ("user_attributes", "alembic_version")


def _check_name_lengths(prefix: str) -> None:
    """ConfigError when the prefix makes a name longer than old Oracle allows."""
    for suffix in _LONGEST_SUFFIXES:
        if len(prefix) + len(suffix) > MAX_NAME_LENGTH:
            limit = MAX_NAME_LENGTH - len(suffix)
            raise ConfigError(
                f"app_tables.prefix: {prefix!r} is too long; at most {limit} characters keep "
                f"names like {prefix}{suffix} within {MAX_NAME_LENGTH} characters"
            )
