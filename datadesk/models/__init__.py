"""Engine and sessions, schema reflection and its cache, legacy/Oracle type mapping."""

from __future__ import annotations
