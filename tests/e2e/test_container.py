"""The container image's own commands, run directly: the start command with its workers, the
HEALTHCHECK, SIGTERM draining a request in flight; and the deploy files agreeing with the app."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx2
import pytest
import yaml

from datadesk.app import UPLOAD_OVERHEAD_BYTES
from datadesk.config.schema import Config
from tests.e2e.conftest import ADMIN_PASSWORD, CSRF_RE, Site, free_port
from tests.e2e.image import REPO, Served, logical_lines, read_image, resolve, start_image

pytestmark = pytest.mark.e2e


def test_start_command_serves_with_the_images_workers(image_server: Served) -> None:
    image = read_image()
    assert httpx2.get(f"{image_server.base}/healthz").text == "ok"
    assert httpx2.get(f"{image_server.base}/readyz").json()["ready"] is True
    assert len(image_server.worker_pids()) == int(image.env["DATADESK_WORKERS"])
    # The HEALTHCHECK passes against it, and fails where nothing answers.
    check = resolve(image.healthcheck, image_server.env)
    assert subprocess.run(check, env=image_server.env, timeout=30).returncode == 0
    elsewhere = {**image_server.env, "DATADESK_PORT": str(free_port())}
    failed = subprocess.run(check, env=elsewhere, capture_output=True, timeout=30)
    assert failed.returncode != 0


def test_image_runs_unprivileged_from_a_separate_build_stage() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = logical_lines(text)
    froms = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    assert len(froms) >= 2
    final = lines[froms[-1] :]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    # Only the built virtualenv crosses into the final stage: no compiler, no source tree.
    copies = [line for line in final if line.upper().startswith("COPY ")]
    assert copies == ["COPY --from=build /opt/datadesk /opt/datadesk"]
    assert not any("apt-get" in line or "pip " in line for line in final)


def test_compose_and_nginx_files_agree_with_the_image_and_the_app() -> None:
    image = read_image()
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    nginx = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    services = compose["services"]
    port = image.env["DATADESK_PORT"]
    for name in ("app-a", "app-b"):
        mounts = [v.split(":")[1] for v in services[name]["volumes"]]
        assert image.env["DATADESK_CONFIG"] in mounts
        assert image.env["DATADESK_VAR_DIR"] in mounts
        assert f"server {name}:{port} " in nginx
        # docker stop must wait longer than the app's own graceful timeout.
        grace = int(services[name]["stop_grace_period"].rstrip("s"))
        assert grace > int(image.env["DATADESK_GRACEFUL_TIMEOUT"])
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]
    # nginx lets through exactly what the app accepts: the import limit plus the form around it.
    limit = re.search(r"client_max_body_size (\d+)m;", nginx)
    assert limit is not None
    app_limit = Config().import_settings.max_upload_mb + UPLOAD_OVERHEAD_BYTES / 2**20
    assert int(limit.group(1)) == app_limit


def test_sigterm_lets_a_request_in_flight_finish(site: Site) -> None:
    served = start_image(read_image(), site.environment(free_port()), site.var_dir / "term.log")
    try:
        port = int(served.env["DATADESK_PORT"])
        page = httpx2.get(f"{served.base}/admin/login")
        token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
        cookie = page.headers["set-cookie"].split(";")[0]
        body = urlencode(
            {
                "csrf_token": token,
                "username": "admin",
                "password": ADMIN_PASSWORD,
                "next": "/admin/",
            }
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(
                (
                    "POST /admin/login HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{port}\r\n"
                    f"Cookie: {cookie}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    "Expect: 100-continue\r\n\r\n"
                ).encode()
            )
            # "100 Continue" comes when the app starts reading the body: the request is in flight.
            assert conn.recv(100).startswith(b"HTTP/1.1 100")
            served.process.terminate()
            _wait_until_refused(port, served)
            conn.sendall(body)
            answer = _read_response(conn)
        assert answer.startswith(b"HTTP/1.1 303"), answer[:300]
        assert b"datadesk_session=" in answer
        assert served.process.wait(timeout=30) == 0
    finally:
        served.stop()


def _wait_until_refused(port: int, served: Served) -> None:
    """Until new connections are refused: the server has begun its graceful shutdown."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except ConnectionRefusedError:
            return
        time.sleep(0.05)
    raise AssertionError(f"still accepting after SIGTERM: {served.log()[-2000:]}")


def _read_response(conn: socket.socket) -> bytes:
    """The whole response to a request sent with Connection: close semantics (server closes)."""
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
        if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
            break
    return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, _, rest = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return length is None or len(rest) >= int(length.group(1))


def test_dockerignore_keeps_the_build_context_to_the_package() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert "*" in ignored  # nothing but what is allowed below
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {
        part
        for line in logical_lines((REPO / "Dockerfile").read_text(encoding="utf-8"))
        if line.startswith("COPY ") and "--from" not in line
        for part in line.split()[1:-1]
    }
    assert copied <= allowed
    assert all(Path(REPO, name).exists() for name in allowed)
