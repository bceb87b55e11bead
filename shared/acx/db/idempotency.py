"""SQL for idempotent writes (`Idempotency-Key`).

Inside the write's transaction: `claim` takes a transaction-scoped advisory lock on the key (a
concurrent request with the same key gets 409 instead of waiting), and returns the stored response
when the key was already used; `record` stores the new response with the write, so a crash can
never leave a write without its replay or a replay without its write.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from acx.db.pool import Conn
from acx.errors import ConflictError, UnprocessableError

__all__ = ["KEY_TTL_HOURS", "StoredResponse", "claim", "purge_expired", "record"]

KEY_TTL_HOURS = 24


class StoredResponse(NamedTuple):
    """A response recorded for an idempotency key."""

    status: int
    body: bytes


async def claim(conn: Conn, project_id: uuid.UUID, key: str, request_hash: str) -> StoredResponse | None:
    """Lock the key for this transaction; the earlier response if the key was used before.

    Raises:
        ConflictError: another request with this key is still running.
        UnprocessableError: the key was used with a different request.
    """
    locked = await (
        await conn.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (f"{project_id}:{key}",))
    ).fetchone()
    if not locked or not locked[0]:
        raise ConflictError("idempotency_key_in_use", "a request with this Idempotency-Key is still being processed")
    row = await (
        await conn.execute(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys"
            " WHERE project_id = %s AND key = %s AND created_at > clock_timestamp() - make_interval(hours => %s)",
            (project_id, key, KEY_TTL_HOURS),
        )
    ).fetchone()
    if row is None:
        return None
    if row[0] != request_hash:
        raise UnprocessableError(
            "idempotency_key_reused", "this Idempotency-Key was already used with a different request"
        )
    status, body = row[1], row[2]
    assert isinstance(status, int)
    assert isinstance(body, bytes | memoryview)
    return StoredResponse(status, bytes(body))


async def record(conn: Conn, project_id: uuid.UUID, key: str, request_hash: str, response: StoredResponse) -> None:
    """Store the response of the write made under `key` (same transaction as the write)."""
    await conn.execute(
        "INSERT INTO idempotency_keys (project_id, key, request_hash, response_status, response_body)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (project_id, key) DO UPDATE SET"
        " request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,"
        " response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at",
        (project_id, key, request_hash, response.status, response.body),
    )


async def purge_expired(conn: Conn) -> int:
    """Delete keys past their retention; returns how many."""
    cur = await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < clock_timestamp() - make_interval(hours => %s)",
        (KEY_TTL_HOURS,),
    )
    return cur.rowcount
