"""Error tree of the shared library.

    AcxError                 base: a stable machine ``code`` and a human ``msg``
    ├── DecodeError          a stored blob failed ingest validation (HTTP 400)
    ├── InvalidRequestError  a parameter or body field is invalid (HTTP 400)
    ├── NotFoundError        the resource does not exist *for this project* (HTTP 404)
    │   └── SessionNotFound  the session, always with code ``session_not_found``
    ├── ConflictError        the write collides with existing state (HTTP 409)
    ├── UnprocessableError   well-formed but cannot be honoured (HTTP 422)
    ├── TooLargeError        the request or resource exceeds a limit (HTTP 413)
    └── UnavailableError     the service cannot answer in time; retry (HTTP 503)

The gateway maps these to the response envelope in one place; the worker treats
``DecodeError`` as permanent.
"""

from __future__ import annotations

__all__ = [
    "DECODE_ERROR_CODES",
    "AcxError",
    "ConflictError",
    "DecodeError",
    "InvalidRequestError",
    "NotFoundError",
    "SessionNotFound",
    "TooLargeError",
    "UnavailableError",
    "UnprocessableError",
]

#: Codes a ``DecodeError`` may carry: conversion.md §7, plus ``invalid_blob`` for other
#: structural problems (wrong field types, acontext-format rule violations).
DECODE_ERROR_CODES = frozenset(
    {
        "blob_not_object",
        "unknown_role",
        "unknown_part_type",
        "missing_tool_call_id",
        "invalid_tool_arguments",
        "orphan_tool_result",
        "empty_part",
        "multiple_part_data_fields",
        "missing_mime_type",
        "invalid_base64",
        "invalid_data_url",
        "empty_content",
        "invalid_blob",
    }
)


class AcxError(Exception):
    """Base of every error raised by ``acx``: a stable ``code`` and a human ``msg``."""

    code: str
    msg: str

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.code}: {self.msg}"


class DecodeError(AcxError):
    """A message blob is malformed; ``path`` points into it (e.g. ``content[2].image_url.url``)."""

    path: str

    def __init__(self, code: str, msg: str, path: str = "") -> None:
        super().__init__(code, msg)
        self.path = path

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.code}: {self.msg}{where}"

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, str, str]]:
        # Keep pickling (arq, multiprocessing) working with the 3-argument constructor.
        return (type(self), (self.code, self.msg, self.path))


class InvalidRequestError(AcxError):
    """A query parameter or body field is invalid."""


class NotFoundError(AcxError):
    """Missing, or owned by another project: both answer the same so ids leak nothing."""


class SessionNotFound(NotFoundError):  # noqa: N818 - a fixed instance of NotFoundError, named as the condition
    """The session does not exist for this project (the most common 404, with one fixed code)."""

    def __init__(self) -> None:
        super().__init__("session_not_found", "session not found")

    def __reduce__(self) -> tuple[type[SessionNotFound], tuple[()]]:
        return (type(self), ())


class ConflictError(AcxError):
    """The write collides with existing state (e.g. a session id already taken)."""


class TooLargeError(AcxError):
    """The request or the resource exceeds a configured limit."""


class UnprocessableError(AcxError):
    """Well-formed, but cannot be honoured (e.g. an idempotency key reused with another body)."""


class UnavailableError(AcxError):
    """The request could not be served in time (busy database, locked session): retry later."""
