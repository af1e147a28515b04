"""Who is acting: the signed-in user (or the CLI's ``--as`` user) as the access policy sees them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Actor:
    """A user name, the roles held and the attributes row rules compare with (e.g. department_id).

    Attribute names are not case-sensitive (kept in lower case); values are text, as stored on
    the users pages, and the policy converts them to each column's type when it compares.
    """

    username: str
    roles: frozenset[str]
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)
    sessions_valid_after: float = field(default=0.0, compare=False)
    """Epoch seconds of the last password change: sessions signed in before it are over."""

    def __post_init__(self) -> None:
        # Frozen means frozen: a caller's dict changed later must not change what the actor is.
        object.__setattr__(self, "roles", frozenset(self.roles))
        lowered = {name.lower(): value for name, value in self.attributes.items()}
        object.__setattr__(self, "attributes", MappingProxyType(lowered))

    @property
    def is_admin(self) -> bool:
        """Holders of the ``admin`` role may do everything, everywhere."""
        return ADMIN_ROLE in self.roles


SYSTEM = Actor("system", frozenset({ADMIN_ROLE}))
"""The actor of internal work and of CLI commands run without ``--as``: full rights."""
