"""deploy/nginx.conf in front of the image's server: TLS, forwarded client addresses trusted
only from the proxy, the upload limit, a streamed download and cached static assets."""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import openpyxl
import pytest
import sqlalchemy as sa

from tests.e2e.conftest import Session, Site, sign_in
from tests.e2e.image import Served
from tests.e2e.nginx import Nginx

pytestmark = pytest.mark.e2e

CLIENT_ADDRESS = "127.0.0.2"  # the "browser": a loopback address other than the proxy's
FORGED = "198.51.100.23"


def client_from(base: str, tls: ssl.SSLContext | bool = True) -> httpx2.Client:
    """An HTTP client connecting from CLIENT_ADDRESS."""
    transport = httpx2.HTTPTransport(verify=tls, local_address=CLIENT_ADDRESS)
    return httpx2.Client(base_url=base, transport=transport, follow_redirects=False, timeout=30)


@pytest.fixture
def via_proxy(front: Nginx) -> Iterator[Session]:
    """admin, signed in from CLIENT_ADDRESS through nginx over TLS."""
    session = sign_in(front.https, client_from(front.https, front.tls))
    yield session
    session.client.close()


def test_tls_secure_cookie_hsts_and_redirect_to_https(front: Nginx) -> None:
    with client_from(front.https, front.tls) as client:
        page = client.get("/admin/login")
        assert page.status_code == 200
        assert "; Secure" in page.headers["set-cookie"]  # the app knows the browser uses TLS
        assert page.headers["strict-transport-security"].startswith("max-age=")
    with client_from(front.http) as plain:
        moved = plain.get("/admin/login")
        assert moved.status_code == 301
        assert moved.headers["location"].startswith("https://127.0.0.1")


def test_client_address_is_the_forwarded_one_only_through_the_trusted_proxy(
    via_proxy: Session, image_server: Served, site: Site
) -> None:
    # Through nginx (connecting from 127.0.0.1, listed in auth.trusted_proxies): the browser's
    # address, not the proxy's, and not what the browser claims in its own header.
    headers = {"X-Forwarded-For": FORGED}
    assert edit_phone(via_proxy, "+1 555 0100", headers) == CLIENT_ADDRESS
    # Straight to the app from an address that is no proxy: the header is ignored.
    direct = client_from(image_server.base, tls=False)
    direct.cookies.set("datadesk_session", via_proxy.client.cookies["datadesk_session"])
    session = Session(direct, via_proxy.cookie, via_proxy.csrf)
    try:
        assert edit_phone(session, "+1 555 0101", headers) == CLIENT_ADDRESS
    finally:
        direct.close()
    with sa.create_engine(site.database_url).connect() as conn:
        signed_in = conn.execute(
            sa.text(
                "SELECT address FROM datadesk_login_attempts WHERE username = 'admin' "
                "ORDER BY id DESC"
            )
        ).first()
    assert signed_in is not None and signed_in[0] == CLIENT_ADDRESS


def edit_phone(session: Session, phone: str, headers: dict[str, str]) -> str:
    """Change department 1's phone through its edit form; the address the audit recorded."""
    form = session.client.get("/admin/departments/edit/1", headers=headers).text
    values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form))
    for name, body in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body)
        values[name] = chosen.group(1) if chosen else ""
    values.update(phone=phone, save="Save")
    saved = session.client.post("/admin/departments/edit/1", data=values, headers=headers)
    assert saved.status_code == 302, saved.text[:500]
    audit = session.client.get("/admin/audit", params={"table": "departments", "key": "1"})
    newest = re.search(r'href="/admin/audit/(\d+)"', audit.text)
    assert newest is not None
    entry = session.client.get(f"/admin/audit/{newest.group(1)}").text
    assert phone in entry
    found = re.search(r", from ([0-9a-f.:]+)\)", entry)
    assert found is not None, entry[:2000]
    return found.group(1)


def test_uploads_over_the_import_limit_stop_at_nginx(front: Nginx) -> None:
    host, port = urlsplit(front.https).hostname, urlsplit(front.https).port
    assert host is not None and port is not None
    too_big = 52 * 2**20  # client_max_body_size is 51m
    raw = socket.create_connection((host, port), timeout=30)
    with front.tls.wrap_socket(raw, server_hostname=host) as conn:
        conn.sendall(
            (
                "POST /admin/immunizations/import HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {too_big}\r\n\r\n"
            ).encode()
        )
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_audit_download_streams_through_the_proxy(via_proxy: Session, image_server: Served) -> None:
    edit_phone(via_proxy, "+1 555 0102", {})
    with via_proxy.client.stream("GET", "/admin/audit/export.csv") as response:
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.headers
        assert response.headers["content-disposition"].startswith("attachment")
        proxied = b"".join(response.iter_bytes())
    direct = httpx2.get(
        f"{image_server.base}/admin/audit/export.csv",
        cookies={"datadesk_session": via_proxy.client.cookies["datadesk_session"]},
        timeout=30,
    )
    assert direct.status_code == 200
    assert proxied == direct.content
    assert b"+1 555 0102" in proxied


def test_grid_export_downloads_whole_through_the_proxy(
    via_proxy: Session, site: Site, tmp_path: Path
) -> None:
    query = {"format": "xlsx", "sort": "-imm_id"}
    with via_proxy.client.stream("GET", "/admin/immunizations/export", params=query) as response:
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment")
        (tmp_path / "export.xlsx").write_bytes(b"".join(response.iter_bytes()))
    engine = sa.create_engine(site.database_url)
    with engine.connect() as conn:
        keys = conn.exec_driver_sql("SELECT IMM_ID FROM IMMUNIZATIONS ORDER BY IMM_ID DESC")
        expected = [row[0] for row in keys]
    engine.dispose()
    sheet = openpyxl.load_workbook(tmp_path / "export.xlsx", read_only=True).worksheets[0]
    rows = list(sheet.values)
    assert rows[0][0] == "No."  # imm_id, the grid's first column
    assert [row[0] for row in rows[1:]] == expected


def test_static_assets_are_cached_by_nginx_without_cookies(front: Nginx) -> None:
    with client_from(front.https, front.tls) as client:
        answers = [client.get("/static/datadesk/datadesk.css") for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].headers["x-cache-status"] == "HIT"
    assert answers[0].content == answers[1].content and b"{" in answers[0].content
    for answer in answers:
        assert answer.headers["cache-control"] == "public, max-age=3600"
        assert "set-cookie" not in answer.headers
