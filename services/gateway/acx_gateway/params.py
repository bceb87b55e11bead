"""Query-parameter parsing with upstream's rules and explicit 400 messages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
from litestar.params import QueryParameter

from acx.codecs import Format, ProviderFormat
from acx.errors import InvalidRequestError
from acx.limits import decode_untrusted

__all__ = [
    "AcceptsIdempotencyKey",
    "Cursor",
    "FormatQuery",
    "GoBool",
    "PageLimit",
    "ProviderQuery",
    "TimeDesc",
    "is_true",
    "parse_bool",
    "parse_choice",
    "parse_json_object",
    "parse_limit",
    "parse_uuid",
]

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

#: A boolean query parameter as Go's `strconv.ParseBool` reads it (the SDKs send `true`/`false`);
#: empty means the default.
GoBool = Literal["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False", ""]
#: A message format; empty means `openai`, as upstream.
FormatQuery = Annotated[Format | Literal[""], QueryParameter(description="empty or absent: openai")]
#: A provider's request format; empty means `openai`.
ProviderQuery = Annotated[ProviderFormat | Literal[""], QueryParameter(description="empty or absent: openai")]
#: How many items a listing page holds.
PageLimit = Annotated[int, QueryParameter(ge=1, le=200)]
#: An opaque `next_cursor` of the previous page.
Cursor = Annotated[str | None, QueryParameter(description="`next_cursor` of the previous page")]
#: `time_desc`: newest first.
TimeDesc = Annotated[GoBool | None, QueryParameter(description="newest first")]


@dataclass
class AcceptsIdempotencyKey(Operation):
    """The OpenAPI operation of a POST write that takes an `Idempotency-Key` header.

    The handler reads the header itself (`acx_gateway.idempotency.idempotency_key`, straight from
    the raw headers) rather than as a typed header parameter: Litestar builds a dict of every header
    of the request for one, ~4 µs of each store. So it is declared here, on the route's decorator.
    """

    def __post_init__(self) -> None:
        header = Parameter(
            name="Idempotency-Key",
            param_in=ParamType.HEADER,
            required=False,
            schema=Schema(type=OpenAPIType.STRING),
            description="1-255 printable ASCII characters; a retry with the same key replays the first response",
        )
        self.parameters = [*(self.parameters or []), header]


def is_true(value: GoBool | None, default: bool = False) -> bool:
    """The value of a `GoBool` parameter (`None` or empty: `default`)."""
    return default if not value else value in _TRUE


def parse_bool(name: str, value: str | None, default: bool) -> bool:
    """Go `strconv.ParseBool` semantics, as the SDKs expect."""
    if value is None or value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidRequestError("invalid_parameter", f"{name} must be a boolean, got {value!r}")


def parse_limit(value: str | None, *, default: int, low: int, high: int) -> int:
    """An integer limit within [low, high]."""
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except ValueError:
        raise InvalidRequestError("invalid_parameter", f"limit must be an integer, got {value!r}") from None
    if not low <= limit <= high:
        raise InvalidRequestError("invalid_parameter", f"limit must be between {low} and {high}, got {limit}")
    return limit


def parse_uuid(name: str, value: str) -> uuid.UUID:
    """A UUID path or body field (canonical, braced, urn or 32-hex forms)."""
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidRequestError("invalid_parameter", f"invalid {name}: {value!r} is not a UUID") from None


def parse_json_object(name: str, value: str | None) -> dict[str, Any] | None:
    """A query parameter holding a JSON object (`+` already decoded to a space)."""
    if value is None or value == "":
        return None
    try:
        parsed = decode_untrusted(value, name=name)
    except InvalidRequestError as exc:
        raise InvalidRequestError("invalid_parameter", f"invalid {name} JSON: {exc.msg}") from None
    if not isinstance(parsed, dict):
        raise InvalidRequestError("invalid_parameter", f"invalid {name} JSON: expected an object")
    return parsed


def parse_choice(name: str, value: str | None, allowed: tuple[str, ...], default: str | None = None) -> str:
    """One of `allowed` (e.g. a message format); absent means `default`."""
    choice = value or default
    if choice not in allowed:
        options = ", ".join(allowed)
        raise InvalidRequestError("invalid_format", f"{name} must be one of {options}, got {choice!r}")
    return choice
