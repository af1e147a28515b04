"""Named reports as a service the web pages and the CLI share: list, check, read the form,
write the workbook.

A report is written to a file the caller names (a temporary file for the web, a file next to
the CLI's output); the file is complete only when ``write`` returns. On any error (too many
rows, a database error) the caller deletes it: a partial file is never served or mailed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from datadesk.auth.actor import Actor
from datadesk.auth.policy import RolePolicy
from datadesk.config.loader import cross_check_error
from datadesk.config.schema import Config
from datadesk.errors import AccessDenied, NotFound, TooManyRows
from datadesk.exports.reports_choices import ReportChoices
from datadesk.exports.reports_filters import RunValues
from datadesk.exports.reports_params import ParameterSpec, ParameterValues, parse_values
from datadesk.exports.reports_query import ReportQuery, SheetPlan
from datadesk.exports.reports_spec import ReportSpec, find_report_problems, resolve_reports
from datadesk.exports.xlsx import XlsxWorkbook
from datadesk.models.catalog import Catalog
from datadesk.observability import metrics

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
logger = logging.getLogger("datadesk.reports")


def open_reports(
    config_path: str | os.PathLike[str],
    config: Config,
    engine: sa.Engine,
    catalog: Catalog,
    policy: RolePolicy,
) -> ReportService:
    """The report service, after checking the reports against the schema and the roles."""
    problems = find_report_problems(config, catalog, policy)
    if problems:
        raise cross_check_error(Path(config_path), problems)
    choices = ReportChoices(
        engine,
        catalog,
        policy,
        config.app.select_limit,
        size=config.cache.max_entries,
        seconds=config.cache.ttl_seconds,
    )
    return ReportService(engine, catalog, policy, config, choices)


@dataclass(frozen=True)
class SheetResult:
    """What one written sheet holds."""

    name: str
    rows: int
    left_out: tuple[str, ...]


@dataclass(frozen=True)
class ReportResult:
    """A written report: for the download's name, the CLI's summary and the e-mail."""

    spec: ReportSpec
    file_name: str
    parameters: tuple[tuple[str, str], ...]
    generated_by: str
    generated_at: str
    sheets: tuple[SheetResult, ...]

    def summary(self) -> str:
        """One line: the sheets and their rows."""
        parts = ", ".join(f"{s.name}: {s.rows:,} rows" for s in self.sheets)
        return f"{self.spec.title} ({parts})"

    def message(self) -> str:
        """The text of the e-mail a report is sent with."""
        lines = [self.spec.title, ""]
        if self.spec.description:
            lines += [self.spec.description, ""]
        lines += [f"{label}: {text}" for label, text in self.parameters]
        lines.append(f"Generated {self.generated_at} by {self.generated_by}.")
        lines.append("")
        lines += [f"Sheet {s.name}: {s.rows:,} rows" for s in self.sheets]
        left_out = sorted({label for s in self.sheets for label in s.left_out})
        if left_out:
            lines.append(f"Not shown to {self.generated_by}: {', '.join(left_out)}.")
        lines += ["", f"The workbook is attached: {self.file_name}"]
        return "\n".join(lines) + "\n"


class ReportService:
    """The configured reports over one database, for any actor allowed to run them."""

    def __init__(
        self,
        engine: sa.Engine,
        catalog: Catalog,
        policy: RolePolicy,
        config: Config,
        choices: ReportChoices,
        *,
        today: Callable[[], dt.date] = dt.date.today,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now().astimezone(),
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.policy = policy
        self.settings = config.exports
        self.choices = choices
        self.today = today
        self.now = now
        self.specs, _ = resolve_reports(config, catalog)  # problems were refused at start

    def available(self, actor: Actor) -> list[ReportSpec]:
        """The reports the actor may run, in config order."""
        return [spec for spec in self.specs.values() if self._may_run(actor, spec)]

    def get(self, name: str) -> ReportSpec:
        """The report called ``name``; NotFound naming the reports there are."""
        spec = self.specs.get(name)
        if spec is None:
            known = ", ".join(self.specs) or "none are configured"
            raise NotFound(f"no report '{name[:60]}' (reports: {known})")
        return spec

    def require(self, actor: Actor, spec: ReportSpec) -> None:
        """AccessDenied unless the actor may run the report."""
        if not spec.may_run(actor):
            raise AccessDenied(f"you may not run the report '{spec.title}'")
        if not self.policy.access(actor, spec.table.name).can("export"):
            raise AccessDenied(f"you may not export {spec.table.label_plural}, which it reads")

    def options(self, parameter: ParameterSpec, actor: Actor) -> list[tuple[Any, str]] | None:
        """A choice's (value, label) options for the actor; None: too many, type the value."""
        if parameter.options is not None:
            return [(option, str(option)) for option in parameter.options]
        return self.choices.options(parameter, actor)

    def read_parameters(
        self, spec: ReportSpec, actor: Actor, raw: Mapping[str, str]
    ) -> ParameterValues:
        """Typed parameter values; ParameterProblems naming each field that is wrong."""
        return parse_values(
            spec.parameters,
            raw,
            self.today(),
            lambda parameter, text: self.choices.find(parameter, actor, text),
        )

    def file_name(self, spec: ReportSpec) -> str:
        """The download's name, e.g. ``headcount-2026-12-04.xlsx``."""
        return f"{spec.name}-{self.today().isoformat()}.xlsx"

    def temp_path(self, spec: ReportSpec) -> Path:
        """A new empty temporary file for a workbook (exports.temp_dir, else the system's)."""
        handle, name = tempfile.mkstemp(
            prefix=f"datadesk-{spec.name}-", suffix=".xlsx", dir=self.settings.temp_dir
        )
        os.close(handle)
        return Path(name)

    def write(
        self,
        spec: ReportSpec,
        actor: Actor,
        values: ParameterValues,
        target: str | os.PathLike[str] | IO[bytes],
    ) -> ReportResult:
        """Write the workbook to ``target``; TooManyRows when a sheet exceeds the cap."""
        self.require(actor, spec)
        started = time.perf_counter()
        cap = self.settings.max_rows
        query = ReportQuery(spec, self.catalog, self.policy, actor)
        run = RunValues(values.values, self.today(), actor.attributes)
        plans = [query.plan(sheet, run, limit=cap + 1) for sheet in spec.sheets]
        shown = [plan for plan in plans if plan.columns]
        if not shown:
            raise AccessDenied(f"none of the columns of '{spec.title}' is visible to you")
        generated_at = self.now().strftime("%Y-%m-%d %H:%M %Z").strip()
        skipped = [plan.sheet.name for plan in plans if not plan.columns]
        results = []
        with (
            metrics.export_observed("report"),
            self.engine.connect() as conn,
            XlsxWorkbook(
                target,
                title=spec.title,
                author=actor.username,
                subject=spec.description or "",
                temp_dir=self.settings.temp_dir,
            ) as book,
        ):
            for plan in shown:
                preamble = _preamble(spec, values, actor, generated_at, plan, skipped)
                rows = self._write_sheet(conn, book, plan, preamble, cap, spec)
                results.append(SheetResult(plan.sheet.name, rows, plan.left_out))
        logger.info(
            "report user=%s name=%s rows=%s seconds=%.2f",
            actor.username,
            spec.name,
            ",".join(str(result.rows) for result in results),
            time.perf_counter() - started,
        )
        return ReportResult(
            spec,
            self.file_name(spec),
            values.shown,
            actor.username,
            generated_at,
            tuple(results),
        )

    def _write_sheet(
        self,
        conn: sa.Connection,
        book: XlsxWorkbook,
        plan: SheetPlan,
        preamble: Sequence[str],
        cap: int,
        spec: ReportSpec,
    ) -> int:
        fixed: dict[str, Any] = {}
        if plan.overall is not None:
            fixed = dict(conn.execute(plan.overall).mappings().one())
        sheet = book.add_sheet(
            plan.sheet.name,
            [c.export for c in plan.columns],
            preamble=preamble,
            totals={
                c.export.name: c.total
                for c in plan.columns
                if plan.sheet.totals and c.total is not None and c.total != "overall"
            },
            total_values=fixed,
        )
        result = conn.execution_options(yield_per=self.settings.fetch_rows).execute(plan.rows)
        for row in result:
            if sheet.rows_written >= cap:
                result.close()
                raise TooManyRows(
                    f"the sheet '{plan.sheet.name}' of '{spec.title}' would hold more than"
                    f" {cap:,} rows (exports.max_rows); choose narrower parameters"
                )
            sheet.write_row(row)
        return sheet.rows_written

    def _may_run(self, actor: Actor, spec: ReportSpec) -> bool:
        return spec.may_run(actor) and self.policy.access(actor, spec.table.name).can("export")


def _preamble(
    spec: ReportSpec,
    values: ParameterValues,
    actor: Actor,
    generated_at: str,
    plan: SheetPlan,
    skipped: Sequence[str],
) -> list[str]:
    """Title, parameters, when and by whom, and what the user was not shown."""
    lines = [spec.title]
    lines += [f"{label}: {text}" for label, text in values.shown]
    lines.append(f"Generated {generated_at} by {actor.username}")
    if plan.left_out:
        lines.append(f"Not shown (hidden from you): {', '.join(plan.left_out)}")
    if skipped:
        lines.append(f"Sheets left out (no column visible to you): {', '.join(skipped)}")
    return lines
