"""Helpers shared by route modules: body decoding and the NUL checks PostgreSQL needs."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Request

from acx.errors import InvalidRequestError
from acx.limits import decode_untrusted

__all__ = ["decode_body", "decode_json", "reject_nul", "reject_nul_text"]

T = TypeVar("T")


async def decode_body(request: Request[Any, Any, Any], kind: type[T]) -> T:
    """Decode a JSON body into `kind`; an empty body counts as `{}` (older SDKs send none)."""
    return decode_json(await request.body(), kind)


def decode_json(body: bytes, kind: type[T]) -> T:
    """Decode JSON bytes into `kind`, with 400s that say what is wrong (see `acx.limits`)."""
    return decode_untrusted(body or b"{}", kind)


def reject_nul(name: str, encoded: bytes) -> None:
    """PostgreSQL jsonb cannot hold U+0000: refuse it up front instead of failing in the database."""
    if b"\\u0000" in encoded:
        raise InvalidRequestError("invalid_parameter", f"{name} must not contain NUL (\\u0000) characters")


def reject_nul_text(name: str, value: str | None) -> None:
    """PostgreSQL text cannot hold U+0000 either: refuse it in plain string fields."""
    if value and "\x00" in value:
        raise InvalidRequestError("invalid_parameter", f"{name} must not contain NUL characters")
