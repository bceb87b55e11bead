"""Settings loaded once from the environment.

`load_settings(environ)` is the only entry point; it takes a mapping so tests pass a plain dict.
Every value is validated up front: a bad value raises `ConfigError` with a one-line explanation,
which the entry points print before exiting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

__all__ = ["ConfigError", "Settings", "load_settings"]

from acx.apikeys import TOKEN_PREFIX


class ConfigError(Exception):
    """Invalid configuration; the message is one line meant for the operator."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Runtime configuration shared by the gateway, the converter and the dev runner."""

    database_url: str | None = None
    redis_url: str | None = None
    root_api_bearer_token: str = "your-root-api-bearer-token"  # noqa: S105 - documented default
    secret_pepper: str = "your-secret-pepper"  # noqa: S105 - documented default
    host: str = "127.0.0.1"
    port: int = 8029
    data_dir: Path = Path(".data")
    db_pool_min: int = 2
    db_pool_max: int = 16
    db_pool_timeout: float = 3.0
    log_level: str = "INFO"
    log_format: str = "auto"
    max_body_bytes: int = 32 * 1024 * 1024
    external_url: str | None = None
    worker_metrics_port: int = 9191
    sweep_grace_seconds: float = 10.0
    rate_limit_rps: float = 1000.0
    rate_limit_burst: int = 2000

    @property
    def root_api_key(self) -> str:
        """The bearer key that maps to the bootstrapped default project."""
        return TOKEN_PREFIX + self.root_api_bearer_token

    @property
    def base_url(self) -> str:
        """Public base URL of the API (used in printed hints and asset URLs)."""
        if self.external_url:
            return self.external_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"


_FIELDS = {
    "DATABASE_URL": "database_url",
    "REDIS_URL": "redis_url",
    "ROOT_API_BEARER_TOKEN": "root_api_bearer_token",
    "SECRET_PEPPER": "secret_pepper",
    "HOST": "host",
    "PORT": "port",
    "DATA_DIR": "data_dir",
    "DB_POOL_MIN": "db_pool_min",
    "DB_POOL_MAX": "db_pool_max",
    "DB_POOL_TIMEOUT": "db_pool_timeout",
    "LOG_LEVEL": "log_level",
    "LOG_FORMAT": "log_format",
    "MAX_BODY_BYTES": "max_body_bytes",
    "EXTERNAL_URL": "external_url",
    "WORKER_METRICS_PORT": "worker_metrics_port",
    "SWEEP_GRACE_SECONDS": "sweep_grace_seconds",
    "RATE_LIMIT_RPS": "rate_limit_rps",
    "RATE_LIMIT_BURST": "rate_limit_burst",
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from environment variables (empty values count as unset).

    Raises:
        ConfigError: a value has the wrong type or is out of range.
    """
    env = os.environ if environ is None else environ
    raw = {field: env[name] for name, field in _FIELDS.items() if env.get(name, "").strip()}
    try:
        settings = msgspec.convert(raw, Settings, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid configuration: {_env_name(str(exc))}") from None
    _validate(settings)
    return settings


def _decode_path(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)


def _env_name(message: str) -> str:
    for name, field in _FIELDS.items():
        message = message.replace(f"`$.{field}`", name)
    return message


def _validate(settings: Settings) -> None:
    if not 0 < settings.port < 65536:
        raise ConfigError(f"PORT must be between 1 and 65535, got {settings.port}")
    if settings.database_url and urlsplit(settings.database_url).scheme not in ("postgres", "postgresql"):
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
    if settings.redis_url and urlsplit(settings.redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL must be a redis:// URL")
    if not settings.root_api_bearer_token.strip() or any(c.isspace() for c in settings.root_api_bearer_token):
        raise ConfigError("ROOT_API_BEARER_TOKEN must be a non-empty string without whitespace")
    if len(settings.secret_pepper) < 8:
        raise ConfigError("SECRET_PEPPER must be at least 8 characters")
    if not 1 <= settings.db_pool_min <= settings.db_pool_max:
        raise ConfigError("DB_POOL_MIN must be >= 1 and <= DB_POOL_MAX")
    if not 0 <= settings.worker_metrics_port < 65536:
        raise ConfigError("WORKER_METRICS_PORT must be between 0 (disabled) and 65535")
    if settings.sweep_grace_seconds < 0:
        raise ConfigError("SWEEP_GRACE_SECONDS must be >= 0")
    if settings.rate_limit_rps < 0 or settings.rate_limit_burst < 1:
        raise ConfigError("RATE_LIMIT_RPS must be >= 0 (0 disables) and RATE_LIMIT_BURST >= 1")
    if settings.db_pool_timeout <= 0:
        raise ConfigError("DB_POOL_TIMEOUT must be > 0 seconds")
    if settings.log_format not in ("auto", "json", "console"):
        raise ConfigError("LOG_FORMAT must be one of auto, json, console")
    if settings.max_body_bytes < 1024:
        raise ConfigError("MAX_BODY_BYTES must be at least 1024")
