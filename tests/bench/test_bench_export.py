"""The export benchmark writes the same cells with every writer, on a tiny demo database.

No timing is asserted: only that what is compared is comparable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bench import export_children

ROWS = 120


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bench-export")
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    export_children.CHILDREN["prepare"]({"url": url, "rows": ROWS})
    return {"url": url, "var": str(folder)}


def values(path: Path) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(path).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("kind", ["xlsxwriter", "openpyxl", "datadesk"])
def test_writers_write_the_cells_of_the_datadesk_writer(
    spec: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    mine = tmp_path / "mine.xlsx"
    theirs = tmp_path / "theirs.xlsx"
    result = export_children.CHILDREN["datadesk_writer"]({**spec, "out": str(mine)})
    assert result["rows"] == ROWS and result["write_seconds"] > 0
    other = export_children.CHILDREN[kind]({**spec, "out": str(theirs)})
    assert other["rows"] == ROWS
    expected, got = values(mine), values(theirs)
    assert len(expected) == ROWS + 1 and got == expected
    formats = [c.number_format for c in openpyxl.load_workbook(theirs).worksheets[0][2]]
    assert formats == [c.number_format for c in openpyxl.load_workbook(mine).worksheets[0][2]]
