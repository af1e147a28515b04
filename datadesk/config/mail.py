"""The ``mail`` section of ``datadesk.yaml``: the SMTP server that reports and error reports use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from datadesk.config.base import StrictModel

MailSecurity = Literal["none", "starttls", "ssl"]


class MailConfig(StrictModel):
    """Outgoing e-mail (scheduled reports, error reports); off while ``host`` is not set."""

    host: str | None = None
    """SMTP server name or address; not set means datadesk sends no e-mail."""
    port: int = Field(default=25, ge=1, le=65535)
    """SMTP port: usually 25 (relay), 587 (starttls) or 465 (ssl)."""
    security: MailSecurity = "none"
    """none (plain, for a local relay), starttls (upgrade to TLS) or ssl (TLS throughout)."""
    username: str | None = None
    """Account to sign in to the SMTP server with; the password is DATADESK_SMTP_PASSWORD."""
    from_address: str = Field(default="datadesk@localhost", min_length=3, max_length=254)
    """Sender address of every message."""
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    """Give up on the SMTP server after this many seconds."""
    max_attachment_mb: float = Field(default=20, gt=0)
    """Largest attachment sent; a bigger report is refused with a message instead of mailed."""
