"""The base of every ``datadesk.yaml`` section, shared by the modules that define them."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable.

    The attribute docstrings document each option in the source; only the sections that
    ``datadesk scaffold`` writes out with comments (``use_attribute_docstrings``) have pydantic
    read them, since reading them costs every command's start-up about 2 ms per section.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_networks(value: tuple[str, ...]) -> tuple[str, ...]:
    """A validator's check of IP addresses or networks (``10.0.0.0/8``)."""
    for entry in value:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ValueError(f"'{entry}' is not an IP address or network") from None
    return value


def is_email_address(text: str) -> bool:
    """Whether trimmed ``text`` looks like one e-mail address (name@domain, no list, no spaces)."""
    local, at, domain = text.rpartition("@")
    malformed = any(c in text for c in " \t\r\n,;<>") or len(text) > 254
    return bool(at and local and domain) and not malformed
