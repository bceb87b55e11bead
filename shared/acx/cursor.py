"""Opaque pagination cursors.

A cursor is base64url (no padding) of `"<kind>|<key>|<uuid>"`: the keyset position of the last
item a page returned, and for listings inside one session (messages, events) a fourth field
`|<tag>` derived from that session's id, so a cursor echoed to another session's listing is
rejected instead of silently paging there by position. Clients only echo `next_cursor`; a cursor
that does not decode, holds a key out of range, or was issued for another listing or session is a
400 `invalid_cursor` (upstream answers 500 there).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Generic, NamedTuple, TypeVar

import msgspec

from acx.errors import InvalidRequestError

__all__ = ["MAX_KEY", "Cursor", "KeysetPage", "decode_cursor", "encode_cursor", "encode_time_cursor"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Keys are sequence numbers or microseconds since 1970, both far below this; anything larger (or
# negative) is forged and would overflow the database's bigint or Python's datetime.
MAX_KEY = 2**62
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
        """The key read as a timestamp (for listings ordered by `created_at`).

        Raises:
            InvalidRequestError: the key lies past the year 9999 (a forged cursor).
        """
        try:
            return _EPOCH + timedelta(microseconds=self.key)
        except OverflowError:
            raise InvalidRequestError("invalid_cursor", "invalid cursor") from None


def _scope_tag(scope: uuid.UUID) -> str:
    # Not a secret (the session id is in the URL anyway): it only ties a cursor to its listing.
    return hashlib.blake2b(scope.bytes, digest_size=6).hexdigest()


def encode_cursor(kind: str, key: int, item_id: uuid.UUID | str, scope: uuid.UUID | None = None) -> str:
    """Encode a position of listing `kind` ("m" messages, "s" sessions, "e" events).

    `scope` is the session whose listing this is (messages, events): only that listing accepts it.
    """
    text = f"{kind}|{key}|{item_id}" if scope is None else f"{kind}|{key}|{item_id}|{_scope_tag(scope)}"
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def encode_time_cursor(kind: str, moment: datetime, item_id: uuid.UUID | str, scope: uuid.UUID | None = None) -> str:
    """Encode a position in a listing ordered by (timestamp, id), to the microsecond."""
    return encode_cursor(kind, (moment - _EPOCH) // timedelta(microseconds=1), item_id, scope)


def decode_cursor(kind: str, cursor: str, scope: uuid.UUID | None = None) -> Cursor:
    """Decode a cursor issued for listing `kind` (of session `scope`, when given).

    Raises:
        InvalidRequestError: malformed, key out of range, or issued for another listing or session.
    """
    expected = [kind] if scope is None else [kind, _scope_tag(scope)]
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        got_kind, key, item_id, *tag = text.split("|")
        position = Cursor(int(key), uuid.UUID(item_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        got_kind, tag = "", []
    if [got_kind, *tag] != expected or not 0 <= position.key <= MAX_KEY:
        raise InvalidRequestError("invalid_cursor", "invalid cursor")
    return position
