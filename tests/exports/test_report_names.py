"""Report names: part of the report's address, so they must not hide a table's own pages."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from datadesk.config.loader import parse_config
from datadesk.exports.reports_spec import resolve_reports
from datadesk.models.reflection import reflect_catalog

CONFIG = """\
reports:
  list:
    title: Every report
    table: reports
    sheets: [{name: Reports, columns: [title]}]
  weekly:
    title: Weekly
    table: reports
    sheets: [{name: Reports, columns: [title]}]
"""


def test_a_table_called_reports_keeps_its_pages(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE REPORTS (ID INTEGER PRIMARY KEY, TITLE VARCHAR(40))")
    config = parse_config(CONFIG)
    catalog = reflect_catalog(engine, config, cache_dir=None)
    engine.dispose()
    specs, problems = resolve_reports(config, catalog)
    assert list(specs) == ["weekly"]
    assert problems == [
        "reports.list: the table 'reports' has a page at /reports/list already;"
        " give the report another name"
    ]
