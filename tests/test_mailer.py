"""Outgoing e-mail through a real local SMTP server."""

from __future__ import annotations

import socket

import pytest

from datadesk.config.mail import MailConfig
from datadesk.errors import InvalidInput
from datadesk.mailer import Attachment, Mailer, MailFailed, check_address
from tests.conftest import MailBox


def test_message_with_attachment_arrives(smtp_server: tuple[str, int, MailBox]) -> None:
    host, port, box = smtp_server
    mailer = Mailer(MailConfig(host=host, port=port, from_address="reports@example.org"))
    payload = b"PK\x03\x04 not really a workbook"
    mailer.send(
        ["official@example.org", " head@example.org "],
        "Immunization compliance",
        "The report is attached.",
        [Attachment("compliance.xlsx", payload, "application/vnd.ms-excel")],
    )
    assert len(box.messages) == 1
    message = box.messages[0]
    assert box.envelopes[0] == ("reports@example.org", ["official@example.org", "head@example.org"])
    assert message["Subject"] == "Immunization compliance"
    assert message["From"] == "reports@example.org"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "The report is attached." in body.get_content()
    files = list(message.iter_attachments())
    assert [f.get_filename() for f in files] == ["compliance.xlsx"]
    assert files[0].get_content() == payload


def test_unconfigured_mailer_refuses() -> None:
    mailer = Mailer(MailConfig())
    assert not mailer.is_configured
    with pytest.raises(MailFailed, match=r"mail\.host"):
        mailer.send(["a@example.org"], "s", "b")


def test_unreachable_server_is_one_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        mailer = Mailer(MailConfig(host="127.0.0.1", port=port, timeout_seconds=5))
        with pytest.raises(MailFailed, match=f"127\\.0\\.0\\.1:{port}"):
            mailer.send(["a@example.org"], "s", "b")


def test_oversize_attachment_is_refused_before_connecting(
    smtp_server: tuple[str, int, MailBox],
) -> None:
    host, port, box = smtp_server
    mailer = Mailer(MailConfig(host=host, port=port, max_attachment_mb=0.001))
    with pytest.raises(MailFailed, match="max_attachment_mb"):
        mailer.send(["a@example.org"], "s", "b", [Attachment("big.xlsx", b"x" * 5000)])
    assert box.messages == []


@pytest.mark.parametrize("address", ["", "nobody", "a@", "@b", "a b@c.org", "a@b.org, c@d.org"])
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidInput):
        check_address(address)
