"""Messages of megabytes written with a binary COPY, their big fields sent a slice at a time.

A parameter of `INSERT` reaches libpq whole: `PQsendQueryParams` copies all of it into the output
buffer in one call on the event loop's thread (100-250 ms for 31 MB here, with nothing else of the
process running meanwhile). In `COPY … FROM STDIN (FORMAT BINARY)` the rows are a byte stream
that psycopg hands to libpq in slices of 128 KB, waiting for the socket every megabyte, so the
loop runs between slices; the fields are sent straight from the buffers they are in (no copy, no
re-encoding). The binary row format is PostgreSQL's (`COPY`, "Binary Format"): a field count, then
each field's length and bytes in the column type's binary form.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from acx.db.pool import Conn

__all__ = ["LargeMessageRow", "copy_messages"]

_COPY = (
    b"COPY messages (id, session_id, project_id, seq, parent_id, role, format, raw, parts, meta,"
    b" created_at, updated_at) FROM STDIN (FORMAT BINARY)"
)
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, no extension
_TRAILER = struct.pack(">h", -1)
_NULL = struct.pack(">i", -1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # timestamptz is microseconds since then
_MICROSECOND = timedelta(microseconds=1)


class LargeMessageRow(NamedTuple):
    """A `messages` row whose `raw` and `parts` are UTF-8 buffers (views of shared memory)."""

    id: uuid.UUID
    session_id: uuid.UUID
    project_id: uuid.UUID
    seq: int
    parent_id: uuid.UUID | None
    role: str
    fmt: str
    raw: bytes | memoryview
    parts: bytes | memoryview
    meta: str
    at: datetime


def _uuid(value: uuid.UUID | None) -> bytes:
    return _NULL if value is None else struct.pack(">i", 16) + value.bytes


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


def _timestamptz(at: datetime) -> bytes:
    return struct.pack(">iq", 8, (at - _EPOCH) // _MICROSECOND)


async def copy_messages(conn: Conn, rows: Sequence[LargeMessageRow]) -> None:
    """Insert `rows` into `messages` (in the caller's transaction)."""
    async with conn.cursor() as cur, cur.copy(_COPY) as copy:
        await copy.write(_HEADER)
        for row in rows:
            head = [struct.pack(">h", 12), _uuid(row.id), _uuid(row.session_id), _uuid(row.project_id)]
            head += [struct.pack(">iq", 8, row.seq), _uuid(row.parent_id), _text(row.role), _text(row.fmt)]
            await copy.write(b"".join(head))
            for big in (row.raw, row.parts):
                await copy.write(struct.pack(">i", len(big)))
                await copy.write(big)  # psycopg slices it (128 KB per libpq call)
            await copy.write(_text(row.meta) + _timestamptz(row.at) + _timestamptz(row.at))
        await copy.write(_TRAILER)
