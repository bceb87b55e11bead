"""Cursor encoding: round trip, URL safety, rejection of foreign or malformed cursors."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acx.cursor import MAX_KEY, Cursor, decode_cursor, encode_cursor
from acx.errors import InvalidRequestError


@given(key=st.integers(min_value=0, max_value=MAX_KEY), item=st.uuids(), scope=st.none() | st.uuids())
def test_round_trip_and_url_safe(key: int, item: uuid.UUID, scope: uuid.UUID | None) -> None:
    cursor = encode_cursor("m", key, item, scope)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor("m", cursor, scope) == Cursor(key, item)


@pytest.mark.parametrize("bad", ["", "!!!", "bm90IGEgY3Vyc29y", encode_cursor("m", 1, uuid.uuid4())[:-3]])
def test_malformed_cursor_is_invalid_request(bad: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        decode_cursor("m", bad)
    assert info.value.code == "invalid_cursor"


def test_cursor_of_another_listing_is_rejected() -> None:
    with pytest.raises(InvalidRequestError):
        decode_cursor("m", encode_cursor("s", 5, uuid.uuid4()))


def test_cursor_is_bound_to_its_session() -> None:
    session, other, item = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cursor = encode_cursor("m", 7, item, session)
    assert decode_cursor("m", cursor, session) == Cursor(7, item)
    with pytest.raises(InvalidRequestError) as info:
        decode_cursor("m", cursor, other)
    assert info.value.code == "invalid_cursor"


def test_unscoped_cursor_is_rejected_by_a_session_listing() -> None:
    # Cursors minted before they carried a session tag cannot prove their session.
    with pytest.raises(InvalidRequestError):
        decode_cursor("m", encode_cursor("m", 1, uuid.uuid4()), uuid.uuid4())


def test_scoped_cursor_is_rejected_by_an_unscoped_listing() -> None:
    with pytest.raises(InvalidRequestError):
        decode_cursor("s", encode_cursor("s", 1, uuid.uuid4(), uuid.uuid4()))


@pytest.mark.parametrize("key", [-1, MAX_KEY + 1, 10**30])
def test_key_out_of_range_is_invalid(key: int) -> None:
    with pytest.raises(InvalidRequestError):
        decode_cursor("m", encode_cursor("m", key, uuid.uuid4()))


def test_time_past_year_9999_is_invalid() -> None:
    position = decode_cursor("s", encode_cursor("s", MAX_KEY, uuid.uuid4()))
    with pytest.raises(InvalidRequestError):
        _ = position.time
