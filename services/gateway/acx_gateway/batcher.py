"""Coalescing concurrent message stores into shared statements.

Requests wait on futures, queued per session. A few flusher tasks each take whole sessions'
queues (up to `max_batch` requests) and write them with one statement and one commit. A session is
in at most one batch at a time, so concurrent stores into one hot session coalesce into its next
batch instead of colliding on its row lock, and its order is the order the requests arrived in.

Sessions whose head this process knows (it wrote their last message) take the fast path
(`write_known`: decoded before the database is touched, one autocommit statement); the others,
sessions another process wrote to meanwhile, and requests that write more than their message
(uploads, an Idempotency-Key) take `write_locked`, one transaction.

Waiters are answered as soon as their commit returns; render jobs are queued by a background task,
off the commit's path. No request waits unboundedly: one still unwritten after `max_wait` seconds
fails with 503 (Retry-After), and so does one still queued at shutdown.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from acx.db.message_writes import (
    Replayed,
    SessionHead,
    StoredMessage,
    StoreRequest,
    Written,
    write_known,
    write_locked,
)
from acx.db.pool import Pool
from acx.errors import AcxError, UnavailableError

__all__ = ["StoreBatcher"]

_CLOSE_WAIT = 10.0
_ENQUEUE_CLOSE_WAIT = 3.0
_JOB_MAX_MESSAGES = 512
_KNOWN_SESSIONS = 10_000

OnCommitted = Callable[[list[uuid.UUID], list[str]], Awaitable[None]]


@dataclass
class _Pending:
    request: StoreRequest
    deadline: float
    future: asyncio.Future[StoredMessage | Replayed | AcxError] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def _busy() -> UnavailableError:
    return UnavailableError("store_busy", "the store is busy (session locked or database slow), retry shortly")


class StoreBatcher:
    """Batches `StoreRequest`s over a connection pool; `on_committed` queues their render jobs."""

    def __init__(
        self,
        pool: Pool,
        on_committed: OnCommitted,
        *,
        max_batch: int = 256,
        flushers: int = 4,
        max_wait: float = 3.0,
    ) -> None:
        self._pool = pool
        self._on_committed = on_committed
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._waiting: dict[uuid.UUID, collections.deque[_Pending]] = {}
        self._ready: collections.deque[uuid.UUID] = collections.deque()  # waiting, and in no batch
        self._in_batch: set[uuid.UUID] = set()
        self._heads: collections.OrderedDict[uuid.UUID, SessionHead] = collections.OrderedDict()
        self._wake = asyncio.Event()
        self._closed = False
        self._active = 0  # batches being written right now
        self._idle = asyncio.Event()
        self._idle.set()
        self._to_enqueue: list[tuple[uuid.UUID, str | None]] = []
        self._enqueue_wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._flush_forever()) for _ in range(flushers)]
        self._enqueuer = asyncio.create_task(self._enqueue_forever())

    async def store(self, request: StoreRequest) -> StoredMessage | Replayed:
        """Store one message; returns once its transaction committed (or the recorded response of
        an earlier request with the same Idempotency-Key).

        Raises:
            AcxError: the session is missing, the blob was rejected, or the store was too busy.
        """
        if self._closed:
            raise _busy()
        pending = _Pending(request, time.monotonic() + self._max_wait)
        sid = request.session_id
        queue = self._waiting.get(sid)
        if queue is None:
            queue = self._waiting[sid] = collections.deque()
            if sid not in self._in_batch:
                self._ready.append(sid)
                self._wake.set()
        queue.append(pending)
        result = await pending.future
        if isinstance(result, AcxError):
            raise result
        return result

    def _take_batch(self) -> dict[uuid.UUID, list[_Pending]]:
        """Whole queues of ready sessions, oldest first, up to `max_batch` requests."""
        batch: dict[uuid.UUID, list[_Pending]] = {}
        count, now = 0, time.monotonic()
        while self._ready and count < self._max_batch:
            sid = self._ready.popleft()
            queue = self._waiting[sid]
            taken: list[_Pending] = []
            while queue and count < self._max_batch:
                pending = queue.popleft()
                if pending.future.done():
                    continue  # its client went away
                if pending.deadline < now:
                    pending.future.set_result(_busy())
                    continue
                taken.append(pending)
                count += 1
            if not queue:
                del self._waiting[sid]
            if taken:
                batch[sid] = taken
                self._in_batch.add(sid)
        return batch

    def _release(self, sessions: list[uuid.UUID]) -> None:
        for sid in sessions:
            self._in_batch.discard(sid)
            if sid in self._waiting:
                self._ready.append(sid)
                self._wake.set()

    async def _flush_forever(self) -> None:
        while True:
            while not self._ready:
                self._wake.clear()
                await self._wake.wait()
            batch = self._take_batch()
            if not batch:
                continue
            self._active += 1
            self._idle.clear()
            try:
                await self._flush(batch)
            except asyncio.CancelledError:
                # Shutdown could not wait for this batch: its outcome is unknown, so say "retry".
                self._answer_all(batch, _busy())
                raise
            finally:
                self._release(list(batch))
                self._active -= 1
                if not self._active:
                    self._idle.set()

    async def _flush(self, batch: dict[uuid.UUID, list[_Pending]]) -> None:
        """Write one batch (fast path where it can) and answer its waiters."""
        known: dict[uuid.UUID, tuple[SessionHead, list[StoreRequest]]] = {}
        locked: dict[uuid.UUID, list[StoreRequest]] = {}
        for sid, pendings in batch.items():
            requests = [pending.request for pending in pendings]
            head = self._heads.get(sid)
            if head is not None and not any(request.needs_transaction for request in requests):
                known[sid] = (head, requests)
            else:
                locked[sid] = requests
        try:
            async with self._pool.connection() as conn:
                if known:
                    written = await write_known(conn, known)
                    self._settle(batch, written)
                    locked.update(
                        {sid: requests for sid, (_, requests) in known.items() if sid not in written.outcomes}
                    )
                if locked:
                    self._settle(batch, await write_locked(conn, locked))
        except Exception as exc:  # noqa: BLE001 - handed to every waiter, who re-raises it
            for sid in batch:
                self._heads.pop(sid, None)  # a commit may or may not have happened
            self._answer_all(batch, exc)

    def _settle(self, batch: dict[uuid.UUID, list[_Pending]], written: Written) -> None:
        """Answer the waiters of the written sessions; remember the heads; queue render jobs."""
        for sid, outcomes in written.outcomes.items():
            for pending, outcome in zip(batch[sid], outcomes, strict=True):
                if isinstance(outcome, StoredMessage):
                    self._to_enqueue.append((outcome.id, pending.request.request_id))
                if not pending.future.done():
                    pending.future.set_result(outcome)
            head = written.heads.get(sid)
            if head is None:
                self._heads.pop(sid, None)
            else:
                self._heads[sid] = head
                self._heads.move_to_end(sid)
        while len(self._heads) > _KNOWN_SESSIONS:
            self._heads.popitem(last=False)
        if self._to_enqueue:
            self._enqueue_wake.set()

    @staticmethod
    def _answer_all(batch: dict[uuid.UUID, list[_Pending]], answer: BaseException) -> None:
        for pendings in batch.values():
            for pending in pendings:
                if pending.future.done():
                    continue
                if isinstance(answer, AcxError):
                    pending.future.set_result(answer)
                else:
                    pending.future.set_exception(answer)

    async def _enqueue_forever(self) -> None:
        """Queue render jobs of committed messages, merging what committed meanwhile."""
        while not (self._closed and not self._to_enqueue):
            await self._enqueue_wake.wait()
            self._enqueue_wake.clear()
            while self._to_enqueue:
                chunk, self._to_enqueue = self._to_enqueue[:_JOB_MAX_MESSAGES], self._to_enqueue[_JOB_MAX_MESSAGES:]
                await self._on_committed([mid for mid, _ in chunk], [rid for _, rid in chunk if rid])

    async def close(self) -> None:
        """Stop: batches being written finish first (for a while), requests still queued fail
        with 503, render jobs of what committed are queued (for a while)."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), _CLOSE_WAIT)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for queue in self._waiting.values():
            for pending in queue:
                if not pending.future.done():
                    pending.future.set_result(_busy())
        self._waiting.clear()
        self._ready.clear()
        self._enqueue_wake.set()  # the enqueuer drains what committed, then returns
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._enqueuer, _ENQUEUE_CLOSE_WAIT)
