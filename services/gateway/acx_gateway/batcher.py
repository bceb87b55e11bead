"""Group concurrent message stores into shared transactions.

Each store request waits on a future while a few flusher tasks drain the queue: a flusher takes
everything waiting (up to `max_batch`) and stores it with one transaction and one commit. Under
load, batches form by themselves; an idle gateway still stores a lone message immediately.
"""

from __future__ import annotations

import asyncio
import contextlib

from acx.db.message_writes import StoredMessage, StoreRequest, store_batch
from acx.db.pool import Pool
from acx.errors import AcxError

__all__ = ["StoreBatcher"]

_Pending = tuple[StoreRequest, "asyncio.Future[StoredMessage | AcxError]"]


class StoreBatcher:
    """Batches `StoreRequest`s over a connection pool."""

    def __init__(self, pool: Pool, *, max_batch: int = 256, flushers: int = 4) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._flush_forever()) for _ in range(flushers)]

    async def store(self, request: StoreRequest) -> StoredMessage:
        """Store one message; returns once its transaction committed.

        Raises:
            AcxError: the session is missing or the blob was rejected.
        """
        future: asyncio.Future[StoredMessage | AcxError] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((request, future))
        result = await future
        if isinstance(result, AcxError):
            raise result
        return result

    async def _flush_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._pool.connection() as conn:
                    results = await store_batch(conn, [request for request, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiter, who re-raises it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        """Stop the flushers; requests still waiting fail."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(ConnectionError("gateway shutting down"))
