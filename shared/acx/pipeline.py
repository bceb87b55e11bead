"""Render-and-store: the one path by which a message's renderings reach the cache.

Shared by the converter's job and the gateway's `flush`, so both write identical rows.
"""

from __future__ import annotations

import structlog

from acx import codecs, rendering
from acx.db import renderings as store
from acx.db.pool import Conn
from acx.db.renderings import RenderInput

__all__ = ["render_and_store"]

_log = structlog.get_logger("acx.pipeline")


async def render_and_store(conn: Conn, message: RenderInput) -> bool:
    """Render `message` in every format, count its tokens, and upsert both.

    Returns False when rendering failed; that is recorded on the message (rendering is pure, so
    the same input would fail again: retrying is pointless). Database errors propagate so the
    caller can retry.
    """
    try:
        bodies, token_count = rendering.render_all(message.raw, message.parts)
    except Exception as exc:  # noqa: BLE001 - any codec failure on stored input is permanent
        _log.exception("render failed permanently", message_id=str(message.id))
        await store.mark_render_failed(conn, message.id, f"{type(exc).__name__}: {exc}")
        return False
    await store.save_renderings(
        conn,
        message,
        codec_version=codecs.CODEC_VERSION,
        tokens=token_count,
        bodies={fmt: (r.body, r.item_count) for fmt, r in bodies.items()},
    )
    return True
