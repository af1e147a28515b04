"""A graceful restart (SIGHUP) under load through nginx: no request fails, no write is lost,
and afterwards every worker serves the new configuration; a configuration the new workers
cannot load leaves the running ones serving."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2
import pytest
import sqlalchemy as sa

from datadesk.config.schema import Config
from tests.e2e.conftest import Session, Site, sign_in
from tests.e2e.image import Served
from tests.e2e.nginx import Nginx
from tests.e2e.test_nginx import client_from
from tests.operations.test_metrics import sample

pytestmark = pytest.mark.e2e

CLIENTS = 4
NEW_TITLE = "Records after the restart"


@dataclass
class Clerk:
    """One simulated user: lists departments and edits its own department's location."""

    session: Session
    department: int
    done: int = 0
    saved: str | None = None
    failures: list[str] = field(default_factory=list)

    def work(self, stop: threading.Event) -> None:
        """Request after request until told to stop; every failure is recorded."""
        while not stop.is_set():
            try:
                if self.done % 4 == 3:
                    self.edit(f"Wing {self.department}-{self.done}")
                else:
                    page = self.session.client.get("/admin/departments/list")
                    if page.status_code != 200:
                        self.failures.append(f"list: {page.status_code}")
            except httpx2.HTTPError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            self.done += 1

    def edit(self, location: str) -> None:
        """Save the department's location through its edit form (CSRF token, row version)."""
        path = f"/admin/departments/edit/{self.department}"
        form = self.session.client.get(path)
        if form.status_code != 200:
            self.failures.append(f"edit form: {form.status_code}")
            return
        values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form.text))
        for name, body in re.findall(
            r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', form.text, re.S
        ):
            chosen = re.search(r'<option selected value="([^"]*)"', body)
            values[name] = chosen.group(1) if chosen else ""
        values.update(location=location, save="Save")
        saved = self.session.client.post(path, data=values)
        if saved.status_code != 302:
            text = " ".join(re.sub(r"<[^>]+>", " ", saved.text).split())
            self.failures.append(f"save: {saved.status_code}: {text[-300:]}")
        else:
            self.saved = location


def test_sighup_under_load_fails_no_request_and_serves_the_new_config(
    front: Nginx, image_server: Served, site: Site
) -> None:
    clerks = [
        Clerk(sign_in(front.https, client_from(front.https, front.tls)), department=2 + i)
        for i in range(CLIENTS)
    ]
    stop = threading.Event()
    threads = [threading.Thread(target=c.work, args=(stop,)) for c in clerks]
    for thread in threads:
        thread.start()
    try:
        _wait_for(lambda: all(c.done >= 5 for c in clerks), "load to start")
        old_workers = image_server.worker_pids()
        site.write_config(NEW_TITLE)
        os.kill(image_server.process.pid, signal.SIGHUP)
        _wait_for(
            lambda: (
                not image_server.worker_pids() & old_workers
                and len(image_server.worker_pids()) == len(old_workers)
            ),
            "every worker to be replaced",
            timeout=90,
        )
        marks = [c.done for c in clerks]
        _wait_for(
            lambda: all(c.done >= m + 8 for c, m in zip(clerks, marks, strict=True)),
            "load after the restart",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert [f for c in clerks for f in c.failures] == []
    assert sum(c.done for c in clerks) >= CLIENTS * 13
    # Every acknowledged save is in the database: the last one of each clerk is what is stored.
    with sa.create_engine(site.database_url).connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT dept_id, location FROM departments")).all())
    for clerk in clerks:
        assert clerk.saved is not None and stored[clerk.department] == clerk.saved
    # New connections land on new workers only: all of them serve the new configuration.
    for _ in range(6):
        assert NEW_TITLE in clerks[0].session.client.get("/admin/").text
    # The retired workers' live gauges were dropped: the pool size is that of the workers now.
    metrics = httpx2.get(f"{image_server.base}/metrics", timeout=30).text
    workers = len(image_server.worker_pids())
    assert sample(metrics, "datadesk_db_pool_size") == workers * Config().database.pool_size
    for clerk in clerks:
        clerk.session.client.close()


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sighup_with_a_broken_config_keeps_the_running_workers(
    image_server: Served, site: Site
) -> None:
    workers = image_server.worker_pids()
    aborted = image_server.log().count("aborting the restart")
    good = site.config.read_text(encoding="utf-8")
    site.config.write_text(good + "\nno_such_section: {}\n", encoding="utf-8")
    try:
        os.kill(image_server.process.pid, signal.SIGHUP)
        _wait_for(
            lambda: image_server.log().count("aborting the restart") > aborted,
            "the restart to stop",
        )
    finally:
        site.config.write_text(good, encoding="utf-8")
    assert image_server.worker_pids() == workers
    assert "no_such_section" in image_server.log()  # the failed worker said why
    assert httpx2.get(f"{image_server.base}/readyz", timeout=30).json()["ready"] is True
