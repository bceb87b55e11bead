"""Precomputing renderings: the one path by which a message's renderings reach the cache.

Shared by the converter's job and the gateway's `flush`, so both write identical rows.
"""

from __future__ import annotations

import structlog

from acx import codecs, rendering
from acx.db import renderings as store
from acx.db.pool import Conn
from acx.db.renderings import MessageRenderings, PendingMessage

__all__ = ["precompute_renderings"]

_log = structlog.get_logger("acx.pipeline")


async def precompute_renderings(conn: Conn, messages: list[PendingMessage]) -> tuple[int, int]:
    """Build the renderings of `messages` in every format, count their tokens, and upsert both in one
    transaction.

    Returns (converted, failed). A message whose encoding fails is marked failed (encoding is
    pure, so the same input would fail again: retrying is pointless); the others are stored,
    except those deleted meanwhile (not counted in either).
    Database errors propagate so the caller can retry.
    """
    converted: list[MessageRenderings] = []
    failed = 0
    for message in messages:
        try:
            bodies, token_count = rendering.renderings_of(message.raw, message.parts)
        except Exception as exc:  # noqa: BLE001 - any codec failure on stored input is permanent
            _log.exception("conversion failed permanently", message_id=str(message.id))
            await store.mark_failed(conn, message, f"{type(exc).__name__}: {exc}")
            failed += 1
            continue
        converted.append(
            MessageRenderings(message, token_count, {fmt: (r.body, r.item_count) for fmt, r in bodies.items()})
        )
    stored = await store.save_renderings(conn, converted, codec_version=codecs.CODEC_VERSION)
    if len(stored) < len(converted):
        # Their session was deleted while the job ran: nothing left to store, nothing wrong.
        _log.debug("messages vanished before their renderings were stored", count=len(converted) - len(stored))
    return len(stored), failed
