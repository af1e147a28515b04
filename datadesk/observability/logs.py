"""Process logging: one JSON object per line (production) or readable text, with request context.

Every record gets ``request_id``, ``user`` and ``route`` from the request being served, so a
line logged deep inside an import names the request and the user that caused it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from datadesk.observability.context import current_request

JSON_FIELDS = "%(levelname)s %(name)s %(message)s"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s] %(message)s"
RENAMED = {"levelname": "level", "name": "logger", "exc_info": "traceback"}
# Servers' own loggers are routed through the same handler (no second format in the output).
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "gunicorn.error")
# datadesk writes one access line per request itself (datadesk.access, with the request id and
# user); the server's own access logger stays silent, or every request would be logged twice.
SILENT_LOGGERS = ("uvicorn.access",)
_HANDLER_MARK = "_datadesk_handler"


class RequestContextFilter(logging.Filter):
    """Adds request_id, user and route of the current request to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record (never drops it)."""
        request = current_request.get()
        if request is not None:
            record.request_id = getattr(record, "request_id", None) or request.request_id
            record.user = getattr(record, "user", None) or request.user
            record.route = getattr(record, "route", None) or request.route
        else:
            for name in ("request_id", "user", "route"):
                if not hasattr(record, name):
                    setattr(record, name, None)
        return True


class DatadeskJsonFormatter(JsonFormatter):
    """JSON lines: timestamp, level, logger, message, then the context and extra fields set."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Leave out fields without a value (no request outside requests)."""
        return {key: value for key, value in log_data.items() if value is not None}


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def build_formatter(log_format: str) -> logging.Formatter:
    """The JSON or text formatter."""
    if log_format == "json":
        return DatadeskJsonFormatter(
            JSON_FIELDS, rename_fields=RENAMED, timestamp=True, json_ensure_ascii=False
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(log_format: str = "text", level: str = "INFO") -> logging.Handler:
    """Install (or replace) datadesk's handler on the root logger; idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(build_formatter(log_format))
    handler.addFilter(RequestContextFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    for name in SILENT_LOGGERS:
        silent = logging.getLogger(name)
        silent.handlers.clear()
        silent.propagate = False
    return handler
