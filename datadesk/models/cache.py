"""On-disk cache of reflection results: a 500-table schema starts without re-reading the dictionary.

One pickle file per (database URL without password, schema, include/exclude, views, versions).
The cache only holds what the database said; the Catalog is rebuilt from it and the current
config on every start.  A missing, corrupt or stale file is ignored and rewritten.  The folder
belongs to the service (``var/cache``): pickles are only ever read from there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

import datadesk
from datadesk.config.schema import DatabaseConfig
from datadesk.models.collector import collector_paused

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
FILE_PREFIX = "reflection-"


def cache_key(url: URL, database: DatabaseConfig) -> str:
    """A stable hash of everything that decides what reflection returns (never the password)."""
    parts = {
        "format": CACHE_FORMAT,
        "url": url.render_as_string(hide_password=True),
        "schema": database.schema_name,
        "include": sorted(p.lower() for p in database.include),
        "exclude": sorted(p.lower() for p in database.exclude),
        "include_views": database.include_views,
        "datadesk": datadesk.__version__,
        "sqlalchemy": sa.__version__,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
    text = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class ReflectionCache:
    """The cache file of one database and reflection setting."""

    def __init__(self, folder: Path, url: URL, database: DatabaseConfig) -> None:
        self.key = cache_key(url, database)
        self.path = Path(folder) / f"{FILE_PREFIX}{self.key[:24]}.pickle"

    def load(self) -> Any | None:
        """The cached payload, or None when missing, unreadable or written for another key."""
        try:
            with self.path.open("rb") as handle, collector_paused():
                stored = pickle.load(handle)
        except FileNotFoundError:
            return None
        except Exception as error:  # a corrupt or incompatible file is simply replaced
            log.warning("ignoring unreadable reflection cache %s: %s", self.path, error)
            return None
        if not isinstance(stored, dict) or stored.get("key") != self.key:
            log.warning("ignoring stale reflection cache %s", self.path)
            return None
        log.info("reflection loaded from cache %s", self.path)
        return stored.get("payload")

    def store(self, payload: Any) -> bool:
        """Write the payload atomically; False (and a log line) when the folder is not writable."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=FILE_PREFIX, suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(
                        {"key": self.key, "payload": payload}, handle, pickle.HIGHEST_PROTOCOL
                    )
                os.replace(temp, self.path)
            finally:
                if os.path.exists(temp):
                    os.unlink(temp)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as error:
            log.warning("cannot write reflection cache %s: %s", self.path, error)
            return False
        return True

    def clear(self) -> None:
        """Remove the cache file if there is one."""
        self.path.unlink(missing_ok=True)
