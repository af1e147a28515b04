"""datadesk: a generated admin and data application over an existing relational schema."""

from __future__ import annotations

__version__ = "0.1.0"
