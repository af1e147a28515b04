"""Process settings read from the environment (DATADESK_*); the only reader of os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_CONFIG = PACKAGE_DIR / "demo" / "datadesk.yaml"


def default_var_dir() -> Path:
    """The working directory's ``var/`` folder, where the embedded database and caches live."""
    return Path.cwd() / "var"


@dataclass(frozen=True)
class Settings:
    """Everything the process needs to know from outside, passed explicitly (never global)."""

    database_url: str
    config_path: Path
    var_dir: Path
    secret_key: str = field(default="", repr=False)
    admin_password: str | None = field(default=None, repr=False)
    smtp_password: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    debug: bool = False
    is_demo_database: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read DATADESK_* variables, falling back to the embedded demo."""
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("DATADESK_VAR_DIR") or default_var_dir())
        url = env.get("DATADESK_DATABASE_URL", "").strip()
        is_demo = not url
        if is_demo:
            url = f"sqlite:///{var_dir / 'demo.sqlite3'}"
        config = env.get("DATADESK_CONFIG", "").strip()
        return cls(
            database_url=url,
            config_path=Path(config) if config else DEMO_CONFIG,
            var_dir=var_dir,
            secret_key=env.get("DATADESK_SECRET_KEY", ""),
            admin_password=env.get("DATADESK_ADMIN_PASSWORD") or None,
            smtp_password=env.get("DATADESK_SMTP_PASSWORD", ""),
            host=env.get("DATADESK_HOST", "127.0.0.1"),
            port=int(env.get("DATADESK_PORT", "8000")),
            debug=env.get("DATADESK_DEBUG", "") in {"1", "true", "yes"},
            is_demo_database=is_demo,
        )

    @property
    def cache_dir(self) -> Path:
        """Folder for the on-disk reflection cache."""
        return self.var_dir / "cache"
