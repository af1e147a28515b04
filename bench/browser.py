"""What the load benchmark's simulated users do, the way a browser does it: sign in through the
login form, read pages, and save edit forms with every field as loaded, the CSRF token and the
row version; each request timed and classified by page."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx2

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
DEMO_PASSWORD = "Demo-records-2026"  # the demo users' password (README)


class FormReader(HTMLParser):
    """The fields of every form with a method of POST, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, str]] = []
        self.fields: dict[str, str] = {}
        self.in_form = False
        self._select: str | None = None
        self._first_option: str | None = None
        self._chosen: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect inputs, selects and text areas of the form."""
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.in_form, self.fields = True, {}
            self.forms.append(self.fields)
        if not self.in_form:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in {"submit", "button", "file", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.fields[a["name"]] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select":
            self._select, self._first_option, self._chosen = a.get("name"), None, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self._chosen = value
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data: str) -> None:
        """Text of a text area."""
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        """Close selects, text areas and the form."""
        if tag == "select" and self._select:
            self.fields[self._select] = self._chosen or self._first_option or ""
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields[self._textarea] = "".join(self._text).removeprefix("\n")
            self._textarea = None
        elif tag == "form" and self.in_form:
            self.in_form = False


def post_forms(html: str) -> list[dict[str, str]]:
    """The fields a browser would post from each of the page's POST forms."""
    reader = FormReader()
    reader.feed(html)
    return reader.forms


@dataclass
class PageStats:
    """Latencies (ms) and failures of one kind of page, and when each request ended."""

    latencies: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    shed: int = 0  # 503 with Retry-After: refused on purpose, not broken


class Recorder:
    """Every request of a run, by phase and page kind."""

    def __init__(self) -> None:
        self.phase = "setup"
        self.pages: dict[tuple[str, str], PageStats] = defaultdict(PageStats)

    def record(self, kind: str, started: float, error: str | None = None) -> None:
        """One finished request (or a failed one, with what went wrong)."""
        stats = self.pages[(self.phase, kind)]
        now = time.perf_counter()
        if error is None:
            stats.latencies.append((now - started) * 1000)
            stats.ended.append(now)
        elif error.startswith("503 shed"):
            stats.shed += 1
        else:
            stats.errors.append(error)


class LoadError(Exception):
    """A request answered wrongly (the message says what and where)."""


@dataclass
class Browser:
    """One signed-in browser session (several simulated users may share one, like tabs)."""

    client: httpx2.AsyncClient
    username: str
    recorder: Recorder

    async def request(
        self, kind: str, method: str, url: str, expect: int, data: dict[str, str] | None = None
    ) -> httpx2.Response:
        """One request, timed and recorded under ``kind``; LoadError unless ``expect``."""
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, data=data)
        except httpx2.HTTPError as exc:
            self.recorder.record(kind, started, f"{type(exc).__name__} {method} {url}: {exc}")
            raise LoadError(str(exc)) from None
        if response.status_code == 503 and "retry-after" in response.headers:
            self.recorder.record(kind, started, f"503 shed {url}")
            raise LoadError("shed")
        if response.status_code != expect:
            where = response.headers.get("location", "")
            self.recorder.record(
                kind, started, f"{response.status_code} {method} {url} {where}".strip()
            )
            raise LoadError(f"{response.status_code} for {url}")
        self.recorder.record(kind, started)
        return response


def edit_fields(html: str, changes: dict[str, str]) -> dict[str, str]:
    """What a browser posts after changing some fields of an edit form (LoadError when the
    page has no CSRF token or row version: it is not the edit form)."""
    for fields in post_forms(html):
        if "csrf_token" in fields and "row_version" in fields:
            return {**fields, **changes, "save": "Save"}
    raise LoadError("the edit page has no form with csrf_token and row_version")


async def sign_in(base: str, username: str, recorder: Recorder) -> Browser:
    """A new browser signed in through the login form (one connection, kept alive)."""
    client = httpx2.AsyncClient(
        base_url=base,
        follow_redirects=False,
        timeout=60,
        limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1),
    )
    browser = Browser(client, username, recorder)
    page = await browser.request("sign-in", "GET", "/admin/login", 200)
    token = CSRF_RE.search(page.text)
    if token is None:
        raise LoadError("the sign-in page has no csrf_token")
    await browser.request(
        "sign-in",
        "POST",
        "/admin/login",
        303,
        data={
            "username": username,
            "password": DEMO_PASSWORD,
            "csrf_token": token.group(1),
            "next": "/admin/",
        },
    )
    return browser
