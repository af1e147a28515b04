"""Baseline: the grid page written by hand with Starlette, SQLAlchemy Core and Jinja2.

It runs the statements datadesk's immunizations grid runs: one page of 50 rows ordered by
ADMIN_DATE descending then IMM_ID, LEFT JOINs to STAFF, STUDENTS and VACCINES for the labels of
the three references, and a count capped at 10,001 rows.  The queries run in Starlette's
threadpool on a sync engine; the template is a plain HTML table of the same rows.

Serve: ``BENCH_DATABASE_URL=... uvicorn --factory bench.handwritten:create_app``.
Page: ``/admin/immunizations/list``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bench.tables import reflect_tables

LIST_PATH = "/admin/immunizations/list"
DETAIL_PATTERN = r'href="/admin/immunizations/details/([^"]+)"'  # a row's key, from its link
PAGE_SIZE = 50
COUNT_CAP = 10_000
TEMPLATES = Path(__file__).parent / "templates"


def show(value: Any) -> str:
    """Display text of a cell: dates ISO (without a midnight time), Y/N flags as Yes/No."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class ImmunizationGrid:
    """The two statements of the page, built once."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        t = reflect_tables(engine)
        imm = t["immunizations"]
        staff, student, vaccine = (
            t["staff"].alias("s"),
            t["students"].alias("st"),
            t["vaccines"].alias("v"),
        )
        joined = (
            imm.outerjoin(staff, imm.c.staff_id == staff.c.staff_id)
            .outerjoin(student, imm.c.student_id == student.c.student_id)
            .outerjoin(vaccine, imm.c.vaccine_code == vaccine.c.vaccine_code)
        )
        self.rows = (
            sa.select(
                imm.c.imm_id,
                imm.c.admin_date,
                imm.c.staff_id,
                imm.c.student_id,
                imm.c.vaccine_code,
                imm.c.dose_no,
                imm.c.lot_number,
                imm.c.verified,
                staff.c.last_name.label("staff_last"),
                staff.c.first_name.label("staff_first"),
                staff.c.employee_no,
                student.c.last_name.label("student_last"),
                student.c.first_name.label("student_first"),
                student.c.student_no,
                vaccine.c.vaccine_name,
            )
            .select_from(joined)
            .order_by(imm.c.admin_date.desc(), imm.c.imm_id)
            .limit(sa.bindparam("limit"))
            .offset(sa.bindparam("offset"))
        )
        capped = sa.select(sa.literal(1)).select_from(imm).limit(COUNT_CAP + 1).subquery()
        self.count = sa.select(sa.func.count()).select_from(capped)

    def load(self, page: int) -> tuple[int, list[Any]]:
        """(capped count, rows of the page)."""
        with self.engine.connect() as conn:
            count = conn.execute(self.count).scalar_one()
            rows = conn.execute(
                self.rows, {"limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}
            ).all()
        return count, list(rows)


def create_app(database_url: str | None = None) -> Starlette:
    """The one-page app over one database."""
    url = database_url or os.environ["BENCH_DATABASE_URL"]
    grid = ImmunizationGrid(sa.create_engine(url))
    templates = Jinja2Templates(directory=TEMPLATES)
    templates.env.filters["show"] = show

    async def immunizations(request: Request) -> Response:
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            raise HTTPException(400, "page must be a whole number") from None
        count, rows = await run_in_threadpool(grid.load, page)
        return templates.TemplateResponse(
            request,
            "immunizations.html",
            {
                "rows": rows,
                "page": page,
                "count_text": f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}",
                "has_next": len(rows) == PAGE_SIZE,
            },
        )

    app = Starlette(routes=[Route(LIST_PATH, immunizations)])
    app.state.engine = grid.engine
    return app
