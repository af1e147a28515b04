"""Process settings read from the environment (DATADESK_*); the only reader of os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from datadesk.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_CONFIG = PACKAGE_DIR / "demo" / "datadesk.yaml"
ENVIRONMENTS = ("development", "production")
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_SECRET_KEY_CHARS = 32


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
    environment: str = "development"
    log_format: str = "text"
    log_level: str = "INFO"
    command_log_level: str = "WARNING"
    metrics_token: str = field(default="", repr=False)
    metrics_dir: str = ""
    workers: int | None = None
    graceful_timeout: int = 60
    max_concurrency: int | None = None

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
        environment = _choice(env, "DATADESK_ENV", ENVIRONMENTS, "development")
        log_format = "json" if environment == "production" else "text"
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
            environment=environment,
            log_format=_choice(env, "DATADESK_LOG_FORMAT", LOG_FORMATS, log_format),
            log_level=_choice(env, "DATADESK_LOG_LEVEL", LOG_LEVELS, "INFO"),
            # Commands other than serve print only warnings unless a level is asked for.
            command_log_level=_choice(env, "DATADESK_LOG_LEVEL", LOG_LEVELS, "WARNING"),
            metrics_token=env.get("DATADESK_METRICS_TOKEN", "").strip(),
            # Set by the production server runner: one folder of metric files per start,
            # shared by its worker processes (prometheus-client's multiprocess mode).
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR", "").strip(),
            workers=_count(env, "DATADESK_WORKERS", None),
            graceful_timeout=_count(env, "DATADESK_GRACEFUL_TIMEOUT", 60) or 60,
            max_concurrency=_count(env, "DATADESK_MAX_CONCURRENCY", None),
        )

    @property
    def is_production(self) -> bool:
        """Whether DATADESK_ENV=production: stricter startup checks, JSON logs, no debug."""
        return self.environment == "production"

    def require_production_ready(self) -> None:
        """ConfigError naming the variable when production mode lacks what it needs."""
        if not self.is_production:
            return
        if not self.secret_key:
            raise ConfigError(
                "DATADESK_ENV=production needs DATADESK_SECRET_KEY: set it to the same long "
                "random string on every node (e.g. `python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)"
            )
        if len(self.secret_key) < MIN_SECRET_KEY_CHARS:
            raise ConfigError(
                f"DATADESK_SECRET_KEY is {len(self.secret_key)} characters long; production "
                f"needs at least {MIN_SECRET_KEY_CHARS}"
            )
        if self.debug:
            raise ConfigError("DATADESK_DEBUG must be off when DATADESK_ENV=production")

    @property
    def cache_dir(self) -> Path:
        """Folder for the on-disk reflection cache."""
        return self.var_dir / "cache"


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    """One of ``allowed`` (case-insensitive) from the environment; ConfigError otherwise."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    for value in allowed:
        if raw.lower() == value.lower():
            return value
    raise ConfigError(f"{name}={raw[:40]!r} is not one of {', '.join(allowed)}")


def _count(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    """A whole number of at least 1 from the environment; ConfigError otherwise."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw[:40]!r} is not a whole number of at least 1")
    return int(raw)
