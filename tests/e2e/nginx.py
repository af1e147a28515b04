"""Debian's nginx running the shipped deploy/nginx.conf in front of a test server: a
non-daemon child with its own prefix, on free loopback ports, with a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench.servers import free_port
from tests.e2e.image import REPO

SITE_CONF = REPO / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

MAIN_CONF = """\
daemon off;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/datadesk.conf;
}}
"""


def write_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (valid one day): certificate and key paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "datadesk e2e")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def render_site(upstream: str, http_port: int, https_port: int, prefix: Path) -> str:
    """deploy/nginx.conf with only its deployment-specific values replaced; every value must
    still be there, so a changed file cannot silently go untested."""
    text = SITE_CONF.read_text(encoding="utf-8")
    replacements = {
        "server app-a:8000 ": f"server {upstream} ",
        "server app-b:8000 ": f"server {upstream} ",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "/etc/nginx/tls/fullchain.pem": str(prefix / "fullchain.pem"),
        "/etc/nginx/tls/privkey.pem": str(prefix / "privkey.pem"),
        "/var/cache/nginx/datadesk": str(prefix / "cache"),
    }
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"deploy/nginx.conf no longer contains {old!r}")
        text = text.replace(old, new)
    return text


@dataclass
class Nginx:
    """A running nginx: its HTTPS and HTTP base URLs and the client TLS context."""

    https: str
    http: str
    tls: ssl.SSLContext
    prefix: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Fast shutdown (SIGTERM); kill when it does not exit within 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def error_log(self) -> str:
        """nginx's error log so far."""
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def start_nginx(upstream: str, prefix: Path) -> Nginx:
    """Check the configuration (nginx -t), start nginx and wait until it accepts TLS."""
    prefix.mkdir(parents=True, exist_ok=True)
    cert, _ = write_certificate(prefix)
    http_port, https_port = free_port(), free_port()
    (prefix / "datadesk.conf").write_text(render_site(upstream, http_port, https_port, prefix))
    # As root, nginx would hand requests to workers running as nobody, who cannot read the
    # test's private temporary folders.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(MAIN_CONF.format(prefix=prefix, user=user))
    args = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    if checked.returncode != 0:
        raise AssertionError(f"nginx -t refused deploy/nginx.conf:\n{checked.stderr}")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tls = ssl.create_default_context(cafile=str(cert))
    running = Nginx(
        f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", tls, prefix, process
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {running.error_log()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", https_port), timeout=1):
                return running
        except OSError:
            time.sleep(0.1)
    running.stop()
    raise RuntimeError(f"nginx did not listen: {running.error_log()[-2000:]}")
