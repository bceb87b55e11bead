"""Render-and-store: the one path by which a message's renderings reach the cache.

Shared by the converter's job and the gateway's `flush`, so both write identical rows.
"""

from __future__ import annotations

import structlog

from acx import codecs, rendering
from acx.db import renderings as store
from acx.db.pool import Conn
from acx.db.renderings import Rendered, RenderInput

__all__ = ["render_and_store"]

_log = structlog.get_logger("acx.pipeline")


async def render_and_store(conn: Conn, messages: list[RenderInput]) -> tuple[int, int]:
    """Render `messages` in every format, count their tokens, and upsert both in one transaction.

    Returns (rendered, failed). A message whose rendering fails is marked failed (rendering is
    pure, so the same input would fail again: retrying is pointless); the others are stored,
    except those deleted meanwhile (not counted in either).
    Database errors propagate so the caller can retry.
    """
    rendered: list[Rendered] = []
    failed = 0
    for message in messages:
        try:
            bodies, token_count = rendering.render_all(message.raw, message.parts)
        except Exception as exc:  # noqa: BLE001 - any codec failure on stored input is permanent
            _log.exception("render failed permanently", message_id=str(message.id))
            await store.mark_render_failed(conn, message, f"{type(exc).__name__}: {exc}")
            failed += 1
            continue
        rendered.append(Rendered(message, token_count, {fmt: (r.body, r.item_count) for fmt, r in bodies.items()}))
    stored = await store.save_renderings(conn, rendered, codec_version=codecs.CODEC_VERSION)
    if len(stored) < len(rendered):
        # Their session was deleted while the job ran: nothing left to render, nothing wrong.
        _log.debug("messages vanished before their renderings were stored", count=len(rendered) - len(stored))
    return len(stored), failed
