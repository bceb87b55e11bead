"""Storing messages, one or many per transaction.

Every store, single or batched, goes through `store_batch`: one transaction locks the touched
session rows it can get (`SKIP LOCKED`: a session held by another transaction never blocks the
rest of the batch; its requests come back as `DEFERRED` for a later batch), decodes each blob against its
session's ingest state in arrival order, and writes all messages with one `executemany`. Grouping
concurrent stores this way shares one commit (the durable, slow part) among many messages while a
2xx still means committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from acx.assets import Upload
from acx.db.assets import add_references
from acx.db.pool import Conn
from acx.errors import AcxError, NotFoundError

__all__ = ["DEFERRED", "Deferred", "IngestResult", "StoreRequest", "StoredMessage", "store_batch"]


class IngestResult(NamedTuple):
    """What the codec made of a blob, given the session's ingest state (all JSON text)."""

    role: str
    parts_json: bytes
    new_state_json: bytes


class StoreRequest(NamedTuple):
    """One message to store. `ingest` decodes the blob against the session's ingest state and
    raises `DecodeError` to reject it (nothing is written for that request then)."""

    project_id: uuid.UUID
    session_id: uuid.UUID
    fmt: str
    raw: str
    meta_json: str
    ingest: Callable[[str], IngestResult]
    uploads: tuple[Upload, ...] = ()
    #: Id of the HTTP request, carried into the render job's logs.
    request_id: str | None = None


class StoredMessage(NamedTuple):
    """The row a store created."""

    id: uuid.UUID
    session_id: uuid.UUID
    parent_id: uuid.UUID | None
    task_status: str
    created_at: datetime
    updated_at: datetime


class Deferred:
    """The request's session is locked by another transaction: retry it in a later batch."""

    def __repr__(self) -> str:
        return "DEFERRED"


DEFERRED = Deferred()


class _SessionCursor:
    """A locked session's state while a batch appends to it."""

    __slots__ = ("changed", "disable_tracking", "last_id", "project_id", "seq", "state")

    def __init__(self, row: tuple[object, ...]) -> None:
        self.project_id, self.state, self.seq, self.last_id, self.disable_tracking = row[1:]
        self.changed = False


_INSERT = (
    "INSERT INTO messages (id, session_id, project_id, seq, parent_id, role, format, raw, parts, meta,"
    " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_ADVANCE = (
    "UPDATE sessions SET ingest_state = %s, message_count = %s, last_message_id = %s,"
    " updated_at = clock_timestamp() WHERE id = %s"
)


async def store_batch(conn: Conn, requests: list[StoreRequest]) -> list[StoredMessage | AcxError | Deferred]:
    """Store `requests` in one transaction; per request, the stored row or the error that rejected it.

    Within a session, messages take consecutive sequence numbers in the order of `requests`.
    Rejected requests (missing session, invalid blob) do not affect the others.
    """
    results: list[StoredMessage | AcxError | Deferred] = []
    wanted = sorted({r.session_id for r in requests})
    async with conn.transaction():
        rows = await (
            await conn.execute(
                "SELECT id, project_id, ingest_state, message_count, last_message_id, disable_task_tracking"
                " FROM sessions WHERE id = ANY(%s) ORDER BY id FOR UPDATE SKIP LOCKED",
                (wanted,),
            )
        ).fetchall()
        sessions = {row[0]: _SessionCursor(row) for row in rows}
        locked = await _locked_elsewhere(conn, [sid for sid in wanted if sid not in sessions])
        inserts: list[tuple[object, ...]] = []
        references: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, Upload]] = []
        for request in requests:
            cursor = sessions.get(request.session_id)
            if request.session_id in locked:
                results.append(DEFERRED)
                continue
            if cursor is None or cursor.project_id != request.project_id:
                results.append(NotFoundError("session_not_found", "session not found"))
                continue
            try:
                ingested = request.ingest(str(cursor.state))
            except AcxError as exc:
                results.append(exc)
                continue
            message_id, now = uuid.uuid4(), datetime.now(UTC)
            inserts.append(
                (
                    message_id,
                    request.session_id,
                    request.project_id,
                    cursor.seq,
                    cursor.last_id,
                    ingested.role,
                    request.fmt,
                    request.raw,
                    ingested.parts_json.decode(),
                    request.meta_json,
                    now,
                    now,
                )
            )
            references.extend(
                (request.project_id, request.session_id, message_id, upload) for upload in request.uploads
            )
            status = "disable_tracking" if cursor.disable_tracking else "pending"
            results.append(StoredMessage(message_id, request.session_id, cursor.last_id, status, now, now))  # type: ignore[arg-type]
            cursor.state, cursor.last_id, cursor.changed = ingested.new_state_json.decode(), message_id, True
            cursor.seq = int(str(cursor.seq)) + 1
        if inserts:
            async with conn.cursor() as cur:
                await cur.executemany(_INSERT, inserts)
                await cur.executemany(
                    _ADVANCE,
                    [(c.state, c.seq, c.last_id, sid) for sid, c in sessions.items() if c.changed],
                )
            await add_references(conn, references)
    return results


async def _locked_elsewhere(conn: Conn, session_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the sessions SKIP LOCKED passed over exist (so are locked, not missing)."""
    if not session_ids:
        return set()
    rows = await (await conn.execute("SELECT id FROM sessions WHERE id = ANY(%s)", (session_ids,))).fetchall()
    return {row[0] for row in rows}  # type: ignore[misc]
