"""Opaque pagination cursors.

A cursor is base64url (no padding) of `"<kind>|<key>|<uuid>"`: the keyset position of the last
item a page returned. Clients only echo `next_cursor`; a cursor that does not decode, or that was
issued for another listing, is a 400 (upstream answers 500 there).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime, timedelta
from typing import Generic, NamedTuple, TypeVar

import msgspec

from acx.errors import InvalidRequestError

__all__ = ["Cursor", "KeysetPage", "decode_cursor", "encode_cursor", "encode_time_cursor"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")


class KeysetPage(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a listing: its items, whether more follow, and the cursor to them."""

    items: list[T]
    has_more: bool
    next_cursor: str | None = None


class Cursor(NamedTuple):
    """Keyset position: an integer sort key (sequence or epoch microseconds) and a tie-break id."""

    key: int
    id: uuid.UUID

    @property
    def time(self) -> datetime:
        """The key read as a timestamp (for listings ordered by `created_at`)."""
        return _EPOCH + timedelta(microseconds=self.key)


def encode_cursor(kind: str, key: int, item_id: uuid.UUID | str) -> str:
    """Encode a position of listing `kind` ("m" messages, "s" sessions, "e" events)."""
    return base64.urlsafe_b64encode(f"{kind}|{key}|{item_id}".encode()).rstrip(b"=").decode()


def encode_time_cursor(kind: str, moment: datetime, item_id: uuid.UUID | str) -> str:
    """Encode a position in a listing ordered by (timestamp, id), to the microsecond."""
    return encode_cursor(kind, (moment - _EPOCH) // timedelta(microseconds=1), item_id)


def decode_cursor(kind: str, cursor: str) -> Cursor:
    """Decode a cursor issued for listing `kind`.

    Raises:
        InvalidRequestError: malformed, or issued for another listing.
    """
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        got_kind, key, item_id = text.split("|")
        position = Cursor(int(key), uuid.UUID(item_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        got_kind = ""
    if got_kind != kind:
        raise InvalidRequestError("invalid_cursor", "invalid cursor")
    return position
