"""What an import did, or would do: counts, problems, notices and the first changes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from datadesk.importers.sheet import CellProblem
from datadesk.models.audit import jsonable


@dataclass(frozen=True)
class RowChange:
    """One planned or made change, for the preview page."""

    row: int  # Excel row number
    action: str  # insert or update
    key: str
    changes: dict[str, list[Any]]  # column label -> [before, after]


@dataclass
class ImportReport:
    """What an import did (or, for a preview, would do)."""

    table: str
    sheet_name: str
    header_row: int
    headings: list[str]
    mapping: dict[str, str]  # target column -> sheet heading
    committed: bool = False
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    error_rows: int = 0
    problem_count: int = 0
    problems: list[CellProblem] = field(default_factory=list)
    samples: list[RowChange] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    message: str = ""  # a problem with the whole file or the commit, if any
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        """Whether every row can be (or was) written."""
        return not self.problem_count and not self.message

    def as_json(self, limit: int = 500) -> str:
        """The report for the job page: counts, notices, the first problems and changes."""
        return json.dumps(
            {
                "sheet_name": self.sheet_name,
                "header_row": self.header_row,
                "headings": self.headings,
                "mapping": self.mapping,
                "notices": self.notices,
                "problems": [
                    [p.row, p.column, p.heading, jsonable(p.value), p.message]
                    for p in self.problems[:limit]
                ],
                "samples": [[s.row, s.action, s.key, s.changes] for s in self.samples],
            },
            ensure_ascii=False,
        )
