"""The async PostgreSQL connection pool shared by a process."""

from __future__ import annotations

import time
import weakref

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, pool_async
from psycopg_pool.base import AttemptWithBackoff

__all__ = ["Conn", "Pool", "open_pool"]

Conn = AsyncConnection[tuple[object, ...]]
Pool = AsyncConnectionPool[Conn]


class _CappedBackoff(AttemptWithBackoff):
    """psycopg_pool doubles its reconnect delay without a bound (1, 2, 4, 8 s…): after a 10 s
    outage the pool may not try again for several seconds while requests time out. Retrying at
    least every second costs one failed connect per second during an outage."""

    MAX_DELAY = 1.0

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, self.MAX_DELAY)


# The pool builds its attempts from this module attribute; there is no option for a cap.
pool_async.AttemptWithBackoff = _CappedBackoff  # type: ignore[attr-defined]

# A connection returned less than this long ago is handed out again unchecked: it just worked,
# and a server restart takes longer than this, so only idle connections pay for a ping.
_TRUSTED_FOR_SECONDS = 1.0
_returned_at: weakref.WeakKeyDictionary[Conn, float] = weakref.WeakKeyDictionary()


async def _note_return(conn: Conn) -> None:
    _returned_at[conn] = time.monotonic()


async def _check_if_idle(conn: Conn) -> None:
    if time.monotonic() - _returned_at.get(conn, 0.0) > _TRUSTED_FOR_SECONDS:
        await AsyncConnectionPool.check_connection(conn)


async def open_pool(database_url: str, *, min_size: int, max_size: int, acquire_timeout: float) -> Pool:
    """Open a pool and wait until it holds `min_size` connections (fails fast when the DB is down).

    Connections that sat idle are checked as they leave the pool, so the first requests after a
    PostgreSQL restart get a fresh connection instead of an error, while a busy pool skips the
    extra round trip; `acquire_timeout` bounds how long a request waits for a free connection
    before the gateway answers 503.
    """
    pool: Pool = AsyncConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        timeout=acquire_timeout,
        open=False,
        check=_check_if_idle,
        reset=_note_return,
        # No statement waits on a lock longer than a request waits for a connection: a locked row
        # or table turns into a fast 503 (LockNotAvailable is an OperationalError), never a hang.
        kwargs={
            "autocommit": True,
            "prepare_threshold": 5,
            "options": f"-c lock_timeout={int(acquire_timeout * 1000)}",
        },
    )
    await pool.open(wait=True, timeout=max(acquire_timeout, 10.0))
    return pool
