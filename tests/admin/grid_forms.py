"""Helpers for editable-grid tests: submit forms as a browser would, make rows to edit."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from tests.admin.conftest import CLERK_DEPARTMENT


class FormFields(HTMLParser):
    """The fields one form of a page submits as loaded (what a browser sends unchanged)."""

    def __init__(self, marker: str) -> None:
        super().__init__(convert_charrefs=True)
        self.marker = marker  # an attribute that identifies the form, e.g. data-dd-grid-edit
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.kinds: dict[str, str] = {}
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = self.marker in found
        if not self.inside:
            return
        name = found.get("name")
        if tag == "input" and name:
            kind = found.get("type", "text")
            self.kinds[name] = kind
            if kind in {"submit", "button", "radio"}:
                if kind == "radio" and "checked" in found:
                    self.fields.append((name, found.get("value", "on")))
                return
            if kind == "checkbox":
                if "checked" in found:
                    self.fields.append((name, found.get("value", "on")))
                return
            self.fields.append((name, found.get("value", "")))
        elif tag == "select" and name:
            self.kinds[name] = "select"
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((found.get("value", ""), "selected" in found))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        if tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [
                v for v, _ in self._options[:1]
            ]
            self.fields.append((self._select, chosen[0] if chosen else ""))
            self._select = None


def grid_fields(html: str) -> FormFields:
    """The fields of the editable grid form of a page."""
    parser = FormFields("data-dd-grid-edit")
    parser.feed(html)
    return parser


def submit(fields: list[tuple[str, str]], changes: dict[str, str | None]) -> list[tuple[str, str]]:
    """The fields after the user typed ``changes`` (None unticks a check box; a name that is
    not there yet ticks one)."""
    result = []
    done = set()
    for name, value in fields:
        if name in changes:
            done.add(name)
            if changes[name] is None:
                continue
            result.append((name, str(changes[name])))
        else:
            result.append((name, value))
    result += [(n, v) for n, v in changes.items() if n not in done and v is not None]
    return result


def row_of(html: str, text: str) -> int:
    """The row number (as in field names) of the grid row whose key or cells hold ``text``."""
    for match in re.finditer(r'<tr data-row="(\d+)".*?</tr>', html, re.S):
        if text in match.group(0):
            return int(match.group(1))
    raise AssertionError(f"no grid row shows {text!r}")


def query(url: str, sql: str, **params: object) -> list[Any]:
    """Rows straight from the database (none for statements that return none)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def lot_prefix() -> str:
    """A lot-number prefix no other test uses: the grid's search finds exactly our rows."""
    return "G" + uuid.uuid4().hex[:7].upper()


def new_immunizations(url: str, prefix: str, count: int, *, verified: str = "N") -> list[int]:
    """Immunizations of a staff member of the clerk's department, lots ``<prefix>-<n>``."""
    staff = query(
        url, "SELECT MIN(STAFF_ID) FROM STAFF WHERE DEPT_ID = :d", d=int(CLERK_DEPARTMENT)
    )[0][0]
    vaccine = query(url, "SELECT MIN(VACCINE_CODE) FROM VACCINES")[0][0]
    for number in range(count):
        query(
            url,
            "INSERT INTO IMMUNIZATIONS (STAFF_ID, VACCINE_CODE, DOSE_NO, ADMIN_DATE, LOT_NUMBER,"
            " VERIFIED) VALUES (:s, :v, 1, :d, :lot, :ok)",
            s=staff,
            v=vaccine,
            d=dt.date(2025, 3, 1 + number),
            lot=f"{prefix}-{number}",
            ok=verified,
        )
    rows = query(
        url,
        "SELECT IMM_ID FROM IMMUNIZATIONS WHERE LOT_NUMBER LIKE :p ORDER BY LOT_NUMBER",
        p=f"{prefix}-%",
    )
    return [int(r[0]) for r in rows]


def immunization(url: str, imm_id: int) -> Any:
    """One immunization row as stored."""
    return query(
        url,
        "SELECT LOT_NUMBER AS lot, VERIFIED AS verified, DOSE_NO AS dose, ADMIN_DATE AS given,"
        " VACCINE_CODE AS vaccine FROM IMMUNIZATIONS WHERE IMM_ID = :i",
        i=imm_id,
    )[0]


def last_audit_id(url: str) -> int:
    """The newest audit entry's id."""
    return int(query(url, "SELECT COALESCE(MAX(id), 0) FROM datadesk_audit")[0][0])


def audit_since(url: str, since: int, table: str = "immunizations") -> list[Any]:
    """Audit entries of a table written after entry ``since``, oldest first."""
    return query(
        url,
        "SELECT username, source, action, row_key, changes FROM datadesk_audit"
        " WHERE table_name = :t AND id > :s ORDER BY id",
        t=table,
        s=since,
    )


def post_form(
    client: Any, url: str, fields: list[tuple[str, str]], headers: dict[str, str] | None = None
) -> Any:
    """POST fields (names may repeat) urlencoded, with the session's CSRF token unless the
    fields carry one."""
    if not any(name == "csrf_token" for name, _ in fields):
        fields = [("csrf_token", client.csrf), *fields]
    return client.post(
        url,
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded", **(headers or {})},
    )


def new_staff(url: str, surname: str, count: int, dept: int = int(CLERK_DEPARTMENT)) -> list[int]:
    """Staff members called ``<surname>`` in a department, with fresh employee numbers."""
    category = query(url, "SELECT MIN(CATEGORY_CODE) FROM STAFF_CATEGORIES")[0][0]
    for _ in range(count):
        query(
            url,
            "INSERT INTO STAFF (EMPLOYEE_NO, FIRST_NAME, LAST_NAME, DEPT_ID, CATEGORY_CODE,"
            " HIRE_DATE) VALUES (:no, 'Grid', :name, :d, :c, :h)",
            no="T" + uuid.uuid4().hex[:5].upper(),
            name=surname,
            d=dept,
            c=category,
            h=dt.date(2024, 1, 15),
        )
    rows = query(
        url, "SELECT STAFF_ID FROM STAFF WHERE LAST_NAME = :n ORDER BY STAFF_ID", n=surname
    )
    return [int(r[0]) for r in rows]


class Scratch:
    """Rows one test makes in the shared demo database, removed when the test ends (other
    tests count the demo's rows)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.immunization_ids: set[int] = set()
        self.staff_ids: set[int] = set()

    def immunizations(self, prefix: str, count: int, *, verified: str = "N") -> list[int]:
        """``new_immunizations``, remembered for removal."""
        ids = new_immunizations(self.url, prefix, count, verified=verified)
        self.immunization_ids.update(ids)
        return ids

    def staff(self, surname: str, count: int, dept: int = int(CLERK_DEPARTMENT)) -> list[int]:
        """``new_staff``, remembered for removal."""
        ids = new_staff(self.url, surname, count, dept)
        self.staff_ids.update(ids)
        return ids

    def remove(self) -> None:
        """Delete the rows made (immunizations first: they refer to staff)."""
        for table, key, ids in (
            ("IMMUNIZATIONS", "IMM_ID", self.immunization_ids),
            ("STAFF", "STAFF_ID", self.staff_ids),
        ):
            for made in sorted(ids):
                query(self.url, f"DELETE FROM {table} WHERE {key} = :i", i=made)
