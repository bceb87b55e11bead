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

__all__ = ["ENVIRONMENT_NAMES", "ConfigError", "Settings", "load_settings"]

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
    max_upload_bytes: int = 10 * 1024 * 1024
    external_url: str | None = None
    worker_metrics_port: int = 9191
    sweep_grace_seconds: float = 10.0
    render_job_timeout_seconds: int = 30
    rate_limit_rps: float = 0.0  # off unless configured: a self-hosted store must not throttle its own client
    rate_limit_burst: int = 2000
    #: Gateway processes granian runs (`acx-gateway`).
    web_workers: int = 1
    #: Where prometheus-client keeps per-process metric files when several processes share one
    #: `/metrics` (prometheus-client also reads this variable itself, at import).
    prometheus_multiproc_dir: str | None = None
    http_header_timeout_seconds: float = 5.0
    #: Longest wait for the next piece of a request body (granian bounds only the header).
    http_body_timeout_seconds: float = 10.0
    http_max_connections: int = 10_000

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


def _environment_names() -> dict[str, str]:
    """Each setting's environment variable: its field name upper-cased (`db_pool_max` → DB_POOL_MAX)."""
    return {field.upper(): field for field in Settings.__struct_fields__}


#: Environment variable → Settings field, for every setting.
ENVIRONMENT_NAMES: Mapping[str, str] = _environment_names()


#: Peppers published in the README and the deploy manifests: never a real secret (the gateway and
#: `acx-admin` refuse them).
DOCUMENTED_PEPPERS = frozenset({Settings().secret_pepper, "REPLACE-ME-with-32-random-bytes"})
#: The root token placeholder of the deploy manifests: the gateway refuses it. (The README's default,
#: `Settings().root_api_bearer_token`, is what `make run` and the tests use; the gateway warns of it.)
PLACEHOLDER_ROOT_TOKENS = frozenset({"REPLACE-ME-with-a-long-random-token"})


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from environment variables (empty values count as unset).

    Raises:
        ConfigError: a value has the wrong type or is out of range.
    """
    env = os.environ if environ is None else environ
    raw = {field: env[name] for name, field in ENVIRONMENT_NAMES.items() if env.get(name, "").strip()}
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
    for name, field in ENVIRONMENT_NAMES.items():
        message = message.replace(f"`$.{field}`", name)
    return message


def _validate(settings: Settings) -> None:
    s = settings
    token = s.root_api_bearer_token
    rules = [
        (0 < s.port < 65536, f"PORT must be between 1 and 65535, got {s.port}"),
        (
            not s.database_url or urlsplit(s.database_url).scheme in ("postgres", "postgresql"),
            "DATABASE_URL must be a postgresql:// URL",
        ),
        (
            not s.redis_url or urlsplit(s.redis_url).scheme in ("redis", "rediss", "unix"),
            "REDIS_URL must be a redis:// URL",
        ),
        (
            bool(token.strip()) and not any(c.isspace() for c in token),
            "ROOT_API_BEARER_TOKEN must be a non-empty string without whitespace",
        ),
        (len(s.secret_pepper) >= 8, "SECRET_PEPPER must be at least 8 characters"),
        (1 <= s.db_pool_min <= s.db_pool_max, "DB_POOL_MIN must be >= 1 and <= DB_POOL_MAX"),
        (s.db_pool_timeout > 0, "DB_POOL_TIMEOUT must be > 0 seconds"),
        (0 <= s.worker_metrics_port < 65536, "WORKER_METRICS_PORT must be between 0 (disabled) and 65535"),
        (s.sweep_grace_seconds >= 0, "SWEEP_GRACE_SECONDS must be >= 0"),
        (s.render_job_timeout_seconds >= 1, "RENDER_JOB_TIMEOUT_SECONDS must be >= 1"),
        (
            s.rate_limit_rps >= 0 and s.rate_limit_burst >= 1,
            "RATE_LIMIT_RPS must be >= 0 (0 disables) and RATE_LIMIT_BURST >= 1",
        ),
        (s.log_format in ("auto", "json", "console"), "LOG_FORMAT must be one of auto, json, console"),
        (s.max_body_bytes >= 1024, "MAX_BODY_BYTES must be at least 1024"),
        (s.max_upload_bytes > 0, "MAX_UPLOAD_BYTES must be > 0"),
        (s.web_workers >= 1, "WEB_WORKERS must be >= 1"),
        (0 < s.http_header_timeout_seconds <= 300, "HTTP_HEADER_TIMEOUT_SECONDS must be > 0 and <= 300"),
        (0 < s.http_body_timeout_seconds <= 300, "HTTP_BODY_TIMEOUT_SECONDS must be > 0 and <= 300"),
        (s.http_max_connections >= 16, "HTTP_MAX_CONNECTIONS must be >= 16"),
    ]
    for valid, problem in rules:
        if not valid:
            raise ConfigError(problem)
