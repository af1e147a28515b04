"""Unhandled errors: logged with their context and traceback, e-mailed to the administrators.

Mail is sent from one background thread (never on the request path) and rate-limited: one
message per distinct error (exception type and the place it was raised) per
``monitoring.error_mail_interval_minutes``, and at most ``monitoring.error_mail_max_per_hour``
messages per process in any hour.  The traceback stays in the log; the mail names the request
id to find it there.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from datadesk.config.monitoring import MonitoringConfig
from datadesk.errors import DatabaseUnavailable, DatadeskError
from datadesk.mailer import Mailer
from datadesk.observability import metrics

logger = logging.getLogger("datadesk.errors")
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
MAX_FINGERPRINTS = 1000  # distinct errors remembered for rate limiting
QUEUE_LIMIT = 100  # mails waiting to be sent; more are dropped (and counted in the log)


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be reached (answer 503, not 500).

    A driver error counts when SQLAlchemy saw the connection drop, or when it came from
    connecting (no statement); a failing statement on a live connection (SQLite's "no such
    column" is also an OperationalError) is a plain error.
    """
    if isinstance(exc, DatabaseUnavailable | sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or exc.statement is None
    return False


def fingerprint(exc: BaseException) -> str:
    """What makes two errors 'the same': type and the innermost datadesk frame (else the last)."""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    own = [f for f in frames if f.filename.startswith(PACKAGE_ROOT)]
    chosen = own or frames
    where = f"{Path(chosen[-1].filename).name}:{chosen[-1].lineno}" if chosen else "?"
    return f"{type(exc).__module__}.{type(exc).__qualname__} at {where}"


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The exception's message on one line (a DBAPI error without its SQL)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original) if not isinstance(exc, DatadeskError) else exc.message
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (first or type(exc).__name__)[:limit]


@dataclass(frozen=True)
class _Mail:
    subject: str
    body: str


class ErrorReporter:
    """Logs unhandled errors and mails them to the administrators, rate-limited."""

    def __init__(
        self,
        mailer: Mailer | None,
        config: MonitoringConfig,
        *,
        app_title: str = "datadesk",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mailer = mailer
        self.config = config
        self.app_title = app_title
        self.clock = clock
        self._last_sent: OrderedDict[str, float] = OrderedDict()
        self._sent_times: deque[float] = deque()
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Mail] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._thread: threading.Thread | None = None

    @property
    def mails_enabled(self) -> bool:
        """Whether errors are mailed: SMTP configured and recipients listed."""
        return bool(
            self.mailer is not None and self.mailer.is_configured and self.config.error_mail_to
        )

    def report(self, exc: BaseException, context: Mapping[str, Any]) -> str:
        """Log one unhandled error with its context; queue a mail when allowed. Its kind."""
        print_ = fingerprint(exc)
        kind = "database_unavailable" if is_database_unavailable(exc) else "error"
        metrics.UNHANDLED_ERRORS.labels(kind).inc()
        extra = {"error": print_, **{k: v for k, v in context.items() if v is not None}}
        if kind == "database_unavailable":
            # An outage fails every request the same way: one line each, no traceback flood.
            logger.error("database unavailable: %s", one_line(exc), extra=extra)
        else:
            logger.error(
                "unhandled %s: %s", type(exc).__name__, one_line(exc), exc_info=exc, extra=extra
            )
        if self.mails_enabled and self._may_send(print_):
            self._enqueue(self._mail(exc, print_, kind, context))
        return kind

    def _may_send(self, print_: str) -> bool:
        """Rate limits: once per distinct error per interval, and a cap per hour."""
        now = self.clock()
        interval = self.config.error_mail_interval_minutes * 60
        with self._lock:
            last = self._last_sent.get(print_)
            if last is not None and now - last < interval:
                return False
            while self._sent_times and now - self._sent_times[0] >= 3600:
                self._sent_times.popleft()
            if len(self._sent_times) >= self.config.error_mail_max_per_hour:
                return False
            self._sent_times.append(now)
            self._last_sent[print_] = now
            self._last_sent.move_to_end(print_)
            while len(self._last_sent) > MAX_FINGERPRINTS:
                self._last_sent.popitem(last=False)
        return True

    def _mail(
        self, exc: BaseException, print_: str, kind: str, context: Mapping[str, Any]
    ) -> _Mail:
        what = "database unavailable" if kind == "database_unavailable" else type(exc).__name__
        subject = f"[{self.app_title}] {what}: {one_line(exc, 120)}"
        lines = [
            f"{self.app_title} could not answer a request.",
            "",
            f"error:      {type(exc).__name__}: {one_line(exc)}",
            f"where:      {print_}",
        ]
        lines += [f"{key + ':':<11} {value}" for key, value in context.items() if value]
        interval = self.config.error_mail_interval_minutes
        lines += [
            "",
            "The full traceback is in the application log under this request id.",
            f"The same error is mailed at most once every {interval:g} minutes, and at most "
            f"{self.config.error_mail_max_per_hour} error mails are sent per hour.",
        ]
        return _Mail(subject, "\n".join(lines))

    def _enqueue(self, mail: _Mail) -> None:
        try:
            self._queue.put_nowait(mail)
        except queue.Full:
            logger.warning("error mail dropped: %d mails are waiting already", QUEUE_LIMIT)
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._send_loop, name="datadesk-error-mail", daemon=True
                )
                self._thread.start()

    def _send_loop(self) -> None:
        while True:
            mail = self._queue.get()
            try:
                assert self.mailer is not None
                self.mailer.send(self.config.error_mail_to, mail.subject, mail.body)
            except Exception as exc:  # a failing relay must not take the reporter down
                logger.warning("could not send error mail: %s", one_line(exc))
            finally:
                self._queue.task_done()

    def wait_sent(self, timeout: float = 30.0) -> bool:
        """Block until queued mails are sent (for shutdown and tests); False on timeout."""
        done = self._queue.all_tasks_done
        with done:
            return done.wait_for(lambda: not self._queue.unfinished_tasks, timeout)
