"""Every Oracle column type gets a working form field (or stays out of forms when it cannot).

The catalog is built from metadata typed as SQLAlchemy reflects Oracle; the forms are built by
the same view factory and converter the web app uses, then fed submitted values.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.orm import sessionmaker
from starlette.datastructures import FormData

from datadesk.admin_views.model_view import ViewServices, build_model_view
from datadesk.admin_views.reference_cache import ChoiceCache, ReferenceLabels
from datadesk.auth.policy import RolePolicy
from datadesk.config.schema import Config
from datadesk.models.catalog import Catalog
from datadesk.models.records import RecordStore
from datadesk.models.reflection import build_catalog


def oracle_catalog() -> Catalog:
    """One table holding every Oracle type the type map knows, plus ROWID and an unknown."""
    md = sa.MetaData()
    sa.Table(
        "everything",
        md,
        sa.Column("item_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("code", oracle.CHAR(4), nullable=False),
        sa.Column("title", oracle.NVARCHAR2(40)),
        sa.Column("amount", oracle.NUMBER(10, 2)),
        sa.Column("quantity", oracle.NUMBER()),
        sa.Column("taken_on", oracle.DATE()),
        sa.Column("stamped_at", oracle.TIMESTAMP(timezone=True)),
        sa.Column("active", oracle.CHAR(1)),
        sa.Column("urgent", oracle.NUMBER(1, 0)),
        sa.Column("notes", oracle.CLOB()),
        sa.Column("photo", oracle.BLOB()),
        sa.Column("guid", oracle.RAW(16)),
        sa.Column("ratio", oracle.FLOAT()),
        sa.Column("weight", oracle.BINARY_DOUBLE()),
        sa.Column("duration", oracle.INTERVAL(day_precision=2, second_precision=6)),
        sa.Column("row_ref", oracle.ROWID()),
        sa.Column("mystery", sa.types.NullType()),
        sa.CheckConstraint("ACTIVE IN ('Y','N')"),
        sa.CheckConstraint("URGENT IN (0,1)"),
    )
    return build_catalog(md, Config(), "oracle")


def make_form_class(catalog: Catalog, rules_attr: str) -> type:
    """The create or edit form class of the table, as the admin builds it."""
    # No query runs while building this form (no references): an unconnected engine suffices.
    engine = sa.create_engine("oracle+oracledb://user:pw@127.0.0.1:1/?service_name=X")
    records = RecordStore(sessionmaker(bind=engine))
    services = ViewServices(
        catalog,
        Config(),
        records,
        ChoiceCache(records, catalog, 50),
        RolePolicy(Config(), catalog),
        ReferenceLabels(records, 60, 100),
    )
    view_class = build_model_view(catalog.tables["everything"], services)
    view_class.session_maker = records.session_factory
    view = view_class()
    return asyncio.run(view.scaffold_form(getattr(view, rules_attr)))


def test_each_oracle_type_has_the_right_field() -> None:
    form_class = make_form_class(oracle_catalog(), "create_fields")
    form = form_class()
    kinds = {field.name: type(field).__name__ for field in form}
    assert kinds["item_id"] in {"IntegerField", "DecimalField"}  # NUMBER(10) key, not generated
    assert kinds["code"] == "StringField"
    assert kinds["amount"] == "DecimalField"
    assert kinds["quantity"] == "DecimalField"
    assert kinds["taken_on"] == "OptionalDateTimeField"  # Oracle DATE carries a time
    assert kinds["stamped_at"] == "OptionalDateTimeField"
    assert kinds["active"] == "FlagField"
    assert kinds["urgent"] == "FlagField"
    assert kinds["notes"] == "TextAreaField"
    assert kinds["guid"] == "GuidField"
    assert kinds["ratio"] == "FloatField"
    assert kinds["weight"] == "FloatField"
    assert kinds["duration"] == "IntervalField"
    # Binary, ROWID and unknown types are shown on detail pages but never written by a form.
    for name in ("photo", "row_ref", "mystery"):
        assert name not in kinds


def test_oracle_form_parses_submitted_values() -> None:
    form_class = make_form_class(oracle_catalog(), "create_fields")
    guid = uuid.uuid4()
    form = form_class(
        FormData(
            [
                ("item_id", "7"),
                ("code", "AB12"),
                ("title", "Widget"),
                ("amount", "12.50"),
                ("quantity", "3"),
                ("taken_on", "2024-03-01 13:45"),
                ("stamped_at", "2024-03-01"),
                ("active", "y"),
                ("notes", "long text"),
                ("guid", str(guid)),
                ("ratio", "0.25"),
                ("weight", "70.5"),
                ("duration", "2 days, 04:30:00"),
            ]
        )
    )
    assert form.validate(), form.errors
    data = form.data
    assert data["amount"] == Decimal("12.50")
    assert data["taken_on"] == dt.datetime(2024, 3, 1, 13, 45)
    assert data["stamped_at"] == dt.datetime(2024, 3, 1)
    assert data["active"] is True and data["urgent"] is False
    assert data["guid"] == guid
    assert data["duration"] == dt.timedelta(days=2, hours=4, minutes=30)


def test_oracle_form_reports_bad_values_per_field() -> None:
    form_class = make_form_class(oracle_catalog(), "create_fields")
    form = form_class(
        FormData(
            [
                ("item_id", "7"),
                ("code", "TOO LONG"),
                ("guid", "not-a-guid"),
                ("duration", "soon"),
                ("taken_on", "31/02/2024"),
            ]
        )
    )
    assert not form.validate()
    assert set(form.errors) >= {"code", "guid", "duration", "taken_on"}
