"""`Idempotency-Key` handling for POST writes (IETF draft semantics).

The first response is stored with the write in one transaction and replayed for retries with the
same key; the same key with a different request is 422, and while the first is still running, 409.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from litestar import Request, Response

from acx.db.idempotency import StoredResponse, claim, record
from acx.db.pool import Conn, Pool
from acx.errors import InvalidRequestError
from acx_gateway.auth import project_id_of
from acx_gateway.envelope import json_response
from acx_gateway.request import raw_header

__all__ = ["idempotency_key", "replay_response", "request_fingerprint", "run_idempotent"]

_MAX_KEY_LENGTH = 255
_YIELD_EVERY = 1 << 20


def idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    """The request's `Idempotency-Key`, if any (1-255 printable ASCII characters)."""
    key = raw_header(request.scope, b"idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= _MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidRequestError("invalid_idempotency_key", "Idempotency-Key must be 1-255 printable ASCII characters")
    return key


async def request_fingerprint(
    request: Request[Any, Any, Any], content: bytes | None = None, chunks: Sequence[bytes] = ()
) -> str:
    """What makes two requests "the same" for a key: method, path and body.

    `content` stands for the body when that is not what identifies the request: a multipart form
    (read by then, and with a boundary the client picks anew for every retry). `chunks`: the body,
    read in chunks (a large store's, never joined: hashed one chunk at a time).
    """
    digest = hashlib.sha256(b"\0".join([request.method.encode(), request.url.path.encode(), b""]))
    if chunks:
        hashed = 0
        for chunk in chunks:
            digest.update(chunk)
            hashed += len(chunk)
            if hashed >= _YIELD_EVERY:  # megabytes: let the loop run between them
                hashed = 0
                await asyncio.sleep(0)
    else:
        digest.update(await request.body() if content is None else content)
    return digest.hexdigest()


def replay_response(earlier: StoredResponse) -> Response[bytes]:
    """The recorded response of an earlier request with the same key, marked as a replay."""
    return json_response(earlier.body, earlier.status, {"Idempotent-Replayed": "true"})


async def run_idempotent(
    pool: Pool,
    request: Request[Any, Any, Any],
    key: str,
    perform: Callable[[Conn], Awaitable[StoredResponse]],
) -> tuple[Response[bytes], bool]:
    """Run `perform` once per key; returns the response and whether it is a replay."""
    fingerprint = await request_fingerprint(request)
    project_id = project_id_of(request)
    async with pool.connection() as conn, conn.transaction():
        earlier = await claim(conn, project_id, key, fingerprint)
        if earlier is not None:
            return replay_response(earlier), True
        response = await perform(conn)
        await record(conn, project_id, key, fingerprint, response)
    return json_response(response.body, response.status), False
