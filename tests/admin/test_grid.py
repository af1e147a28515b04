"""The generated grid over the demo: list, search, filter, sort, paginate, capped counts."""

from __future__ import annotations

import re

import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.admin.conftest import DEMO_IMMUNIZATIONS, cell_texts


def data_rows(html: str) -> list[str]:
    """The <tr> blocks of the grid body."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_index_lists_every_table_in_the_menu(client: TestClient) -> None:
    page = client.get("/admin/")
    assert page.status_code == 200
    for label in ("Staff", "Immunizations", "Departments", "Certifications"):
        assert f">{label}<" in page.text


def test_root_redirects_to_admin(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/admin/"


def test_list_shows_a_page_of_rows_with_reference_labels(
    client: TestClient, demo_db_url: str
) -> None:
    page = client.get("/admin/immunizations/list")
    assert page.status_code == 200
    rows = data_rows(page.text)
    assert len(rows) == 50
    assert f"({DEMO_IMMUNIZATIONS:,} rows)" in page.text
    # The vaccine reference is shown by its label and links to the vaccine's page.
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT VACCINE_NAME FROM VACCINES")}
    engine.dispose()
    assert any(name in page.text for name in names)
    assert re.search(r'href="[^"]*/admin/vaccines/details/[A-Z0-9]+"', page.text)


def test_pages_do_not_overlap_and_out_of_range_page_redirects(client: TestClient) -> None:
    first = data_rows(client.get("/admin/immunizations/list?sort=imm_id").text)
    second = data_rows(client.get("/admin/immunizations/list?sort=imm_id&page=2").text)
    assert first and second and not set(first) & set(second)
    far = client.get("/admin/immunizations/list?page=999999")
    assert far.status_code == 302
    assert "page=60" in far.headers["location"]


def test_search_is_case_insensitive(client: TestClient, demo_db_url: str) -> None:
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT LAST_NAME FROM STAFF ORDER BY STAFF_ID").first()[0]
    engine.dispose()
    page = client.get("/admin/staff/list", params={"search": last.upper(), "page_size": 200})
    assert page.status_code == 200
    rows = data_rows(page.text)
    assert rows
    assert all(last.lower() in row.lower() for row in rows)


def test_search_treats_like_wildcards_literally(client: TestClient) -> None:
    page = client.get("/admin/staff/list", params={"search": "%"})
    assert page.status_code == 200
    assert "No rows match." in page.text


def test_sort_both_ways_and_reject_unknown_columns(client: TestClient) -> None:
    asc = cell_texts(client.get("/admin/departments/list?sort=dept_name&page_size=200").text)
    desc = cell_texts(client.get("/admin/departments/list?sort=-dept_name&page_size=200").text)
    assert asc and desc and asc != desc
    bad = client.get("/admin/departments/list?sort=no_such_column")
    assert bad.status_code == 400
    assert "cannot sort by" in bad.text
    assert "Traceback" not in bad.text


def test_flag_filter_selects_only_matching_rows(client: TestClient, demo_db_url: str) -> None:
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        verified = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM IMMUNIZATIONS WHERE VERIFIED = 'Y'"
        ).scalar_one()
    engine.dispose()
    page = client.get("/admin/immunizations/list", params={"f.verified": "1"})
    assert page.status_code == 200
    assert f"({verified:,} rows)" in page.text


def test_bad_filter_value_is_a_clear_400(client: TestClient) -> None:
    page = client.get("/admin/immunizations/list", params={"f.admin_date.from": "yesterday"})
    assert page.status_code == 400
    assert "not a valid" in page.text
    unknown = client.get("/admin/immunizations/list", params={"f.nothing": "1"})
    assert unknown.status_code == 400


def test_date_range_filter(client: TestClient, demo_db_url: str) -> None:
    engine = sa.create_engine(demo_db_url)
    with engine.connect() as conn:
        expected = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM IMMUNIZATIONS WHERE ADMIN_DATE >= :a AND ADMIN_DATE < :b"
            ),
            {"a": "2024-01-01", "b": "2025-01-01"},
        ).scalar_one()
    engine.dispose()
    page = client.get(
        "/admin/immunizations/list",
        params={"f.admin_date.from": "2024-01-01", "f.admin_date.to": "2024-12-31"},
    )
    assert page.status_code == 200
    assert f"({expected:,} rows)" in page.text


def test_views_and_keyless_tables_are_listed_read_only(client: TestClient) -> None:
    for identity in ("v_staff_directory", "legacy_access_log"):
        page = client.get(f"/admin/{identity}/list")
        assert page.status_code == 200, identity
        assert data_rows(page.text)
        assert "/edit/" not in page.text
        assert "Delete selected" not in page.text
        assert client.get(f"/admin/{identity}/create").status_code == 403
