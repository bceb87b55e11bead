"""Group concurrent message stores into shared transactions.

Each store request waits on a future while a few flusher tasks drain the queue: a flusher takes
everything waiting (up to `max_batch`) and stores it with one transaction and one commit. Under
load, batches form by themselves; an idle gateway still stores a lone message immediately.

No request waits unboundedly: one whose session is locked by another transaction is retried in a
later batch, and a request still unstored after `max_wait` seconds fails with 503 (Retry-After).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from acx.db.message_writes import Deferred, StoredMessage, StoreRequest, store_batch
from acx.db.pool import Pool
from acx.errors import AcxError, UnavailableError

__all__ = ["StoreBatcher"]

_RETRY_DELAY = 0.02
_CLOSE_WAIT = 10.0


@dataclass
class _Pending:
    request: StoreRequest
    deadline: float
    future: asyncio.Future[StoredMessage | AcxError] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def _busy() -> UnavailableError:
    return UnavailableError("store_busy", "the store is busy (session locked or database slow), retry shortly")


class StoreBatcher:
    """Batches `StoreRequest`s over a connection pool."""

    def __init__(
        self,
        pool: Pool,
        on_committed: Callable[[list[uuid.UUID], list[str]], Awaitable[None]],
        *,
        max_batch: int = 256,
        flushers: int = 4,
        max_wait: float = 3.0,
    ) -> None:
        self._pool = pool
        self._on_committed = on_committed
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._active = 0  # batches being written right now
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks = [asyncio.create_task(self._flush_forever()) for _ in range(flushers)]

    async def store(self, request: StoreRequest) -> StoredMessage:
        """Store one message; returns once its transaction committed.

        Raises:
            AcxError: the session is missing, the blob was rejected, or the store was too busy.
        """
        pending = _Pending(request, time.monotonic() + self._max_wait)
        self._queue.put_nowait(pending)
        result = await pending.future
        if isinstance(result, AcxError):
            raise result
        return result

    def _take_batch(self, first: _Pending) -> list[_Pending]:
        batch, now = [], time.monotonic()
        candidate: _Pending | None = first
        while candidate is not None:
            if candidate.future.done():
                pass  # its client went away
            elif candidate.deadline < now:
                candidate.future.set_result(_busy())
            else:
                batch.append(candidate)
            candidate = self._queue.get_nowait() if len(batch) < self._max_batch and not self._queue.empty() else None
        return batch

    def _retry_later(self, pending: _Pending) -> None:
        if time.monotonic() + _RETRY_DELAY > pending.deadline:
            pending.future.set_result(_busy())
        else:
            asyncio.get_running_loop().call_later(_RETRY_DELAY, self._queue.put_nowait, pending)

    async def _flush_forever(self) -> None:
        while True:
            batch = self._take_batch(await self._queue.get())
            if not batch:
                continue
            self._active += 1
            self._idle.clear()
            try:
                await self._flush(batch)
            except asyncio.CancelledError:
                # Shutdown could not wait for this batch: its outcome is unknown, so say "retry".
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_result(_busy())
                raise
            finally:
                self._active -= 1
                if not self._active:
                    self._idle.set()

    async def _flush(self, batch: list[_Pending]) -> None:
        """Write one batch and answer its waiters."""
        try:
            async with self._pool.connection() as conn:
                results = await store_batch(conn, [pending.request for pending in batch])
        except Exception as exc:  # noqa: BLE001 - handed to every waiter, who re-raises it
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        committed: list[tuple[uuid.UUID, str | None]] = []
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, Deferred):
                self._retry_later(pending)
                continue
            if isinstance(result, StoredMessage):
                committed.append((result.id, pending.request.request_id))
            if not pending.future.done():
                pending.future.set_result(result)
        # After the waiters are answered: their 2xx never waits for Redis.
        await self._on_committed([mid for mid, _ in committed], [rid for _, rid in committed if rid])

    async def close(self) -> None:
        """Stop the flushers: batches being written finish first (for a while), requests still
        queued fail with 503."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), _CLOSE_WAIT)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_result(_busy())
