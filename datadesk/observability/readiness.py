"""Readiness: the database answers, datadesk's own tables are current, the schema still fits.

The database is asked on every check (one trivial query and the migration version); the
comparison with the live schema is repeated every ``monitoring.schema_check_seconds`` only.
A change of verdict is logged once, with the YAML paths of what no longer matches.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from datadesk.config.schema import Config
from datadesk.models.catalog import Catalog
from datadesk.models.engine import check_connection
from datadesk.models.schema_drift import find_schema_drift
from datadesk.models.schema_version import RUN_UPGRADE_HINT, current_revision, head_revision
from datadesk.observability.error_reports import is_database_unavailable, one_line

logger = logging.getLogger("datadesk.readiness")
MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class Readiness:
    """The verdict: ready, or why not."""

    ready: bool
    reason: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        """The /readyz body."""
        if self.ready:
            return {"ready": True}
        body: dict[str, Any] = {"ready": False, "reason": self.reason}
        if self.problems:
            body["problems"] = list(self.problems[:MAX_PROBLEMS_SHOWN])
        return body


class ReadinessCheck:
    """Answers /readyz for one runtime; thread-safe."""

    def __init__(self, engine: sa.Engine, catalog: Catalog, config: Config) -> None:
        self.engine = engine
        self.catalog = catalog
        self.config = config
        self._head = head_revision()
        self._drift: tuple[str, ...] = ()
        self._drift_checked = float("-inf")
        self._last: Readiness | None = None
        self._lock = threading.Lock()

    def check(self) -> Readiness:
        """Ask the database; compare the schema when the last comparison is old."""
        verdict = self._evaluate()
        with self._lock:
            changed = self._last is None or self._last != verdict
            self._last = verdict
        if changed and not verdict.ready:
            logger.error(
                "not ready: %s%s",
                verdict.reason,
                "".join(f"\n  {p}" for p in verdict.problems[:MAX_PROBLEMS_SHOWN]),
                extra={"problems": list(verdict.problems)},
            )
        elif changed:
            logger.info("ready")
        return verdict

    def _evaluate(self) -> Readiness:
        try:
            check_connection(self.engine)
            revision = current_revision(self.engine, self.config.app_tables)
            if revision != self._head:
                return Readiness(
                    False,
                    f"datadesk's own tables are at revision {revision or 'none'}, this version "
                    f"needs {self._head}: {RUN_UPGRADE_HINT}",
                )
            drift = self._schema_drift()
        except Exception as exc:  # any failure to ask is a 'not ready', never a crash
            if is_database_unavailable(exc) or isinstance(exc, sa.exc.SQLAlchemyError):
                return Readiness(False, f"database unreachable: {one_line(exc)}")
            raise
        if drift:
            return Readiness(False, "the schema no longer matches datadesk.yaml", drift)
        return Readiness(True)

    def _schema_drift(self) -> tuple[str, ...]:
        now = time.monotonic()
        with self._lock:
            fresh = now - self._drift_checked < self.config.monitoring.schema_check_seconds
            if fresh:
                return self._drift
        drift = tuple(find_schema_drift(self.engine, self.catalog, self.config))
        with self._lock:
            self._drift, self._drift_checked = drift, now
        return drift
