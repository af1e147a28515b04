"""Baseline: a plain sqladmin ModelView over IMMUNIZATIONS, as its documentation builds one.

Declarative classes over reflected tables (attributes named as the database names the columns),
many-to-one relationships for the three references, ``__str__`` giving each referenced row the
label datadesk shows, the same eight list columns, page size 50 and the same default order.
No datadesk code.

Serve: ``BENCH_DATABASE_URL=... uvicorn --factory bench.plain_sqladmin:create_app``.
Page: ``/admin/immunization/list``.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from sqladmin import Admin, ModelView
from sqlalchemy.orm import DeclarativeBase, relationship
from starlette.applications import Starlette

from bench.tables import column_name, reflect_tables

LIST_PATH = "/admin/immunization/list"
DETAIL_PATTERN = r'/admin/immunization/details/([^"]+)"'  # a row's key, from its details link


def _labeller(*names: str) -> Any:
    """A ``__str__`` rendering 'Last, First (No)' or a single name from the given attributes."""

    def label(self: Any) -> str:
        values = [getattr(self, name) for name in names]
        if len(values) == 1:
            return str(values[0])
        return f"{values[0]}, {values[1]} ({values[2]})"

    return label


def create_app(database_url: str | None = None) -> Starlette:
    """The Starlette app with sqladmin mounted at /admin over one database."""
    url = database_url or os.environ["BENCH_DATABASE_URL"]
    engine = sa.create_engine(url)
    tables = reflect_tables(engine, lower_keys=False)
    imm, staff, students, vaccines = (
        tables[n] for n in ("immunizations", "staff", "students", "vaccines")
    )

    class Base(DeclarativeBase):
        pass

    class Vaccine(Base):
        __table__ = vaccines
        __str__ = _labeller(column_name(vaccines, "vaccine_name"))

    class Staff(Base):
        __table__ = staff
        __str__ = _labeller(
            *(column_name(staff, n) for n in ("last_name", "first_name", "employee_no"))
        )

    class Student(Base):
        __table__ = students
        __str__ = _labeller(
            *(column_name(students, n) for n in ("last_name", "first_name", "student_no"))
        )

    class Immunization(Base):
        __table__ = imm
        staff = relationship(Staff)
        student = relationship(Student)
        vaccine = relationship(Vaccine)

    def col(name: str) -> str:
        return column_name(imm, name)

    class ImmunizationAdmin(ModelView, model=Immunization):
        page_size = 50
        column_list = [
            col("imm_id"),
            col("admin_date"),
            "staff",
            "student",
            "vaccine",
            col("dose_no"),
            col("lot_number"),
            col("verified"),
        ]
        column_default_sort = [(col("admin_date"), True), (col("imm_id"), False)]

    app = Starlette()
    app.state.engine = engine
    admin = Admin(app, engine, title="Plain sqladmin")
    admin.add_view(ImmunizationAdmin)
    return app
