"""The async PostgreSQL connection pool shared by a process."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

__all__ = ["Conn", "Pool", "open_pool"]

Conn = AsyncConnection[tuple[object, ...]]
Pool = AsyncConnectionPool[Conn]


async def open_pool(database_url: str, *, min_size: int, max_size: int, acquire_timeout: float) -> Pool:
    """Open a pool and wait until it holds `min_size` connections (fails fast when the DB is down).

    `check_connection` tests each connection as it leaves the pool, so the first requests after a
    PostgreSQL restart get a fresh connection instead of an error; `acquire_timeout` bounds how long a
    request waits for a free connection before the gateway answers 503.
    """
    pool: Pool = AsyncConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        timeout=acquire_timeout,
        open=False,
        check=AsyncConnectionPool.check_connection,
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
