"""The ``datadesk users`` commands (add, list, passwd, disable, enable) and the admin bootstrap.

Passwords are read from standard input with ``--password-stdin`` (first line), or asked twice on
a terminal; they are never taken from the command line, where other users could see them.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from datadesk.errors import InvalidInput, NotFound
from datadesk.settings import Settings

if TYPE_CHECKING:
    from datadesk.auth.accounts import User
    from datadesk.auth.users import UserStore
    from datadesk.config.schema import Config
    from datadesk.models.audit import AuditContext

CONFIG_HELP = "path to datadesk.yaml (default: $DATADESK_CONFIG)"


def add_users_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``users`` and its actions to the command's sub-parsers."""
    users = sub.add_parser("users", help="manage local users")
    users.set_defaults(handler=functools.partial(_show_help, users))
    actions = users.add_subparsers(metavar="ACTION")

    add = actions.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument(
        "--role", action="append", default=[], metavar="ROLE", help="role to grant (repeatable)"
    )
    add.add_argument(
        "--attr",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="user attribute for row filters, e.g. department_id=3 (repeatable)",
    )
    add.add_argument("--display-name", help="name shown in the application")
    add.add_argument("--email", help="e-mail address")
    _password_options(add)
    add.set_defaults(handler=cmd_users_add)

    listing = actions.add_parser("list", help="list users")
    listing.add_argument("--config", help=CONFIG_HELP)
    listing.set_defaults(handler=cmd_users_list)

    passwd = actions.add_parser("passwd", help="set a user's password")
    passwd.add_argument("username")
    _password_options(passwd)
    passwd.set_defaults(handler=cmd_users_passwd)

    for name, handler, text in (
        ("disable", cmd_users_disable, "stop a user from signing in"),
        ("enable", cmd_users_enable, "let a disabled user sign in again"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("username")
        action.add_argument("--config", help=CONFIG_HELP)
        action.set_defaults(handler=handler)


def _show_help(
    parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Settings
) -> int:
    """``datadesk users`` without an action: its usage, exit code 2."""
    parser.print_help()
    return 2


def _password_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    parser.add_argument("--config", help=CONFIG_HELP)


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    """Create a user with roles and attributes."""
    attributes = _parse_attributes(args.attr)
    with _user_store(settings) as store:
        roles = store.check_roles(args.role)
        if store.get(args.username) is not None:
            raise InvalidInput(f"user {args.username.strip().lower()!r} already exists")
        password = _read_password(args.password_stdin)
        user = store.create_user(
            args.username,
            password,
            display_name=args.display_name,
            email=args.email,
            roles=roles,
            attributes=attributes,
            audit=cli_audit_context(),
        )
    print(f"datadesk: created user {user.username}")
    return 0


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every user as a table."""
    with _user_store(settings) as store:
        users = store.list_users()
    sys.stdout.write(format_users(users))
    return 0


def cmd_users_passwd(args: argparse.Namespace, settings: Settings) -> int:
    """Set a user's password."""
    with _user_store(settings) as store:
        user = _existing(store, args.username)
        store.set_password(
            user.username, _read_password(args.password_stdin), audit=cli_audit_context()
        )
    print(f"datadesk: password of {user.username} changed")
    return 0


def cmd_users_disable(args: argparse.Namespace, settings: Settings) -> int:
    """Stop a user from signing in."""
    with _user_store(settings) as store:
        user = _existing(store, args.username)
        store.disable(user.username, audit=cli_audit_context())
    print(f"datadesk: disabled user {user.username}")
    return 0


def cmd_users_enable(args: argparse.Namespace, settings: Settings) -> int:
    """Let a disabled user sign in again."""
    with _user_store(settings) as store:
        user = _existing(store, args.username)
        store.enable(user.username, audit=cli_audit_context())
    print(f"datadesk: enabled user {user.username}")
    return 0


def ensure_admin_user(settings: Settings, config: Config) -> None:
    """Create user admin when missing; print a generated password exactly once."""
    from datadesk.auth.users import UserStore
    from datadesk.models.app_tables import app_tables
    from datadesk.models.audit import AuditLog
    from datadesk.models.engine import create_db_engine

    engine = create_db_engine(settings.database_url)
    try:
        tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
        store = UserStore(engine, tables, config.auth, audit_log=AuditLog(tables))
        try:
            password = store.ensure_admin(settings.admin_password, audit=cli_audit_context())
        except InvalidInput as error:
            if settings.admin_password is None:
                raise
            raise InvalidInput(f"DATADESK_ADMIN_PASSWORD: {error.message}") from error
    finally:
        engine.dispose()
    if password is None:
        return
    if settings.admin_password is not None:
        print("datadesk: created user admin with the password from DATADESK_ADMIN_PASSWORD")
    else:
        print(f"datadesk: created user admin with password {password} (shown once)")


def login_name() -> str:
    """The operating-system user running the command (for audit entries of CLI changes)."""
    try:
        return getpass.getuser()[:60]
    except (KeyError, OSError):
        return "unknown"


def cli_audit_context() -> AuditContext:
    """Audit context of changes made by a CLI command without ``--as``: system:<login>."""
    from datadesk.models.audit import AuditContext

    return AuditContext(f"system:{login_name()}", "cli")


def format_users(users: list[User]) -> str:
    """Users as an aligned text table: username, active, roles, attributes, last login."""
    header = ("username", "active", "roles", "attributes", "last login")
    rows = [header]
    for user in users:
        last = user.last_login_at
        rows.append(
            (
                user.username,
                "yes" if user.is_active else "no",
                ",".join(sorted(user.roles)) or "-",
                " ".join(f"{k}={v}" for k, v in sorted(user.attributes.items())) or "-",
                last.strftime("%Y-%m-%d %H:%M UTC") if last else "never",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


@contextmanager
def _user_store(settings: Settings) -> Iterator[UserStore]:
    """The user store of the configured database; SchemaError when its tables are missing."""
    from datadesk.auth.users import UserStore
    from datadesk.config.loader import load_config
    from datadesk.models.app_tables import app_tables
    from datadesk.models.audit import AuditLog
    from datadesk.models.engine import check_connection, create_db_engine
    from datadesk.models.schema_version import require_current_schema

    config = load_config(settings.config_path)
    engine = create_db_engine(settings.database_url)
    try:
        check_connection(engine)
        require_current_schema(engine, config.app_tables)
        tables = app_tables(config.app_tables.prefix, config.app_tables.schema_name)
        yield UserStore(
            engine,
            tables,
            config.auth,
            known_roles=config.roles.keys(),
            audit_log=AuditLog(tables),
        )
    finally:
        engine.dispose()


def _existing(store: UserStore, username: str) -> User:
    user = store.get(username)
    if user is None:
        raise NotFound(f"no such user {username.strip().lower()!r}")
    return user


def _parse_attributes(items: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` options as a dict; InvalidInput for one without '='."""
    attributes: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--attr {item!r}: expected NAME=VALUE")
        attributes[name.strip()] = value
    return attributes


def _read_password(from_stdin: bool) -> str:
    """The new password: first line of standard input, or asked twice on a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InvalidInput("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise InvalidInput(
            "standard input is not a terminal: give the password with --password-stdin"
        )
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise InvalidInput("the two passwords differ")
    return first
