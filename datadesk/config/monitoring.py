"""The ``monitoring`` section of ``datadesk.yaml``: who may read metrics, who gets error mails."""

from __future__ import annotations

from pydantic import Field, field_validator

from datadesk.config.base import StrictModel, check_networks, is_email_address

LOOPBACK = ("127.0.0.1/32", "::1/128")


class MonitoringConfig(StrictModel):
    """Metrics access, error e-mails to the administrators and readiness checks."""

    metrics_networks: tuple[str, ...] = LOOPBACK
    """Networks that may read /metrics (the DATADESK_METRICS_TOKEN bearer token also may)."""
    error_mail_to: tuple[str, ...] = ()
    """Administrators e-mailed about unhandled errors (needs mail.host); empty sends none."""
    error_mail_interval_minutes: float = Field(default=15, gt=0)
    """The same error is e-mailed at most once in this many minutes."""
    error_mail_max_per_hour: int = Field(default=10, ge=1)
    """At most this many error e-mails per hour per process, whatever the errors."""
    schema_check_seconds: float = Field(default=60, gt=0)
    """/readyz compares the served tables and columns with the live schema this often."""

    @field_validator("metrics_networks")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_networks(value)

    @field_validator("error_mail_to")
    @classmethod
    def _valid_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not is_email_address(entry.strip()):
                raise ValueError(f"'{entry}' is not an e-mail address")
        return tuple(entry.strip() for entry in value)
