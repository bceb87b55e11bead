"""Coalescing concurrent message stores into shared statements.

Requests wait on futures, queued per session (a lane). A few flusher tasks each take whole
sessions' queues (up to `max_batch` requests) and write them with one statement and one commit,
so concurrent stores into one hot session coalesce into its next batch instead of colliding on
its row lock, and a session's messages take the order their requests arrived in.

Sessions whose head this process knows (it wrote their last message) take the fast path: blobs
are decoded before the database is touched (`plan_stores`) and the batch is one autocommit
statement (`write_known`). The others (sessions another process wrote to meanwhile, requests
that write more than their message: uploads, an Idempotency-Key) take `write_locked`, one
transaction. A session has one batch in flight at a time; what arrives meanwhile waits for it
and goes into its next batch. (Sending that next batch early, to wait on the row lock in the
database, was measured slower: the herd splits over twice the commits, and two statements
waiting for one row lock do not get it in the order they were sent.)

Waiters are answered as soon as their commit returns; conversion jobs are queued by a background task,
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
    StorePlan,
    StoreRequest,
    Written,
    plan_stores,
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


@dataclass
class _Lane:
    """A session's waiting stores and whether a batch of it is being written."""

    waiting: collections.deque[_Pending] = field(default_factory=collections.deque)
    in_flight: bool = False
    ready: bool = False  # listed in StoreBatcher._ready


@dataclass
class _Batch:
    pendings: dict[uuid.UUID, list[_Pending]] = field(default_factory=dict)
    plans: dict[uuid.UUID, StorePlan] = field(default_factory=dict)
    locked: dict[uuid.UUID, list[StoreRequest]] = field(default_factory=dict)
    size: int = 0


def _busy() -> UnavailableError:
    return UnavailableError("store_busy", "the store is busy (session locked or database slow), retry shortly")


class StoreBatcher:
    """Batches `StoreRequest`s over a connection pool; `on_committed` queues their conversion jobs."""

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
        self._lanes: dict[uuid.UUID, _Lane] = {}
        self._ready: collections.deque[uuid.UUID] = collections.deque()
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
        lane = self._lanes.get(request.session_id)
        if lane is None:
            lane = self._lanes[request.session_id] = _Lane()
        lane.waiting.append(pending)
        self._mark_ready(request.session_id, lane)
        result = await pending.future
        if isinstance(result, AcxError):
            raise result
        return result

    def _mark_ready(self, sid: uuid.UUID, lane: _Lane) -> None:
        if not lane.ready and lane.waiting and not lane.in_flight:
            lane.ready = True
            self._ready.append(sid)
            self._wake.set()

    def _take(self, lane: _Lane, room: int) -> list[_Pending]:
        """Up to `room` live requests from the front of a lane (expired ones answered 503)."""
        taken: list[_Pending] = []
        now = time.monotonic()
        while lane.waiting and len(taken) < room:
            pending = lane.waiting.popleft()
            if pending.future.done():
                continue  # its client went away
            if pending.deadline < now:
                pending.future.set_result(_busy())
                continue
            taken.append(pending)
        return taken

    def _take_batch(self) -> _Batch:
        """Ready sessions (nothing of theirs in flight), oldest first, up to `max_batch` requests."""
        batch = _Batch()
        while self._ready and batch.size < self._max_batch:
            sid = self._ready.popleft()
            lane = self._lanes[sid]
            lane.ready = False
            taken = self._take(lane, self._max_batch - batch.size)
            if not taken:
                self._drop_if_idle(sid, lane)
                continue
            self._add(batch, sid, lane, taken)
        return batch

    def _add(self, batch: _Batch, sid: uuid.UUID, lane: _Lane, taken: list[_Pending]) -> None:
        requests = [pending.request for pending in taken]
        head = self._heads.get(sid)
        # Large blobs take the general path, which decodes them off the event loop.
        if head is not None and not any(request.needs_transaction or request.is_large for request in requests):
            batch.plans[sid] = plan_stores(head, requests)  # decoded now, before any database round trip
        else:
            batch.locked[sid] = requests
        batch.pendings[sid] = taken
        batch.size += len(taken)
        lane.in_flight = True

    def _drop_if_idle(self, sid: uuid.UUID, lane: _Lane) -> None:
        if not lane.waiting and not lane.in_flight:
            del self._lanes[sid]

    def _release(self, batch: _Batch) -> None:
        for sid in batch.pendings:
            lane = self._lanes[sid]
            lane.in_flight = False
            self._mark_ready(sid, lane)
            self._drop_if_idle(sid, lane)

    async def _flush_forever(self) -> None:
        while True:
            while not self._ready:
                self._wake.clear()
                await self._wake.wait()
            batch = self._take_batch()
            if not batch.pendings:
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
                self._release(batch)
                self._active -= 1
                if not self._active:
                    self._idle.set()

    async def _flush(self, batch: _Batch) -> None:
        """Write one batch (fast path where it can) and answer its waiters."""
        # The connection wait counts against the requests' own deadlines, so a request never waits
        # longer than `max_wait` in all (queued, then waiting for a connection) during an outage.
        timeout = max(
            0.001, min(p.deadline for pendings in batch.pendings.values() for p in pendings) - time.monotonic()
        )
        try:
            async with self._pool.connection(timeout=timeout) as conn:
                if batch.plans:
                    written = await write_known(conn, batch.plans)
                    self._settle(batch, written)
                    # Not written (locked elsewhere, or another process wrote meanwhile): the general path.
                    for sid in batch.plans.keys() - written.outcomes.keys():
                        self._heads.pop(sid, None)
                        batch.locked[sid] = [pending.request for pending in batch.pendings[sid]]
                if batch.locked:
                    self._settle(batch, await write_locked(conn, batch.locked))
        except Exception as exc:  # noqa: BLE001 - handed to every waiter, who re-raises it
            for sid in batch.pendings:
                self._heads.pop(sid, None)  # a commit may or may not have happened
            self._answer_all(batch, exc)

    def _settle(self, batch: _Batch, written: Written) -> None:
        """Answer the waiters of the written sessions; remember the heads; queue conversion jobs."""
        for sid, outcomes in written.outcomes.items():
            for pending, outcome in zip(batch.pendings[sid], outcomes, strict=True):
                if isinstance(outcome, StoredMessage):
                    self._to_enqueue.append((outcome.id, pending.request.request_id))
                if not pending.future.done():
                    pending.future.set_result(outcome)
            head = written.heads.get(sid)
            known = self._heads.get(sid)
            if head is None:
                self._heads.pop(sid, None)
            elif known is None or head.seq >= known.seq:
                self._heads[sid] = head
                self._heads.move_to_end(sid)
        while len(self._heads) > _KNOWN_SESSIONS:
            self._heads.popitem(last=False)
        if self._to_enqueue:
            self._enqueue_wake.set()

    @staticmethod
    def _answer_all(batch: _Batch, answer: BaseException) -> None:
        for pendings in batch.pendings.values():
            for pending in pendings:
                if pending.future.done():
                    continue
                if isinstance(answer, AcxError):
                    pending.future.set_result(answer)
                else:
                    pending.future.set_exception(answer)

    async def _enqueue_forever(self) -> None:
        """Queue conversion jobs of committed messages, merging what committed meanwhile."""
        while not (self._closed and not self._to_enqueue):
            await self._enqueue_wake.wait()
            self._enqueue_wake.clear()
            while self._to_enqueue:
                chunk, self._to_enqueue = self._to_enqueue[:_JOB_MAX_MESSAGES], self._to_enqueue[_JOB_MAX_MESSAGES:]
                await self._on_committed([mid for mid, _ in chunk], [rid for _, rid in chunk if rid])

    async def close(self) -> None:
        """Stop: batches being written finish first (for a while), requests still queued fail
        with 503, conversion jobs of what committed are queued (for a while)."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), _CLOSE_WAIT)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for lane in self._lanes.values():
            for pending in lane.waiting:
                if not pending.future.done():
                    pending.future.set_result(_busy())
            lane.waiting.clear()
        self._ready.clear()
        self._enqueue_wake.set()  # the enqueuer drains what committed, then returns
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._enqueuer, _ENQUEUE_CLOSE_WAIT)
