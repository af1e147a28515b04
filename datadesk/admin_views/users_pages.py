"""The users pages under /admin/users: list, create, edit, reset password, disable and enable.

Only actors the policy lets manage users get them; everyone else gets 403, anonymous visitors
are sent to sign in.  Every change is a POST (the session gate has already checked its CSRF
token), is checked in full before anything is written, is made in one UserStore transaction,
and then drops the user from the actor directory, so new roles, or a disabled account, count
from the user's next request on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqladmin.authentication import login_required
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from datadesk.admin_views.access import audit_context
from datadesk.admin_views.admin_pages import AdminPages
from datadesk.admin_views.site import DatadeskAdmin
from datadesk.admin_views.user_form import (
    USERNAME_LIMIT,
    UserForm,
    form_text,
    read_new_password,
    sentence,
)
from datadesk.auth.accounts import ADMIN_ROLE, User, normalize_username
from datadesk.auth.actor import Actor
from datadesk.auth.directory import ActorDirectory
from datadesk.auth.policy import RolePolicy
from datadesk.auth.users import UserStore
from datadesk.config.schema import RoleConfig
from datadesk.errors import AccessDenied, InvalidInput, NotFound

logger = logging.getLogger("datadesk.security")

NOTICES = {
    "created": "User {} was created.",
    "updated": "The changes to user {} were saved.",
    "password": "The password of user {} was reset.",
    "disabled": "User {} was disabled and is signed out.",
    "enabled": "User {} may sign in again.",
}
ADMIN_LABEL = "Administrator"
ADMIN_DESCRIPTION = "Manages users; sees and changes everything."


@dataclass(frozen=True)
class RoleChoice:
    """One role checkbox: name, label and description."""

    name: str
    label: str
    description: str = ""


def format_when(moment: dt.datetime | None) -> str:
    """A stored time for the list, in UTC; 'never' for none."""
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


class UsersPages(AdminPages):
    """The handlers of /admin/users and its sub-pages."""

    def __init__(
        self,
        admin: DatadeskAdmin,
        users: UserStore,
        directory: ActorDirectory,
        policy: RolePolicy,
        roles: Mapping[str, RoleConfig],
    ) -> None:
        super().__init__(admin)
        self.render = admin.render
        self.users = users
        self.directory = directory
        self.policy = policy
        self.roles = roles

    def routes(self) -> list[Route]:
        """The pages' routes, relative to the admin mount (names admin:users, admin:users_…)."""
        one = "/users/{username}"
        both = ["GET", "POST"]
        return [
            Route("/users", self.list_page, name="users"),
            Route("/users/new", self.create_page, name="users_create", methods=both),
            Route(f"{one}/edit", self.edit_page, name="users_edit", methods=both),
            Route(f"{one}/password", self.password_page, name="users_password", methods=both),
            Route(f"{one}/disable", self.disable_page, name="users_disable", methods=both),
            Route(f"{one}/enable", self.enable, name="users_enable", methods=["POST"]),
        ]

    def can_manage(self, request: Request) -> bool:
        """Whether the signed-in user may use these pages (for the menu)."""
        actor = getattr(request.state, "actor", None)
        return actor is not None and self.policy.can_manage_users(actor)

    # -- pages ------------------------------------------------------------------------------------

    @login_required
    async def list_page(self, request: Request) -> Response:
        """Every user, with roles, attributes and last sign-in."""
        self._manager(request)
        users = await run_in_threadpool(self.users.list_users)
        context = {
            "title": "Users",
            "users": users,
            "notice": _notice(request, users),
            "when": format_when,
        }
        return await self.render(request, "datadesk/users/list.html", context)

    @login_required
    async def create_page(self, request: Request) -> Response:
        """GET: an empty form; POST: create the user, or show the form again with the problems."""
        actor = self._manager(request)
        offered = self.policy.role_names()
        if request.method != "POST":
            return await self._form_page(request, UserForm(), None)
        form = await request.form()
        data = UserForm.read(form, offered)
        raw_name = form_text(form, "username").strip()
        data.username = raw_name[:USERNAME_LIMIT]
        username = ""
        if len(raw_name) > USERNAME_LIMIT:  # not echoed in full by the message below
            data.problems.insert(0, f"The user name must be at most {USERNAME_LIMIT} characters.")
        else:
            try:
                username = normalize_username(raw_name)
            except InvalidInput as error:
                data.problems.insert(0, sentence(error.message))
        optional = self.users.auth.trusted_header is not None
        password, problems = read_new_password(
            form, self.users.auth.password_min_length, username or raw_name, optional=optional
        )
        data.problems += problems
        if not data.problems:
            try:
                await run_in_threadpool(
                    self.users.create_user,
                    username,
                    password,
                    **data.profile(),
                    audit=audit_context(request, "form"),
                )
            except InvalidInput as error:
                data.problems.append(sentence(error.message))
        if data.problems:
            return await self._form_page(request, data, None, status_code=400)
        self.directory.invalidate(username)
        logger.info("user %s created by %s with roles %s", username, actor.username, data.roles)
        return _done(request, "created", username)

    @login_required
    async def edit_page(self, request: Request) -> Response:
        """GET: the user's profile, roles and attributes; POST: replace them, all or nothing."""
        actor = self._manager(request)
        user = await self._user(request)
        if request.method != "POST":
            return await self._form_page(request, UserForm.of_user(user), user)
        data = UserForm.read(await request.form(), self._offered(user))
        data.username = user.username
        if not data.problems:
            try:
                await run_in_threadpool(
                    self.users.update_user,
                    user.username,
                    **data.profile(),
                    audit=audit_context(request, "form"),
                )
            except InvalidInput as error:
                data.problems.append(sentence(error.message))
        if data.problems:
            return await self._form_page(request, data, user, status_code=400)
        self.directory.invalidate(user.username)
        logger.info("user %s changed by %s: roles %s", user.username, actor.username, data.roles)
        return _done(request, "updated", user.username)

    @login_required
    async def password_page(self, request: Request) -> Response:
        """GET: the new-password form; POST: set the password once typed twice and strong."""
        actor = self._manager(request)
        user = await self._user(request)
        problems: list[str] = []
        if request.method == "POST":
            min_length = self.users.auth.password_min_length
            password, problems = read_new_password(await request.form(), min_length, user.username)
            if password is not None and not problems:
                try:
                    await run_in_threadpool(
                        self.users.set_password,
                        user.username,
                        password,
                        audit=audit_context(request, "form"),
                    )
                except InvalidInput as error:
                    problems.append(sentence(error.message))
            if not problems:
                self.directory.invalidate(user.username)
                logger.info("password of %s reset by %s", user.username, actor.username)
                return _done(request, "password", user.username)
        context = {
            "title": f"Reset the password of {user.username}",
            "user": user,
            "problems": problems,
            "min_length": self.users.auth.password_min_length,
        }
        status = 400 if problems else 200
        return await self.render(request, "datadesk/users/password.html", context, status)

    @login_required
    async def disable_page(self, request: Request) -> Response:
        """GET: a confirmation page; POST: disable the user, who is signed out at once."""
        actor = self._manager(request)
        user = await self._user(request)
        problems: list[str] = []
        if request.method == "POST":
            try:
                await run_in_threadpool(
                    self.users.disable, user.username, audit=audit_context(request, "form")
                )
            except InvalidInput as error:
                problems.append(sentence(error.message))
            else:
                self.directory.invalidate(user.username)
                logger.info("user %s disabled by %s", user.username, actor.username)
                return _done(request, "disabled", user.username)
        context = {
            "title": f"Disable user {user.username}",
            "user": user,
            "problems": problems,
            "is_self": user.username == actor.username,
        }
        status = 400 if problems else 200
        return await self.render(request, "datadesk/users/disable.html", context, status)

    @login_required
    async def enable(self, request: Request) -> Response:
        """POST: let a disabled user sign in again."""
        actor = self._manager(request)
        user = await self._user(request)
        await run_in_threadpool(
            self.users.enable, user.username, audit=audit_context(request, "form")
        )
        self.directory.invalidate(user.username)
        logger.info("user %s enabled by %s", user.username, actor.username)
        return _done(request, "enabled", user.username)

    # -- helpers ----------------------------------------------------------------------------------

    def _manager(self, request: Request) -> Actor:
        """The signed-in user, who must be allowed to manage users (AccessDenied otherwise)."""
        actor: Actor | None = getattr(request.state, "actor", None)
        if actor is None or not self.policy.can_manage_users(actor):
            logger.warning(
                "refused %s %s to %s: may not manage users",
                request.method,
                request.url.path,
                actor.username if actor is not None else "anonymous",
            )
            raise AccessDenied("Managing users needs the admin role.")
        return actor

    async def _user(self, request: Request) -> User:
        """The user named in the path, or NotFound."""
        name = str(request.path_params["username"])[:USERNAME_LIMIT]
        user = await run_in_threadpool(self.users.get, name)
        if user is None:
            raise NotFound(f"There is no user {name!r}.")
        return user

    def _offered(self, user: User | None) -> list[str]:
        """The roles the form offers: the configured ones, and any the user still holds."""
        names = self.policy.role_names()
        stale = sorted(user.roles - set(names)) if user is not None else []
        return names + stale

    def _choices(self, user: User | None) -> list[RoleChoice]:
        choices = []
        for name in self._offered(user):
            role = self.roles.get(name)
            if name == ADMIN_ROLE:
                choices.append(RoleChoice(name, ADMIN_LABEL, ADMIN_DESCRIPTION))
            elif role is None:
                choices.append(RoleChoice(name, name, "not in the configuration"))
            else:
                choices.append(RoleChoice(name, role.label or name, role.description or ""))
        return choices

    async def _form_page(
        self, request: Request, data: UserForm, user: User | None, status_code: int = 200
    ) -> Response:
        context: dict[str, Any] = {
            "title": "New user" if user is None else f"Edit user {user.username}",
            "form": data,
            "user": user,
            "problems": data.problems,
            "roles": self._choices(user),
            "min_length": self.users.auth.password_min_length,
            "password_optional": self.users.auth.trusted_header is not None,
        }
        return await self.render(request, "datadesk/users/form.html", context, status_code)


def _done(request: Request, what: str, username: str) -> Response:
    """After a change: back to the list, which says what was done."""
    url = request.url_for("admin:users").include_query_params(done=what, user=username)
    return RedirectResponse(url, status_code=303)


def _notice(request: Request, users: Sequence[User]) -> str:
    """The list's note about the change just made ('' for unknown or crafted parameters)."""
    template = NOTICES.get(request.query_params.get("done", ""))
    name = request.query_params.get("user", "")
    if template is None or name not in {u.username for u in users}:
        return ""
    return template.format(name)


def install_users_pages(
    admin: DatadeskAdmin,
    users: UserStore,
    directory: ActorDirectory,
    policy: RolePolicy,
    roles: Mapping[str, RoleConfig],
) -> UsersPages:
    """Add the users pages to the admin and ``can_manage_users(request)`` to its templates."""
    pages = UsersPages(admin, users, directory, policy, roles)
    admin.admin.router.routes[0:0] = pages.routes()
    admin.templates.env.globals["can_manage_users"] = pages.can_manage
    admin.page_templates.globals["can_manage_users"] = pages.can_manage
    return pages
