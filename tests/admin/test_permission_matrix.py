"""Every demo role x every table x the list, detail, create, edit, delete, lookup, editable
grid, bulk set, export and import endpoints.

The expected answer of each cell is computed from datadesk.yaml's grants by the policy, and the
HTTP answer must agree on every path: a page is served exactly when the action is granted (and
the table is writable, for create, edit and delete).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from tests.admin.conftest import TEST_USERS

ROLES = ["clerk", "official", "manager", "auditor", "nobody"]


def first_key(client: Any, identity: str) -> str | None:
    """The key of the first row an admin sees in a table (None for an empty table)."""
    view = client.app.state.admin._find_model_view(identity)
    table = view.table_info
    cols = [table.table.c[table.columns[n].db_name] for n in table.primary_key]
    with view.services.records.reading() as conn:
        row = conn.execute(sa.select(*cols).order_by(*cols).limit(1)).first()
    return None if row is None else view.key_path(dict(zip(table.primary_key, row, strict=True)))


@pytest.mark.parametrize("username", ROLES)
def test_every_table_and_endpoint_agrees_with_the_policy(as_user: Any, username: str) -> None:
    client = as_user(username)
    policy: RolePolicy = client.app.state.admin.views[0].services.policy
    roles, attributes = TEST_USERS[username]
    actor = Actor(username, frozenset(roles), attributes)
    for view in client.app.state.admin.views:
        identity = view.identity
        access = policy.access(actor, identity)
        key = first_key(client, identity)

        def expect(path: str, allowed: bool, ident: str = identity) -> None:
            status = client.get(path).status_code
            if allowed:
                assert status in {200, 404}, (username, ident, path, status)
            else:
                assert status in {403, 404}, (username, ident, path, status)

        expect(f"/admin/{identity}/list", access.can("list"))
        expect(f"/admin/{identity}/lookup?q=a", access.can("list"))
        expect(f"/admin/{identity}/create", access.can("create") and view.can_create)
        expect(f"/admin/{identity}/export?format=csv", access.can("export"))
        expect(f"/admin/{identity}/import", access.can("import"))
        grid_edit = access.can("list") and view.permissions(access)["grid_edit"]
        expect(f"/admin/{identity}/grid", grid_edit)
        if grid_edit:
            column = access.writable_columns(view.grid_edit_fields, "edit")[0]
            expect(f"/admin/{identity}/bulk-set?rows=all&column={column}", True)
            crafted = client.get(f"/admin/{identity}/bulk-set?rows=all&column=salary")
            assert crafted.status_code == 400, (username, identity)
        else:
            expect(f"/admin/{identity}/bulk-set?rows=all&column=x", False)
        if key is not None:
            expect(f"/admin/{identity}/details/{key}", access.can("view"))
            expect(f"/admin/{identity}/edit/{key}", access.can("edit") and view.can_edit)
            expect(f"/admin/{identity}/delete?pks={key}", access.can("delete") and view.can_delete)
        list_status = client.get(f"/admin/{identity}/list").status_code
        assert (list_status == 200) == access.can("list"), (username, identity, list_status)
