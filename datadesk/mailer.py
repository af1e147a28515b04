"""Outgoing e-mail through the SMTP server of the ``mail`` config section.

Framework-free and synchronous: the CLI calls it directly, the web layer from a worker thread.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from datadesk.config.base import is_email_address
from datadesk.config.mail import MailConfig
from datadesk.errors import DatadeskError, InvalidInput

MAX_RECIPIENTS = 100


class MailFailed(DatadeskError):
    """The SMTP server could not be reached or refused the message."""

    status_code = 502


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


class Mailer:
    """Sends messages through the configured SMTP server, one connection per message."""

    def __init__(self, config: MailConfig, password: str = "") -> None:
        self.config = config
        self._password = password

    @property
    def is_configured(self) -> bool:
        """Whether an SMTP server is configured (``mail.host``)."""
        return bool(self.config.host)

    def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        """Send one plain-text message with attachments; MailFailed when it cannot be sent."""
        if not self.is_configured:
            raise MailFailed("e-mail is not configured: set mail.host in datadesk.yaml")
        recipients = [check_address(address) for address in to]
        if not recipients:
            raise InvalidInput("no recipient given")
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidInput(f"at most {MAX_RECIPIENTS} recipients per message")
        limit = int(self.config.max_attachment_mb * 1024 * 1024)
        for item in attachments:
            if len(item.content) > limit:
                raise MailFailed(
                    f"{item.filename} is {len(item.content) / 1048576:.1f} MB, more than "
                    f"mail.max_attachment_mb ({self.config.max_attachment_mb:g} MB)"
                )
        message = self._message(recipients, subject, body, attachments)
        try:
            with self._connect() as smtp:
                if self.config.username:
                    smtp.login(self.config.username, self._password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            where = f"{self.config.host}:{self.config.port}"
            raise MailFailed(f"could not send e-mail through {where}: {_reason(exc)}") from exc

    def _message(
        self, to: Sequence[str], subject: str, body: str, attachments: Sequence[Attachment]
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.config.from_address
        message["To"] = ", ".join(to)
        message["Subject"] = " ".join(subject.split())[:200]
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.config.from_address.rpartition("@")[2])
        message.set_content(body)
        for item in attachments:
            maintype, _, subtype = item.mime_type.partition("/")
            message.add_attachment(
                item.content, maintype=maintype, subtype=subtype, filename=item.filename
            )
        return message

    def _connect(self) -> smtplib.SMTP:
        host = self.config.host or ""
        timeout = self.config.timeout_seconds
        if self.config.security == "ssl":
            return smtplib.SMTP_SSL(
                host, self.config.port, timeout=timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(host, self.config.port, timeout=timeout)
        if self.config.security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp


def check_address(address: str) -> str:
    """An e-mail address, trimmed; InvalidInput when it is obviously not one."""
    text = address.strip()
    if not is_email_address(text):
        raise InvalidInput(f"'{text[:60]}' is not an e-mail address")
    return text


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {detail}".strip()[:200]
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]
