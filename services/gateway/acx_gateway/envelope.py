"""The `{code, msg, data}` envelope every JSON response carries, and the error → HTTP mapping.

All error translation happens here: domain errors (`acx.errors`), Litestar's own HTTP and
validation errors, and database outages (503 with Retry-After instead of an opaque 500).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec
import psycopg
import psycopg_pool
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
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

__all__ = [
    "ApiError",
    "Envelope",
    "ErrorData",
    "ErrorEnvelope",
    "Reply",
    "envelope",
    "envelope_bytes",
    "error_responses",
    "exception_handlers",
    "json_response",
    "ok",
]

_log = structlog.get_logger("acx.gateway")
JSON = "application/json"
_encoder = msgspec.json.Encoder()


T = TypeVar("T")


class Envelope(msgspec.Struct, Generic[T], kw_only=True):
    """A success response, what handlers return: `{"code": 0, "msg": "", "data": …}`."""

    code: int = 0
    msg: str = ""
    data: T


def envelope(data: T) -> Envelope[T]:
    """`data` in a success envelope."""
    return Envelope(data=data)


class Reply(msgspec.Struct):
    """A success response without data: `{"code": 0, "msg": ""}` (upstream omits `data`)."""

    code: int = 0
    msg: str = ""


class ErrorData(msgspec.Struct, omit_defaults=True):
    """Machine-readable detail of a rejected request."""

    error_code: str
    path: str | None = None


class ErrorEnvelope(msgspec.Struct, omit_defaults=True):
    """An error response: `code` repeats the HTTP status."""

    code: int
    msg: str
    data: ErrorData | None = None


_ERROR_TEXT = {
    400: "Invalid parameter, body or blob (`data.error_code` says which)",
    401: "Missing or invalid API key",
    404: "Not found (also for another project's resources)",
    409: "Conflict (id taken, or the same Idempotency-Key still running)",
    413: "Too large",
    422: "Idempotency-Key reused with a different request",
    429: "Rate limit exceeded (see Retry-After)",
    503: "Database or Redis unavailable (see Retry-After)",
}
_EVERY_API_ROUTE = (401, 429, 503)


def error_responses(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """OpenAPI error responses of a handler: `statuses` plus those every route can answer.

    Every `/api/v1` route can answer 401 (auth), 429 (rate limit) and 503 (outage); a public
    route only 503.
    """
    every = (503,) if public else _EVERY_API_ROUTE
    return {
        status: ResponseSpec(ErrorEnvelope, description=_ERROR_TEXT[status], generate_examples=False)
        for status in sorted({*statuses, *every})
    }


class _Wire(msgspec.Struct, omit_defaults=True):
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
    return _encoder.encode(_Wire(0, msg, data))


def ok(data: Any = msgspec.UNSET, status: int = 200, msg: str = "") -> Response[bytes]:
    """A success envelope (`code` 0)."""
    return json_response(envelope_bytes(data, msg), status)


# Error messages quote what was wrong (`got 'xyz'`); the client chose that value, so it is cut here,
# once for every error, rather than echoed whole (a 30 MB `format` came back as a 30 MB message).
_MAX_MSG_CHARS = 300


def _error(status: int, msg: str, data: Any = msgspec.UNSET, headers: dict[str, str] | None = None) -> Response[bytes]:
    if len(msg) > _MAX_MSG_CHARS:
        msg = msg[: _MAX_MSG_CHARS - 1] + "…"
    return json_response(_encoder.encode(_Wire(status, msg, data)), status, headers)


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


def _invalid_parameter(_: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    # Litestar rejected a typed parameter: name it, in the envelope, with a stable code.
    problems = exc.extra if isinstance(exc.extra, list) else []
    first = problems[0] if problems and isinstance(problems[0], dict) else {}
    if first.get("source") == "body":
        return _error(400, f"invalid request body: {first.get('message', exc.detail)}", {"error_code": "invalid_body"})
    where = f"invalid {first['key']}: " if first.get("key") else ""
    return _error(400, f"{where}{first.get('message', exc.detail)}", {"error_code": "invalid_parameter"})


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
    ValidationException: _invalid_parameter,
    HTTPException: _http_error,
    psycopg.OperationalError: _database_unavailable,
    psycopg_pool.PoolTimeout: _database_unavailable,
    RedisError: _redis_unavailable,
    Exception: _unexpected,
}
