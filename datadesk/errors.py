"""The exception tree shared by every layer.

    DatadeskError              (500) base; ``message`` is safe to show to a user
    ├── ConfigError            (500) datadesk.yaml is invalid or does not match the schema
    ├── DatabaseUnavailable    (503) the database cannot be reached or the URL is malformed
    ├── SchemaError            (500) reflection found something it cannot serve
    ├── AccessDenied           (403) the acting user may not do this
    ├── NotFound               (404) no such table or row
    ├── InvalidInput           (400) a request parameter or value is malformed
    ├── WriteRejected          (409) the database refused a write (constraint, length, conflict)
    ├── UnreadableFile         (400) an uploaded workbook cannot be read (format, password, empty)
    ├── FileTooLarge           (413) an upload, or what it unpacks to, exceeds the limits
    ├── TooManyRows            (422) an export would hold more rows than allowed
    ├── Interrupted            (503) a long run was stopped (SIGTERM) before it finished
    └── BackupFailed           (500) a backup could not be written (disk full, not writable)

Row-level problems in imports are values (``RowIssue``), not exceptions.
"""

from __future__ import annotations


class DatadeskError(Exception):
    """Base of all expected errors; carries a one-line message safe for users."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(DatadeskError):
    """The configuration file is invalid; the message names the YAML path of the bad key."""


class DatabaseUnavailable(DatadeskError):
    """The database URL is malformed or the server cannot be reached."""

    status_code = 503


class SchemaError(DatadeskError):
    """The reflected schema contains something that cannot be served."""


class AccessDenied(DatadeskError):
    """The acting user is not allowed to perform the action."""

    status_code = 403


class NotFound(DatadeskError):
    """The table or row does not exist (or is outside the user's scope)."""

    status_code = 404


class InvalidInput(DatadeskError):
    """A parameter or submitted value is malformed."""

    status_code = 400


class WriteRejected(DatadeskError):
    """The database refused a write; the message says which constraint and where."""

    status_code = 409


class UnreadableFile(DatadeskError):
    """An uploaded file cannot be read: wrong or unknown format, password, damaged, empty."""

    status_code = 400


class FileTooLarge(DatadeskError):
    """An upload is larger than allowed, or unpacks to more than allowed (a zip bomb)."""

    status_code = 413


class TooManyRows(DatadeskError):
    """An export or report would hold more rows than the configured cap; nothing is written."""

    status_code = 422


class Interrupted(DatadeskError):
    """A long run (an import) was asked to stop before it finished; nothing was written."""

    status_code = 503


class BackupFailed(DatadeskError):
    """A backup could not be written; no partial backup file is left behind."""
