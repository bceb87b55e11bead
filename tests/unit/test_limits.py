"""Untrusted JSON decoding and field limits: every malformed input is a typed 400/413."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from acx.errors import InvalidRequestError, TooLargeError
from acx.limits import (
    MAX_JSON_DEPTH,
    MAX_KEY_CHARS,
    MAX_OBJECT_BYTES,
    check_object_keys,
    check_object_size,
    check_text,
    decode_untrusted,
)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"a": "\xff"}', "invalid_utf8"),
        (b'{"a": 1e999}', "number_out_of_range"),
        (b'{"a": -1e400}', "number_out_of_range"),
        (b'{"a": ' + b"9" * 5000 + b"}", "number_out_of_range"),
        (b'{"a": [' + b"9" * 4000 + b"]}", "number_out_of_range"),
        (b"18446744073709551616", "number_out_of_range"),
        (b"-9223372036854775809", "number_out_of_range"),
        (b"[" * 951 + b"]" * 951, "json_too_deep"),
        (b"[" * 5000 + b"]" * 5000, "json_too_deep"),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "json_too_deep"),
        (b'{"a": ', "invalid_json"),
    ],
)
def test_hostile_json_is_a_typed_400(body: bytes, code: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        decode_untrusted(body)
    assert info.value.code == code


def test_nesting_up_to_the_limit_is_accepted() -> None:
    body = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    value: Any = decode_untrusted(body)
    assert isinstance(value, list)


def test_64_bit_integers_are_accepted() -> None:
    assert decode_untrusted(b"[18446744073709551615, -9223372036854775808]") == [2**64 - 1, -(2**63)]


def test_depth_counts_inside_structs() -> None:
    class Body(msgspec.Struct):
        data: Any = None

    deep = b'{"data": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}"
    with pytest.raises(InvalidRequestError) as info:
        decode_untrusted(deep, Body)
    assert info.value.code == "json_too_deep"


def test_wrong_shape_is_invalid_body() -> None:
    class Body(msgspec.Struct):
        user: str | None = None

    with pytest.raises(InvalidRequestError) as info:
        decode_untrusted(b'{"user": 5}', Body)
    assert info.value.code == "invalid_body"


def test_text_limits() -> None:
    check_text("user", "u" * 10, 10)
    with pytest.raises(TooLargeError) as too_long:
        check_text("user", "u" * 11, 10)
    assert too_long.value.code == "field_too_long"
    with pytest.raises(InvalidRequestError):
        check_text("user", "a\x00b", 10)


def test_key_and_object_limits() -> None:
    check_object_keys("configs", {"k" * MAX_KEY_CHARS: 1})
    with pytest.raises(TooLargeError) as key:
        check_object_keys("configs", {"k" * (MAX_KEY_CHARS + 1): 1})
    assert key.value.code == "key_too_long"
    check_object_size("meta", MAX_OBJECT_BYTES)
    with pytest.raises(TooLargeError) as size:
        check_object_size("meta", MAX_OBJECT_BYTES + 1)
    assert size.value.code == "meta_too_large"


@given(st.integers(min_value=-(2**70), max_value=2**70), st.text(alphabet="0123456789 ,x", max_size=40))
def test_every_integer_is_bounded_wherever_it_sits(number: int, around: str) -> None:
    """The scan that spares the walk never misses a number past 64 bits, in bytes or in text."""
    for body in (f'{{"a": "{around}", "b": [{number}]}}', f"[{number}]"):
        fits = -(2**63) <= number < 2**64
        for data in (body, body.encode()):
            if fits:
                assert decode_untrusted(data) is not None
            else:
                with pytest.raises(InvalidRequestError) as raised:
                    decode_untrusted(data)
                assert raised.value.code == "number_out_of_range"
