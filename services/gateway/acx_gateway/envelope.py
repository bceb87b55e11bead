"""The `{code, msg, data}` envelope every JSON response carries, and the error → HTTP mapping.

All error translation happens here: domain errors (`acx.errors`), Litestar's own HTTP and
validation errors, and database outages (503 with Retry-After instead of an opaque 500).
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
import psycopg_pool
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap
from redis.exceptions import RedisError

from acx.errors import (
    AcxError,
    ConflictError,
    DecodeError,
    InvalidRequestError,
    NotFoundError,
    TooLargeError,
    UnavailableError,
    UnprocessableError,
)

__all__ = ["ApiError", "envelope_bytes", "exception_handlers", "json_response", "ok"]

_log = structlog.get_logger("acx.gateway")
JSON = "application/json"
_encoder = msgspec.json.Encoder()


class Envelope(msgspec.Struct, omit_defaults=True):
    """Wire envelope; `data` is omitted when unset, as upstream does."""

    code: int
    msg: str
    data: Any = msgspec.UNSET


class ApiError(Exception):
    """An HTTP error raised by the gateway itself (auth, routing-level problems)."""

    def __init__(self, status: int, msg: str, data: Any = msgspec.UNSET, headers: dict[str, str] | None = None):
        super().__init__(msg)
        self.status = status
        self.msg = msg
        self.data = data
        self.headers = headers or {}


def json_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    """A response with pre-encoded JSON bytes."""
    return Response(content=body, status_code=status, media_type=JSON, headers=headers)


def envelope_bytes(data: Any = msgspec.UNSET, msg: str = "") -> bytes:
    """The encoded success envelope (`code` 0) around `data`."""
    return _encoder.encode(Envelope(0, msg, data))


def ok(data: Any = msgspec.UNSET, status: int = 200, msg: str = "") -> Response[bytes]:
    """A success envelope (`code` 0)."""
    return json_response(envelope_bytes(data, msg), status)


def _error(status: int, msg: str, data: Any = msgspec.UNSET, headers: dict[str, str] | None = None) -> Response[bytes]:
    return json_response(_encoder.encode(Envelope(status, msg, data)), status, headers)


_STATUS_OF: dict[type[AcxError], int] = {
    DecodeError: 400,
    InvalidRequestError: 400,
    NotFoundError: 404,
    ConflictError: 409,
    TooLargeError: 413,
    UnprocessableError: 422,
}


def _acx_error(_: Request[Any, Any, Any], exc: AcxError) -> Response[bytes]:
    if isinstance(exc, UnavailableError):
        return _error(503, exc.msg, {"error_code": exc.code}, _RETRY)
    status = next((code for kind, code in _STATUS_OF.items() if isinstance(exc, kind)), 400)
    data: dict[str, str] = {"error_code": exc.code}
    if isinstance(exc, DecodeError) and exc.path:
        data["path"] = exc.path
    msg = f"{exc.msg} (at {exc.path})" if isinstance(exc, DecodeError) and exc.path else exc.msg
    return _error(status, msg, data)


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[bytes]:
    return _error(exc.status, exc.msg, exc.data, exc.headers)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    msg = exc.detail or "error"
    if status == 400 and exc.extra:
        msg = f"{msg}: {exc.extra}"
    if status == 405:
        msg = "method not allowed"
    if status == 404:
        msg = "not found"
    return _error(status, msg, headers=exc.headers)


_RETRY = {"Retry-After": "1"}


def _database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    _log.warning("database unavailable", error=type(exc).__name__)
    return _error(503, "database unavailable, retry shortly", {"error_code": "database_unavailable"}, _RETRY)


def _redis_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    _log.warning("redis unavailable", error=type(exc).__name__)
    return _error(503, "redis unavailable, retry shortly", {"error_code": "redis_unavailable"}, _RETRY)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    _log.exception("unhandled error", path=request.url.path)
    return _error(500, "internal error")


exception_handlers: ExceptionHandlersMap = {
    AcxError: _acx_error,
    ApiError: _api_error,
    HTTPException: _http_error,
    psycopg.OperationalError: _database_unavailable,
    psycopg_pool.PoolTimeout: _database_unavailable,
    RedisError: _redis_unavailable,
    Exception: _unexpected,
}
