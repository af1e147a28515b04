"""The low-code configuration file: schema, loader and cross-check against the database."""

from __future__ import annotations

from datadesk.config.loader import load_config, parse_config
from datadesk.config.schema import AppConfig, ColumnConfig, Config, DatabaseConfig, TableConfig

__all__ = [
    "AppConfig",
    "ColumnConfig",
    "Config",
    "DatabaseConfig",
    "TableConfig",
    "load_config",
    "parse_config",
]
