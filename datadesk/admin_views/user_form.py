"""The users create and edit forms as submitted: fields, roles, attributes and new passwords.

Reading a form never raises: every problem becomes a sentence in ``problems``, so a page can
show them all at once with the input kept (never the password).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from datadesk.auth.accounts import ATTRIBUTE_RULE, User
from datadesk.auth.passwords import MAX_PASSWORD_LENGTH, check_password_strength
from datadesk.models.app_tables import ATTRIBUTE_VALUE_LENGTH

USERNAME_LIMIT = 100
DISPLAY_NAME_LIMIT = 200
EMAIL_LIMIT = 254
ATTRIBUTES_TEXT_LIMIT = 20_000
MAX_ATTRIBUTES = 100


@dataclass
class UserForm:
    """The create or edit form as submitted (never the password), and what is wrong with it."""

    username: str = ""
    display_name: str = ""
    email: str = ""
    roles: list[str] = field(default_factory=list)
    attributes_text: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of_user(cls, user: User) -> UserForm:
        """The form filled in with a stored user."""
        return cls(
            username=user.username,
            display_name=user.display_name or "",
            email=user.email or "",
            roles=sorted(user.roles),
            attributes_text=format_attributes(user.attributes),
            attributes=dict(user.attributes),
        )

    @classmethod
    def read(cls, form: FormData, offered: Sequence[str]) -> UserForm:
        """The profile, roles and attributes of a submitted form, checked."""
        data = cls()
        data.display_name = data._text(form, "display_name", "display name", DISPLAY_NAME_LIMIT)
        data.email = data._text(form, "email", "e-mail address", EMAIL_LIMIT)
        data.attributes_text = data._text(
            form, "attributes", "attributes text", ATTRIBUTES_TEXT_LIMIT
        )
        chosen = {str(r) for r in form.getlist("roles") if isinstance(r, str)}
        data.roles = [r for r in offered if r in chosen]
        for role in sorted(chosen - set(offered)):
            data.problems.append(f"There is no role {role[:100]!r}.")
        data.attributes, problems = parse_attributes(data.attributes_text)
        data.problems += problems
        return data

    def profile(self) -> dict[str, Any]:
        """Display name, e-mail, roles and attributes as UserStore's keyword arguments."""
        return {
            "display_name": self.display_name,
            "email": self.email,
            "roles": self.roles,
            "attributes": self.attributes,
        }

    def _text(self, form: FormData, name: str, label: str, limit: int) -> str:
        value = form_text(form, name).strip()
        if len(value) > limit:
            self.problems.append(f"The {label} must be at most {limit} characters long.")
            return value[:limit]
        return value


def form_text(form: FormData, name: str) -> str:
    """A text field of a form ('' when missing or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def parse_attributes(text: str) -> tuple[dict[str, str], list[str]]:
    """Attributes from 'name=value' lines (blank lines skipped), and the problems found."""
    attributes: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip().lower(), value.strip()
        where = f"Attributes, line {number}:"
        if not sep:
            problems.append(f"{where} write name=value, e.g. department_id=3.")
        elif not ATTRIBUTE_RULE.match(name):
            problems.append(
                f"{where} {name[:100]!r} is not an attribute name "
                "(a letter or '_', then letters, digits or '_', at most 100)."
            )
        elif name in attributes:
            problems.append(f"{where} {name!r} is given twice.")
        elif len(value) > ATTRIBUTE_VALUE_LENGTH:
            problems.append(f"{where} the value is over {ATTRIBUTE_VALUE_LENGTH} characters long.")
        else:
            attributes[name] = value
    if len(attributes) > MAX_ATTRIBUTES:
        problems.append(f"A user may have at most {MAX_ATTRIBUTES} attributes.")
    return attributes, problems


def format_attributes(attributes: Mapping[str, str]) -> str:
    """Attributes as the 'name=value' lines of the form."""
    return "\n".join(f"{name}={value}" for name, value in sorted(attributes.items()))


def read_new_password(
    form: FormData, min_length: int, username: str, *, optional: bool = False
) -> tuple[str | None, list[str]]:
    """The new password typed twice (None when left empty and ``optional``), and its problems."""
    password = form_text(form, "password")
    again = form_text(form, "password_again")
    if not password and not again:
        return None, [] if optional else ["Enter the new password twice."]
    if password != again:
        return None, ["The two passwords differ; type the same password twice."]
    if len(password) > MAX_PASSWORD_LENGTH:  # refused before any hashing
        return None, [f"The password must be at most {MAX_PASSWORD_LENGTH} characters long."]
    return password, [sentence(p) for p in check_password_strength(password, min_length, username)]


def sentence(message: str) -> str:
    """A message as a sentence: capital first letter, closing full stop."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
