"""Demo users, one per demo role, for the embedded demo database only (see README)."""

from __future__ import annotations

from datadesk.auth.users import UserStore
from datadesk.models.audit import AuditContext

DEMO_PASSWORD = "Demo-records-2026"
"""The password of every demo user; the demo runs on loopback with published credentials."""

DEMO_USERS: dict[str, tuple[tuple[str, ...], dict[str, str], str]] = {
    "clerk": (("clerk",), {"department_id": "3"}, "Clerk of department 3"),
    "manager": (("data_manager",), {}, "Data manager"),
    "official": (("official",), {}, "Health official"),
    "auditor": (("auditor",), {}, "Auditor"),
}


def ensure_demo_users(store: UserStore, audit: AuditContext | None = None) -> list[str]:
    """Create the demo users that do not exist yet; return the names created."""
    created = []
    for name, (roles, attributes, display) in DEMO_USERS.items():
        if store.get(name) is None:
            store.create_user(
                name,
                DEMO_PASSWORD,
                display_name=display,
                roles=roles,
                attributes=attributes,
                audit=audit,
            )
            created.append(name)
    return created
