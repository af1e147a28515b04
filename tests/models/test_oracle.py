"""Oracle behaviour without an Oracle server: Oracle-typed metadata in, Oracle SQL out."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.orm import joinedload

from datadesk.config.schema import Config
from datadesk.models.catalog import Catalog
from datadesk.models.reflection import build_catalog, find_config_problems

ORACLE = oracle.dialect()


def oracle_metadata() -> sa.MetaData:
    """Tables as SQLAlchemy reflects them from Oracle: lower-case names, Oracle types."""
    md = sa.MetaData()
    sa.Table(
        "dept",
        md,
        sa.Column("dept_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("dept_name", oracle.VARCHAR2(40), nullable=False),
    )
    sa.Table(
        "staff",
        md,
        sa.Column("staff_id", oracle.NUMBER(10, 0), primary_key=True),
        sa.Column("dept_id", oracle.NUMBER(10, 0), sa.ForeignKey("dept.dept_id")),
        sa.Column("supervisor_id", oracle.NUMBER(10, 0), sa.ForeignKey("staff.staff_id")),
        sa.Column("last_name", oracle.VARCHAR2(40), comment="Family name. As on the passport."),
        sa.Column("first_name", oracle.NVARCHAR2(40)),
        sa.Column("salary", oracle.NUMBER(10, 2)),
        sa.Column("grade_points", oracle.NUMBER()),
        sa.Column("hired_on", oracle.DATE()),
        sa.Column("updated_at", oracle.TIMESTAMP(timezone=True)),
        sa.Column("seen_at", oracle.TIMESTAMP(local_timezone=True)),
        sa.Column("active", oracle.CHAR(1), nullable=False),
        sa.Column("on_leave", oracle.NUMBER(1, 0)),
        sa.Column("status", oracle.CHAR(1)),
        sa.Column("badge_code", oracle.CHAR(8)),
        sa.Column("notes", oracle.CLOB()),
        sa.Column("notes_local", oracle.NCLOB()),
        sa.Column("photo", oracle.BLOB()),
        sa.Column("guid", oracle.RAW(16)),
        sa.Column("fingerprint", oracle.RAW(32)),
        sa.Column("ratio", oracle.FLOAT()),
        sa.Column("weight", oracle.BINARY_DOUBLE()),
        sa.Column("height", oracle.BINARY_FLOAT()),
        sa.Column("shift_length", oracle.INTERVAL(day_precision=2, second_precision=6)),
        sa.Column("row_ref", oracle.ROWID()),
        sa.Column("xml_doc", sa.types.NullType()),
        sa.CheckConstraint("ACTIVE IN ('Y','N')"),
        sa.CheckConstraint("on_leave in (1, 0)"),
        sa.CheckConstraint("STATUS IN ('A','I','P')"),
        comment="Members of staff. One row per employment contract.",
    )
    sa.Table(
        "shift_log",  # no primary key at all
        md,
        sa.Column("staff_id", oracle.NUMBER(10, 0)),
        sa.Column("logged_at", oracle.DATE()),
        sa.Column("remark", oracle.CLOB()),
        sa.Column("row_ref", oracle.ROWID()),
    )
    sa.Table(
        "MixedCase",
        md,
        sa.Column("Id", oracle.NUMBER(10, 0), sa.Identity(), primary_key=True),
        sa.Column("SomeValue", oracle.VARCHAR2(10)),
    )
    sa.Table(
        "v_staff",
        md,
        sa.Column("staff_id", oracle.NUMBER(10, 0)),
        sa.Column("dept_name", oracle.VARCHAR2(40)),
    )
    return md


def catalog_for(settings: dict[str, Any] | None = None) -> Catalog:
    """The catalog of the Oracle metadata under a config given as YAML-like data."""
    config = Config.model_validate(settings or {})
    return build_catalog(oracle_metadata(), config, "oracle", views=["v_staff"])


def sql(statement: Any, *, literal: bool = False) -> str:
    """A statement compiled for Oracle, on one line."""
    kwargs = {"literal_binds": True} if literal else {}
    return " ".join(str(statement.compile(dialect=ORACLE, compile_kwargs=kwargs)).split())


def test_oracle_type_map() -> None:
    staff = catalog_for().tables["staff"]
    kinds = {name: col.kind for name, col in staff.columns.items()}
    assert kinds == {
        "staff_id": "integer",
        "dept_id": "integer",
        "supervisor_id": "integer",
        "last_name": "text",
        "first_name": "text",
        "salary": "decimal",
        "grade_points": "number",
        "hired_on": "datetime",
        "updated_at": "datetime",
        "seen_at": "datetime",
        "active": "boolean",
        "on_leave": "boolean",
        "status": "text",
        "badge_code": "text",
        "notes": "long_text",
        "notes_local": "long_text",
        "photo": "binary",
        "guid": "guid",
        "fingerprint": "binary",
        "ratio": "float",
        "weight": "float",
        "height": "float",
        "shift_length": "interval",
        "row_ref": "unsupported",
        "xml_doc": "unsupported",
    }
    cols = staff.columns
    assert (cols["active"].flag_style, cols["on_leave"].flag_style) == ("yn", "01")
    assert cols["status"].flag_style is None and cols["status"].choices == ("A", "I", "P")
    assert (cols["salary"].length, cols["salary"].scale) == (10, 2)
    assert cols["last_name"].length == 40
    assert cols["row_ref"].is_read_only and cols["xml_doc"].is_read_only
    assert not cols["notes"].is_sortable and not cols["row_ref"].is_sortable
    assert not any(c.is_read_only for n, c in cols.items() if n not in {"row_ref", "xml_doc"})
    assert cols["salary"].type_name == "NUMBER(10, 2)"
    assert cols["last_name"].type_name == "VARCHAR2(40 CHAR)"
    assert cols["active"].type_name == "CHAR(1)"


def test_runtime_types_convert_oracle_values() -> None:
    table = catalog_for().tables["staff"].table

    def read(column: str, stored: Any) -> Any:
        impl = table.c[column].type.dialect_impl(ORACLE)
        processor = impl.result_processor(ORACLE, None)
        return processor(stored) if processor else stored

    def write(column: str, value: Any) -> Any:
        impl = table.c[column].type.dialect_impl(ORACLE)
        processor = impl.bind_processor(ORACLE)
        return processor(value) if processor else value

    assert (write("active", True), write("active", False), read("active", "Y")) == ("Y", "N", True)
    assert (write("on_leave", True), write("on_leave", False)) == (1, 0)
    assert read("on_leave", 0) is False
    assert write("last_name", "") is None
    assert read("badge_code", "AB12    ") == "AB12"
    guid = uuid.uuid4()
    assert write("guid", guid) == guid.bytes and read("guid", guid.bytes) == guid
    assert read("grade_points", 0.5) == Decimal("0.5")
    assert isinstance(read("grade_points", 3), Decimal)
    assert read("salary", Decimal("12.5")) == Decimal("12.50")


def test_insert_uses_the_configured_sequence_and_flag_literals() -> None:
    catalog = catalog_for({"tables": {"staff": {"sequence": "STAFF_SEQ"}}})
    staff = catalog.tables["staff"]
    assert staff.sequence == "STAFF_SEQ"
    assert staff.columns["staff_id"].is_generated
    stmt = sa.insert(staff.table).values(
        last_name="Doe", active=True, on_leave=False, badge_code=""
    )
    compiled = sql(stmt)
    assert compiled.startswith(
        "INSERT INTO staff (staff_id, last_name, active, on_leave, badge_code)"
    )
    assert "VALUES (staff_seq.nextval, :last_name, :active, :on_leave, :badge_code)" in compiled
    assert "RETURNING staff.staff_id INTO :ret_0" in compiled
    literal = sql(stmt, literal=True)
    assert "VALUES (staff_seq.nextval, 'Doe', 'Y', 0, NULL)" in literal


def test_schema_qualified_sequence() -> None:
    assert not catalog_for().tables["dept"].columns["dept_id"].is_generated
    catalog = catalog_for({"tables": {"dept": {"sequence": "HR.DEPT_SEQ"}}})
    stmt = sa.insert(catalog.tables["dept"].table).values(dept_name="Surgery")
    assert "VALUES (hr.dept_seq.nextval, :dept_name)" in sql(stmt)


def test_orm_update_binds_flags_as_oracle_values() -> None:
    staff = catalog_for().tables["staff"]
    model = staff.model
    stmt = (
        sa.update(model)
        .where(model.staff_id == 7, model.active.is_(True))
        .values(on_leave=True, active=False, status="")
    )
    assert sql(stmt, literal=True) == (
        "UPDATE staff SET active='N', on_leave=1, status=NULL "
        "WHERE staff.staff_id = 7 AND staff.active = 'Y'"
    )


def test_upper_case_names_are_unquoted_and_mixed_case_quoted() -> None:
    catalog = catalog_for()
    mixed = catalog.tables["mixedcase"]
    assert mixed.db_name == "MixedCase"
    assert list(mixed.columns) == ["id", "somevalue"]
    assert mixed.columns["id"].is_generated  # Oracle identity column
    assert sql(sa.insert(mixed.model).values(somevalue="x")) == (
        'INSERT INTO "MixedCase" ("SomeValue") VALUES (:SomeValue) '
        'RETURNING "MixedCase"."Id" INTO :ret_0'
    )
    assert sql(sa.select(catalog.tables["dept"].model)) == (
        "SELECT dept.dept_id, dept.dept_name FROM dept"
    )


def test_relationships_and_foreign_key_labels() -> None:
    catalog = catalog_for()
    staff = catalog.tables["staff"]
    dept_fk = staff.columns["dept_id"].foreign_key
    boss_fk = staff.columns["supervisor_id"].foreign_key
    assert dept_fk is not None and boss_fk is not None
    assert (dept_fk.target_table, dept_fk.target_column, dept_fk.relationship) == (
        "dept",
        "dept_id",
        "dept",
    )
    assert (boss_fk.target_table, boss_fk.relationship) == ("staff", "supervisor")
    assert staff.columns["dept_id"].label == "Department"
    assert staff.columns["supervisor_id"].label == "Supervisor"
    model = staff.model
    stmt = (
        sa.select(model.staff_id).join(model.dept).where(catalog.tables["dept"].model.dept_id == 1)
    )
    assert "FROM staff JOIN dept ON staff.dept_id = dept.dept_id" in sql(stmt)
    loaded = sql(sa.select(model).options(joinedload(model.supervisor)))
    assert (
        "FROM staff LEFT OUTER JOIN staff staff_1 ON staff.supervisor_id = staff_1.staff_id"
        in loaded
    )
    assert sa.inspect(model).relationships.keys() == ["dept", "supervisor"]


def test_comments_become_labels_and_help() -> None:
    staff = catalog_for().tables["staff"]
    assert (staff.label, staff.label_plural) == ("Members of staff", "Members of staff")
    assert staff.help == "One row per employment contract."
    assert staff.columns["last_name"].label == "Family name"
    assert staff.columns["last_name"].help == "As on the passport."
    assert staff.columns["hired_on"].label == "Hired on"
    configured = catalog_for(
        {"tables": {"staff": {"label": "Employee", "columns": {"last_name": {"label": "Surname"}}}}}
    ).tables["staff"]
    assert (configured.label, configured.label_plural) == ("Employee", "Employees")
    assert configured.columns["last_name"].label == "Surname"
    assert configured.columns["last_name"].help == "As on the passport."


def test_key_less_table_is_read_only_with_an_invented_key() -> None:
    log = catalog_for().tables["shift_log"]
    assert (log.is_read_only, log.has_real_key) == (True, False)
    assert log.primary_key == ("staff_id", "logged_at")  # LOBs and ROWIDs cannot identify rows
    mapper_key = [c.key for c in sa.inspect(log.model).primary_key]
    assert mapper_key == ["staff_id", "logged_at"]
    with_sequence = catalog_for({"tables": {"shift_log": {"sequence": "LOG_SEQ"}}})
    assert with_sequence.tables["shift_log"].sequence is None  # never on an invented key


def test_configured_key_makes_a_key_less_table_editable() -> None:
    catalog = catalog_for({"tables": {"shift_log": {"key": ["STAFF_ID", "LOGGED_AT"]}}})
    log = catalog.tables["shift_log"]
    assert (log.is_read_only, log.has_real_key) == (False, False)
    assert log.primary_key == ("staff_id", "logged_at")
    model = log.model
    when = dt.datetime(2024, 1, 2, 8, 30)
    stmt = sa.update(model).where(model.staff_id == 3, model.logged_at == when).values(remark="")
    assert "UPDATE shift_log SET remark=NULL WHERE shift_log.staff_id = 3" in sql(
        stmt, literal=True
    )


def test_views_stay_read_only_even_with_a_key() -> None:
    view = catalog_for({"tables": {"v_staff": {"key": ["staff_id"]}}}).tables["v_staff"]
    assert (view.is_view, view.is_read_only, view.primary_key) == (True, True, ("staff_id",))
    assert [c.key for c in sa.inspect(view.model).primary_key] == ["staff_id"]


def test_config_flags_override_detection() -> None:
    catalog = catalog_for(
        {
            "tables": {
                "staff": {
                    "columns": {
                        "active": {"flag": "none"},
                        "badge_code": {"flag": "01"},
                        "status": {"flag": "yn"},
                    }
                }
            }
        }
    )
    cols = catalog.tables["staff"].columns
    assert (cols["active"].kind, cols["active"].flag_style) == ("text", None)
    assert (cols["status"].kind, cols["status"].flag_style) == ("boolean", "yn")
    assert (cols["badge_code"].kind, cols["badge_code"].flag_style) == ("text", None)
    problems = find_config_problems(
        Config.model_validate({"tables": {"staff": {"columns": {"badge_code": {"flag": "01"}}}}}),
        catalog,
    )
    assert problems == [
        "tables.staff.columns.badge_code.flag: '01' needs a numeric column, badge_code is CHAR(8)"
    ]


def test_the_given_metadata_is_not_changed() -> None:
    md = oracle_metadata()
    before = {c.key: repr(c.type) for c in md.tables["staff"].columns}
    build_catalog(md, Config(), "oracle")
    again = build_catalog(md, Config(), "oracle")
    assert {c.key: repr(c.type) for c in md.tables["staff"].columns} == before
    assert again.tables["staff"].columns["active"].kind == "boolean"


@pytest.mark.parametrize("name", ["staff", "STAFF", "Staff"])
def test_catalog_lookup_is_case_insensitive(name: str) -> None:
    assert catalog_for().get(name) is not None
