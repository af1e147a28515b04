"""The base of datadesk's own groups of pages mounted in the admin (users, audit, imports, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datadesk.admin_views.site import DatadeskAdmin


class AdminPages:
    """A group of pages served by the admin.

    sqladmin's ``login_required`` finds the sign-in check through ``_admin_ref``: every group
    points it at the admin, so that a visitor who is not signed in is sent to the sign-in form
    (and back afterwards) instead of being refused.
    """

    def __init__(self, admin: DatadeskAdmin) -> None:
        self.admin = admin
        self._admin_ref = admin
