"""The ``cache`` section of ``datadesk.yaml``: bounds of the in-process caches."""

from __future__ import annotations

from pydantic import Field

from datadesk.config.base import StrictModel


class CacheConfig(StrictModel):
    """In-process caches of drop-down choices, row labels and report parameter choices."""

    ttl_seconds: float = Field(default=60, ge=0)
    """Longest time a cached entry is reused: the staleness bound for writes made outside this
    node (another node, a DBA, a batch job); writes through the node drop entries at once."""
    max_entries: int = Field(default=2048, ge=16)
    """Most entries each cache keeps; the least recently used go first."""
