"""Size and shape limits on client input, and the one JSON decoder for untrusted bytes.

Every limit a client can hit is here, so the README and SECURITY.md can list them from one place
and every endpoint answers a violation the same way: 400 for a malformed value, 413 for a value
too large. Nothing here does I/O.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar, overload

import msgspec

from acx.errors import InvalidRequestError, TooLargeError

__all__ = [
    "MAX_EVENT_TYPE_CHARS",
    "MAX_FILENAME_CHARS",
    "MAX_JSON_DEPTH",
    "MAX_KEY_CHARS",
    "MAX_MIME_CHARS",
    "MAX_MULTIPART_PARTS",
    "MAX_OBJECT_BYTES",
    "MAX_USER_CHARS",
    "check_depth",
    "check_object_keys",
    "check_object_size",
    "check_text",
    "decode_untrusted",
]

#: `user` identifiers of sessions (they are indexed: btree rows must stay far below 2.7 KB).
MAX_USER_CHARS: Final = 256
#: Session event `type`.
MAX_EVENT_TYPE_CHARS: Final = 128
#: File names of uploads (as most file systems allow).
MAX_FILENAME_CHARS: Final = 255
#: The declared type of an uploaded file (RFC 6838 allows 127 characters each for type and subtype).
MAX_MIME_CHARS: Final = 255
#: Keys of `configs` and message `meta` objects (top level, the ones filters and patches address).
MAX_KEY_CHARS: Final = 256
#: Encoded size of a whole `configs` or `meta` object, after a PATCH is merged too.
MAX_OBJECT_BYTES: Final = 64 * 1024
#: Parts (files plus `payload`) of one multipart store.
MAX_MULTIPART_PARTS: Final = 1000
#: Nesting of arrays and objects in any JSON a client sends (bodies and JSON query parameters).
MAX_JSON_DEPTH: Final = 100
# JSON integers must fit 64 bits (signed, or unsigned up to 2**64 - 1), as other JSON readers'
# do: msgspec alone decodes integers of up to 4 300 digits, which code expecting numbers of a
# sensible size then trips over (`math.isfinite(10**400)` raises OverflowError).
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**64 - 1

T = TypeVar("T")


@overload
def decode_untrusted(data: bytes | str, kind: None = None, *, name: str = ...) -> Any: ...


@overload
def decode_untrusted(data: bytes | str, kind: type[T], *, name: str = ...) -> T: ...


def decode_untrusted(data: bytes | str, kind: type[T] | None = None, *, name: str = "request body") -> Any:
    """Decode client JSON into `kind`, turning every way it can be wrong into a 400.

    msgspec refuses invalid UTF-8, floats outside their range (`1e999`), integers of more than
    4 300 digits and nesting near the interpreter's recursion limit with exceptions that are not
    all `msgspec.DecodeError`; each is mapped here. Nesting is then bounded by `MAX_JSON_DEPTH`
    and integers by 64 bits (`check_depth`).

    Raises:
        InvalidRequestError: `invalid_json`, `invalid_utf8`, `number_out_of_range`, `json_too_deep`,
            or `invalid_body` (valid JSON of the wrong shape).
    """
    try:
        value = msgspec.json.decode(data, type=Any if kind is None else kind)
    except UnicodeDecodeError:
        raise InvalidRequestError("invalid_utf8", f"{name} is not valid UTF-8") from None
    except RecursionError:
        raise _too_deep(name) from None
    except msgspec.ValidationError as exc:
        text = str(exc)
        if "out of range" in text and ("Number" in text or "Integer" in text):
            raise InvalidRequestError("number_out_of_range", f"{name}: a number is out of range ({text})") from None
        raise InvalidRequestError("invalid_body", f"invalid {name}: {text}") from None
    except msgspec.DecodeError:
        raise InvalidRequestError("invalid_json", f"{name} is not valid JSON") from None
    if _may_break_limits(data):
        check_depth(value, name)
    return value


# An integer past 64 bits has at least 19 digits in a row (JSON allows no leading zeros), and
# nesting past MAX_JSON_DEPTH takes more opening brackets than that. Most bodies have neither:
# scans of the text in C then spare the walk over the decoded value in Python. The digit run is
# found by mapping every digit to "0" and searching for nineteen of them: the regex `[0-9]{19}`
# tried a match at every digit and cost a small store ~60 000 instructions (callgrind), this ~1 000.
_LONG_RUN = 19
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_DIGITS_AS_ZERO_TEXT = str.maketrans("123456789", "000000000")


def _may_break_limits(data: bytes | str) -> bool:
    if isinstance(data, str):
        return data.count("[") + data.count("{") > MAX_JSON_DEPTH or "0" * _LONG_RUN in data.translate(
            _DIGITS_AS_ZERO_TEXT
        )
    return data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH or b"0" * _LONG_RUN in data.translate(_DIGITS_AS_ZERO)


def check_depth(value: object, name: str) -> None:
    """Refuse containers nested deeper than `MAX_JSON_DEPTH` (iterative: no recursion limit) and
    integers that do not fit 64 bits, in one walk over the decoded value.

    Raises:
        InvalidRequestError: `json_too_deep`, `number_out_of_range`.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        elif isinstance(item, msgspec.Struct):
            children = [getattr(item, field) for field in item.__struct_fields__]
        else:
            if isinstance(item, int) and not _INT_MIN <= item <= _INT_MAX:
                raise InvalidRequestError("number_out_of_range", f"{name}: an integer does not fit 64 bits")
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(name)
        stack.extend((child, depth + 1) for child in children)


def _too_deep(name: str) -> InvalidRequestError:
    return InvalidRequestError("json_too_deep", f"{name} nests deeper than {MAX_JSON_DEPTH} levels")


def check_text(name: str, value: str | None, max_chars: int) -> None:
    """Refuse a text field longer than `max_chars` characters (413) or holding NUL (400).

    Raises:
        TooLargeError: `field_too_long`.
        InvalidRequestError: `invalid_parameter` (PostgreSQL `text` cannot hold U+0000).
    """
    if value is None:
        return
    if len(value) > max_chars:
        raise TooLargeError("field_too_long", f"{name} exceeds the {max_chars}-character limit")
    if "\x00" in value:
        raise InvalidRequestError("invalid_parameter", f"{name} must not contain NUL characters")


def check_object_keys(name: str, value: dict[str, Any]) -> None:
    """Refuse top-level keys longer than `MAX_KEY_CHARS` (413).

    Raises:
        TooLargeError: `key_too_long`.
    """
    for key in value:
        if len(key) > MAX_KEY_CHARS:
            raise TooLargeError("key_too_long", f"a key of {name} exceeds the {MAX_KEY_CHARS}-character limit")


def check_object_size(name: str, encoded_size: int) -> None:
    """Refuse a `configs`/`meta` object whose JSON exceeds `MAX_OBJECT_BYTES` (413).

    Raises:
        TooLargeError: `<name>_too_large`.
    """
    if encoded_size > MAX_OBJECT_BYTES:
        raise TooLargeError(f"{name}_too_large", f"{name} size exceeds {MAX_OBJECT_BYTES // 1024}KB limit")
