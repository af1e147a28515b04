"""The one access policy: which tables, actions, columns and rows an actor may use.

Pure and framework-free: the grid, detail pages, forms, delete, bulk actions, foreign-key
lookups, export, import, reports and the CLI all ask ``RolePolicy`` and nothing else.

Semantics (``docs/security.md`` explains them for readers of the config):

- the role ``admin`` may do everything on every table, manage users and audit;
- within one role, a grant under a table's own name replaces that role's ``'*'`` grant;
- across a user's roles, grants are united: actions add up; a column is hidden (or read-only)
  only when every role granting access to the table hides it (or does not let it be written);
  rows are those of any granting role, each role's rules AND-ed;
- hidden implies not writable; read-only tables (views, ``read_only: true``, tables without a
  key) never grant create, edit, delete or import; columns the config hides or marks
  read-only stay so for everybody;
- a rule on a user attribute the user lacks matches no row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from datadesk.auth.actor import ADMIN_ROLE, Actor
from datadesk.auth.row_scope import NEVER, Condition, Executor, all_of, no_rows, resolve_rule
from datadesk.config.roles_check import ALL_TABLES, column_named, find_role_problems
from datadesk.config.schema import Config, RoleConfig, TableGrant
from datadesk.errors import AccessDenied, ConfigError, NotFound
from datadesk.models.catalog import Catalog, TableInfo

ACTIONS: tuple[str, ...] = ("list", "view", "create", "edit", "delete", "export", "import")
WRITE_ACTIONS = frozenset({"create", "edit", "delete", "import"})
COLUMN_WRITE_ACTIONS = ("create", "edit", "import")  # actions that write column values
CACHE_LIMIT = 8192  # TableAccess objects kept per policy before the cache starts over

Today = Callable[[], dt.date]
SelectT = TypeVar("SelectT", sa.Select[Any], sa.Update, sa.Delete)


@dataclass(frozen=True)
class _Scope:
    """What one role grants on one table: actions, column limits, AND-ed row conditions."""

    actions: frozenset[str]
    hidden: frozenset[str]
    read_only: frozenset[str]
    conditions: tuple[Condition, ...]

    @property
    def is_void(self) -> bool:
        """Whether a condition can never hold (e.g. the user lacks an attribute it compares)."""
        return NEVER in self.conditions

    def bind(self, attributes: Mapping[str, str]) -> _Scope:
        """The scope with the acting user's attributes filled into its rules."""
        if not self.conditions:
            return self
        bound = tuple(c.bind(attributes) for c in self.conditions)
        return _Scope(self.actions, self.hidden, self.read_only, bound)


@dataclass(frozen=True)
class TableAccess:
    """What one actor may do with one table; columns are attribute names."""

    table_name: str
    actions: frozenset[str]
    hidden: frozenset[str]
    read_only: frozenset[str]
    _scopes: tuple[_Scope, ...] = field(repr=False, compare=False)
    _writable: Mapping[str, frozenset[str]] = field(repr=False, compare=False)
    _today: Today = field(repr=False, compare=False)
    _memo: dict[tuple[str | None, dt.date], Any] = field(
        default_factory=dict, repr=False, compare=False
    )

    def can(self, action: str) -> bool:
        """Whether the action (list, view, create, edit, delete, export, import) is allowed."""
        return action in self.actions

    def require(self, action: str) -> None:
        """Raise AccessDenied unless the action is allowed."""
        if action not in self.actions:
            raise AccessDenied(f"you may not {action} {self.table_name}")

    @property
    def needs_database(self) -> bool:
        """Whether ``row_matches`` needs a connection (a rule looks into another table)."""
        return any(c.needs_database for s in self._scopes for c in s.conditions)

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        """WHERE term for the rows the actor may use at all; None means every row.

        For one action, prefer ``where_for(action)``: with several roles, an action may reach
        fewer rows than the actor can see.
        """
        return self.where_for(None)

    def where_for(self, action: str | None) -> sa.ColumnElement[bool] | None:
        """WHERE term for the rows ``action`` may touch (None: any action); None = every row."""
        today = self._today()
        key = (action, today)
        if key not in self._memo:
            if len(self._memo) >= 4 * len(ACTIONS):  # entries of past days are never used again
                self._memo.clear()
            self._memo[key] = _any_of(self._granting(action), today)
        result: sa.ColumnElement[bool] | None = self._memo[key]
        return result

    def restrict(self, statement: SelectT, action: str | None) -> SelectT:
        """``statement`` with the WHERE term of ``where_for(action)`` added, if there is one."""
        term = self.where_for(action)
        return statement if term is None else statement.where(term)

    def row_matches(
        self,
        values: Mapping[str, Any],
        *,
        action: str | None = None,
        connection: Executor | None = None,
    ) -> bool:
        """Whether a row with these values is within the rows ``action`` may touch.

        ``values`` is the whole row as a create or edit would leave it, by attribute name; a
        missing value matches no rule. Checks of writes should name their action: with None,
        a row any granting role reaches matches. ``connection`` is needed when a rule looks
        into another table (see ``needs_database``).
        """
        today = self._today()
        return any(
            all(c.matches(values, today, connection) for c in scope.conditions)
            for scope in self._granting(action)
            if not scope.is_void
        )

    def visible_columns(self, names: Iterable[str]) -> list[str]:
        """``names`` without the hidden columns, in the given order."""
        return [name for name in names if name not in self.hidden]

    def writable_columns(self, names: Iterable[str], action: str | None = None) -> list[str]:
        """``names`` the actor may write (by ``action``: create, edit or import; None: any)."""
        if action is None:
            allowed = frozenset().union(*self._writable.values())
        else:
            allowed = self._writable.get(action, frozenset())
        return [name for name in names if name in allowed]

    def _granting(self, action: str | None) -> list[_Scope]:
        """The role scopes that grant ``action`` (None: any action)."""
        return [s for s in self._scopes if action is None or action in s.actions]


class RolePolicy:
    """Decides access from the ``roles`` of the config over the reflected catalog.

    Grants are resolved per role and table once, here; ``access`` combines the actor's roles
    and caches the result per (roles, relevant attributes, table).
    """

    def __init__(self, config: Config, catalog: Catalog, *, today: Today = dt.date.today) -> None:
        problems = find_role_problems(config, catalog)
        if problems:
            raise ConfigError("\n".join(problems))
        self._catalog = catalog
        self._today = today
        roles = {name: role for name, role in config.roles.items() if name != ADMIN_ROLE}
        self._role_names = [ADMIN_ROLE, *roles]
        self._scopes = {name: self._role_scopes(role) for name, role in roles.items()}
        self._attributes = {
            name: frozenset().union(
                *(c.user_attributes() for s in scopes.values() for c in s.conditions)
            )
            for name, scopes in self._scopes.items()
        }
        self._managers = frozenset(name for name, role in roles.items() if role.manage_users)
        self._auditors = frozenset(name for name, role in roles.items() if role.audit)
        self._admin = {
            name: _combine(info, [_admin_scope(info)], today)
            for name, info in catalog.tables.items()
        }
        self._cache: dict[tuple[Any, ...], TableAccess] = {}

    def role_names(self) -> list[str]:
        """Every role a user can be given: admin first, then the configured ones."""
        return list(self._role_names)

    def access(self, actor: Actor, table_name: str) -> TableAccess:
        """What ``actor`` may do with a table; NotFound when the catalog has no such table."""
        info = self._catalog.get(table_name)
        if info is None:
            raise NotFound(f"no such table: {table_name[:60]}")
        if actor.is_admin:
            return self._admin[info.name]
        roles = frozenset(r for r in actor.roles if r in self._scopes)
        used = sorted(frozenset().union(*(self._attributes[r] for r in roles)))
        key = (roles, tuple(actor.attributes.get(name) for name in used), info.name)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        scopes = [
            self._scopes[role][info.name].bind(actor.attributes)
            for role in sorted(roles)
            if info.name in self._scopes[role]
        ]
        result = _combine(info, scopes, self._today)
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def visible_tables(self, actor: Actor) -> list[str]:
        """Catalog names of the tables the actor may list, in catalog order."""
        return [name for name in self._catalog.tables if self.access(actor, name).can("list")]

    def can_manage_users(self, actor: Actor) -> bool:
        """Whether the actor may create users, reset passwords and assign roles."""
        return actor.is_admin or not self._managers.isdisjoint(actor.roles)

    def can_audit(self, actor: Actor) -> bool:
        """Whether the actor may browse the audit log."""
        return actor.is_admin or not self._auditors.isdisjoint(actor.roles)

    def _role_scopes(self, role: RoleConfig) -> dict[str, _Scope]:
        """The scope of each table the role grants something on (by catalog name)."""
        named = {key.lower(): grant for key, grant in role.tables.items() if key != ALL_TABLES}
        everything = role.tables.get(ALL_TABLES)
        scopes: dict[str, _Scope] = {}
        for name, info in self._catalog.tables.items():
            grant = named.get(name, everything)
            if grant is not None:
                scope = _grant_scope(grant, info, self._catalog)
                if scope.actions:
                    scopes[name] = scope
        return scopes


def _grant_scope(grant: TableGrant, info: TableInfo, catalog: Catalog) -> _Scope:
    """One role's grant resolved on one table; names a '*' grant's table lacks are skipped."""
    actions = frozenset(grant.actions)
    if info.is_read_only:
        actions -= WRITE_ACTIONS
    return _Scope(
        actions=actions,
        hidden=_columns(info, grant.hidden),
        read_only=_columns(info, grant.read_only),
        conditions=tuple(resolve_rule(rule, info, info.table, catalog) for rule in grant.rows),
    )


def _admin_scope(info: TableInfo) -> _Scope:
    """Everything, except writing to a read-only table."""
    actions = frozenset(ACTIONS) - (WRITE_ACTIONS if info.is_read_only else frozenset())
    return _Scope(actions, frozenset(), frozenset(), ())


def _columns(info: TableInfo, names: Sequence[str]) -> frozenset[str]:
    """Attribute names of the named columns that the table has."""
    found = (column_named(info, name) for name in names)
    return frozenset(column.name for column in found if column is not None)


def _combine(info: TableInfo, scopes: Sequence[_Scope], today: Today) -> TableAccess:
    """The union of the scopes of a user's roles on one table."""
    granting = tuple(s for s in scopes if s.actions)
    everything = frozenset(info.columns)
    always_hidden = frozenset(c.name for c in info.columns.values() if c.is_hidden)
    never_written = frozenset(c.name for c in info.columns.values() if c.is_read_only)
    if granting:
        hidden = always_hidden | frozenset.intersection(*(s.hidden for s in granting))
    else:
        hidden = everything
    writable = {
        action: frozenset().union(
            *(everything - s.hidden - s.read_only for s in granting if action in s.actions)
        )
        - never_written
        - hidden
        for action in COLUMN_WRITE_ACTIONS
    }
    return TableAccess(
        table_name=info.name,
        actions=frozenset().union(*(s.actions for s in granting)),
        hidden=hidden,
        read_only=everything - hidden - frozenset().union(*writable.values()),
        _scopes=granting,
        _writable=writable,
        _today=today,
    )


def _any_of(scopes: Sequence[_Scope], today: dt.date) -> sa.ColumnElement[bool] | None:
    """OR of each scope's AND-ed conditions; None when one scope has none; no_rows() for none."""
    usable = [scope for scope in scopes if not scope.is_void]
    if not usable:
        return no_rows()
    terms = []
    for scope in usable:
        term = all_of(scope.conditions, today)
        if term is None:
            return None
        terms.append(term)
    return terms[0] if len(terms) == 1 else sa.or_(*terms)
