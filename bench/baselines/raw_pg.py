"""Raw PostgreSQL baselines through psycopg alone, on the bench database.

* inserts: single-row durable INSERTs of a message row like the gateway's, autocommit, from
  16 concurrent connections (what a store costs without batching, HTTP or codecs);
* page: the keyset read of 100 messages' ready JSON (joined renderings) spliced into a response
  with msgspec, from a few concurrent connections (what a cached page costs without HTTP).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg

__all__ = ["RateResult", "raw_inserts", "raw_pages"]

_INSERT = (
    "INSERT INTO messages (id, session_id, project_id, seq, parent_id, role, format, raw, parts, meta,"
    " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_PAGE = (
    "SELECT m.id, m.seq, m.meta, m.tokens, r.body FROM messages m"
    " JOIN renderings r ON r.session_id = m.session_id AND r.message_id = m.id AND r.format = %s"
    " WHERE m.session_id = %s AND m.seq > %s ORDER BY m.seq LIMIT %s"
)


@dataclass(frozen=True)
class RateResult:
    """Operations per second, with per-operation latency percentiles in milliseconds."""

    ops: int
    rate: float
    p50_ms: float
    p99_ms: float
    #: CPU seconds this (client) process used: ops per CPU-second compare fairly on a busy machine.
    cpu_s: float = 0.0

    @property
    def per_cpu_second(self) -> float:
        """Operations per CPU-second of the client process."""
        return self.ops / self.cpu_s if self.cpu_s else 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the results file."""
        return asdict(self)


class _Page(msgspec.Struct):
    items: msgspec.Raw
    ids: list[str]
    metas: msgspec.Raw
    has_more: bool
    this_time_tokens: int


def _summarise(latencies: list[float], elapsed: float, cpu_s: float) -> RateResult:
    latencies.sort()
    n = len(latencies)
    pick = lambda q: latencies[min(n - 1, int(q * n))] * 1000 if n else 0.0  # noqa: E731
    return RateResult(ops=n, rate=n / elapsed if elapsed else 0.0, p50_ms=pick(0.50), p99_ms=pick(0.99), cpu_s=cpu_s)


async def _run_clients(url: str, clients: int, duration: float, op: Any) -> RateResult:
    """Run `op(conn)` in a loop on `clients` autocommit connections for `duration` seconds."""
    conns = [await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(clients)]
    latencies: list[float] = []
    deadline = time.perf_counter() + duration

    async def loop(conn: psycopg.AsyncConnection[Any]) -> None:
        while (start := time.perf_counter()) < deadline:
            await op(conn)
            latencies.append(time.perf_counter() - start)

    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(loop(c) for c in conns))
        elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        for conn in conns:
            await conn.close()
    return _summarise(latencies, elapsed, cpu_s)


async def raw_inserts(
    url: str, project_id: uuid.UUID, session_id: uuid.UUID, *, clients: int = 16, duration: float = 10.0
) -> RateResult:
    """Durable single-row INSERTs into `messages` (the gateway's row shape), one commit each."""
    seq = itertools.count(1_000_000_000)
    raw = (
        '{"role":"user","content":"Message %d: what is the weather in Paris tomorrow, and should I pack an umbrella?"}'
    )
    parts = (
        '{"role":"user","parts":[{"type":"text","text":"Message %d: what is the weather in Paris tomorrow,'
        ' and should I pack an umbrella?"}],"source_format":"openai"}'
    )

    async def insert(conn: psycopg.AsyncConnection[Any]) -> None:
        n, now = next(seq), datetime.now(UTC)
        await conn.execute(
            _INSERT,
            (uuid.uuid4(), session_id, project_id, n, None, "user", "openai", raw % n, parts % n, '{"n":1}', now, now),
        )

    return await _run_clients(url, clients, duration, insert)


async def raw_pages(
    url: str, session_id: uuid.UUID, fmt: str, *, clients: int = 8, duration: float = 10.0, limit: int = 100
) -> RateResult:
    """Keyset page of `limit` messages' cached `fmt` JSON, spliced into a response with msgspec."""
    encoder = msgspec.json.Encoder()
    async with await psycopg.AsyncConnection.connect(url) as conn:
        found = len(await (await conn.execute(_PAGE, (fmt, session_id, -1, limit))).fetchall())
    if found < limit:
        raise RuntimeError(f"raw page baseline: only {found} converted {fmt} messages in the session (need {limit})")

    async def page(conn: psycopg.AsyncConnection[Any]) -> None:
        rows = await (await conn.execute(_PAGE, (fmt, session_id, -1, limit + 1))).fetchall()
        has_more = len(rows) > limit
        rows = rows[:limit]
        items = b"[" + b",".join(str(r[4]).encode()[1:-1] for r in rows) + b"]"
        metas = b"[" + b",".join(str(r[2]).encode() for r in rows) + b"]"
        body = _Page(
            items=msgspec.Raw(items),
            ids=[str(r[0]) for r in rows],
            metas=msgspec.Raw(metas),
            has_more=has_more,
            this_time_tokens=sum(int(r[3] or 0) for r in rows),
        )
        encoder.encode({"code": 0, "msg": "", "data": body})

    return await _run_clients(url, clients, duration, page)


def run(coro: Any) -> RateResult:
    """Run one of the coroutines above to completion."""
    result: RateResult = asyncio.run(coro)
    return result
