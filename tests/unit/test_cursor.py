"""Cursor encoding: round trip, URL safety, rejection of foreign or malformed cursors."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acx.cursor import Cursor, decode_cursor, encode_cursor
from acx.errors import InvalidRequestError


@given(key=st.integers(min_value=-(2**62), max_value=2**62), item=st.uuids())
def test_round_trip_and_url_safe(key: int, item: uuid.UUID) -> None:
    cursor = encode_cursor("m", key, item)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor("m", cursor) == Cursor(key, item)


@pytest.mark.parametrize("bad", ["", "!!!", "bm90IGEgY3Vyc29y", encode_cursor("m", 1, uuid.uuid4())[:-3]])
def test_malformed_cursor_is_invalid_request(bad: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        decode_cursor("m", bad)
    assert info.value.code == "invalid_cursor"


def test_cursor_of_another_listing_is_rejected() -> None:
    with pytest.raises(InvalidRequestError):
        decode_cursor("m", encode_cursor("s", 5, uuid.uuid4()))
