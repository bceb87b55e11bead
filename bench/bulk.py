"""Fast set-up: duplicate real rows with SQL and enqueue conversion jobs in Redis pipelines.

Rows are copied from messages the gateway stored (so they are realistic), with new ids and
sequence numbers; jobs are written exactly as `ArqRedis.enqueue_job` would write them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
from arq.connections import RedisSettings, create_pool
from arq.constants import job_key_prefix
from arq.jobs import serialize_job

from acx import jobs

__all__ = ["clone_messages", "enqueue_conversions", "pending_count"]

_CLONE = [
    """
CREATE TEMP TABLE clone_map ON COMMIT DROP AS
WITH src AS (
    SELECT id, row_number() OVER (ORDER BY seq) - 1 AS rn, count(*) OVER () AS total
    FROM messages WHERE session_id = %(source)s
)
SELECT gen_random_uuid() AS id, g AS seq, src.id AS src_id
FROM generate_series(%(start)s, %(start)s + %(count)s - 1) AS g
JOIN src ON src.rn = g %% src.total
""",
    """
INSERT INTO messages (id, session_id, project_id, seq, parent_id, role, format, raw, parts, meta, tokens,
                      render_state)
SELECT c.id, %(target)s, m.project_id, c.seq, NULL, m.role, m.format, m.raw, m.parts, m.meta,
       CASE WHEN %(precomputed)s THEN m.tokens END,
       CASE WHEN %(precomputed)s THEN m.render_state ELSE 'pending' END
FROM clone_map c JOIN messages m ON m.id = c.src_id
""",
    """
INSERT INTO renderings (session_id, message_id, format, codec_version, body, item_count)
SELECT %(target)s, c.id, r.format, r.codec_version, r.body, r.item_count
FROM clone_map c JOIN renderings r ON r.message_id = c.src_id
WHERE %(precomputed)s
""",
    """
UPDATE sessions SET message_count = greatest(message_count, %(start)s + %(count)s),
       last_message_id = (SELECT id FROM clone_map ORDER BY seq DESC LIMIT 1)
WHERE id = %(target)s
""",
]


def clone_messages(
    database_url: str, source: str, target: str, count: int, *, precomputed: bool, start: int | None = None
) -> list[uuid.UUID]:
    """Append `count` copies of `source`'s messages to session `target`; returns the new ids.

    With `precomputed`, the copies keep the source's token counts and cached renderings; otherwise
    they are pending, as if just stored with the converter down.
    """
    with psycopg.connect(database_url) as conn:
        if start is None:
            row = conn.execute(
                "SELECT coalesce(max(seq) + 1, 0) FROM messages WHERE session_id = (SELECT"
                " id FROM sessions WHERE public_id = %s)",
                (target,),
            )
            start = int(row.fetchone()[0])  # type: ignore[index]
        keys = dict(
            conn.execute(
                "SELECT public_id, id FROM sessions WHERE public_id = ANY(%s)",
                ([uuid.UUID(source), uuid.UUID(target)],),
            ).fetchall()
        )
        params = {  # storage keys, not the API's session ids (acx.db.sessions)
            "source": keys[uuid.UUID(source)],
            "target": keys[uuid.UUID(target)],
            "count": count,
            "start": start,
            "precomputed": precomputed,
        }
        # Client-side binding: CREATE TABLE AS takes no server-side parameters.
        with conn.transaction(), psycopg.ClientCursor(conn) as cur:
            for statement in _CLONE:
                cur.execute(statement.encode(), params)
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM messages WHERE session_id = (SELECT id FROM sessions"
                    " WHERE public_id = %s) AND seq >= %s",
                    (target, start),
                ).fetchall()
            ]
        conn.execute("ANALYZE messages")
        conn.execute("ANALYZE renderings")
    return ids


def pending_count(conn: psycopg.Connection[Any]) -> int:
    """Messages the converter has not converted yet (the partial index makes this cheap)."""
    row = conn.execute("SELECT count(*) FROM messages WHERE render_state = 'pending'").fetchone()
    return int(row[0]) if row else 0


async def enqueue_conversions(redis_url: str, message_ids: list[uuid.UUID], chunk: int = 5000) -> float:
    """Queue conversion jobs as the gateway would (one per batch of ids, same function and serializer); seconds."""
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    started = time.perf_counter()
    try:
        for i in range(0, len(message_ids), chunk):
            now_ms = int(time.time() * 1000)
            async with redis.pipeline(transaction=False) as pipe:
                keys = [str(message_id) for message_id in message_ids[i : i + chunk]]
                for start in range(0, len(keys), jobs.CONVERSION_BATCH_MAX):
                    batch = keys[start : start + jobs.CONVERSION_BATCH_MAX]
                    job_id = jobs.conversion_job_id(batch)
                    payload = serialize_job(
                        jobs.CONVERSION_JOB, (batch, None), {}, None, now_ms, serializer=jobs.serialize_job
                    )
                    pipe.psetex(job_key_prefix + job_id, 86_400_000, payload)
                    pipe.zadd(jobs.QUEUE_NAME, {job_id: now_ms})
                await pipe.execute()
    finally:
        await redis.aclose()
    return time.perf_counter() - started
