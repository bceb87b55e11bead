"""Opaque pagination cursors.

A cursor is base64url (no padding) of `"<kind>|<key>|<uuid>"`: the keyset position of the last
item a page returned. Clients only echo `next_cursor`; a cursor that does not decode, or that was
issued for another listing, is a 400 (upstream answers 500 there).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import NamedTuple

from acx.errors import InvalidRequestError

__all__ = ["Cursor", "decode_cursor", "encode_cursor"]


class Cursor(NamedTuple):
    """Keyset position: an integer sort key (sequence or epoch microseconds) and a tie-break id."""

    key: int
    id: uuid.UUID


def encode_cursor(kind: str, key: int, item_id: uuid.UUID | str) -> str:
    """Encode a position of listing `kind` ("m" messages, "s" sessions, "e" events)."""
    return base64.urlsafe_b64encode(f"{kind}|{key}|{item_id}".encode()).rstrip(b"=").decode()


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
