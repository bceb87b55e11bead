"""The gateway's side of large stores: a small process pool and the shared memory of each store.

Why a process, not a thread: the long steps of a store of megabytes are single C calls that hold the
GIL (msgspec decoding or encoding the whole body, binascii validating an image's base64), so a thread
stalls the event loop for as long as each call lasts. In another process they stall nothing. What
is left here is cut into short steps: the body is copied into shared memory a slice at a time, the
results are read from it without a copy (psycopg sends them from the segment, see
`acx.db.message_writes`), and the answer is sent in chunks (`answer_chunks`).

The pool is created in the app lifespan (spawn, `workers` processes; the server starts them at
start-up, in-process apps with their first large store); at most `in_flight` large
stores hold shared memory at once (a semaphore), so many of them cannot exhaust memory. A worker
that dies fails its stores with 503 (retry) and the pool is replaced; no store waits on it forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.shared_memory import SharedMemory
from typing import Any, TypeVar

from acx.errors import UnavailableError
from acx.ingested import IngestResult
from acx_gateway import large_bodies
from acx_gateway.large_bodies import Ingested, Prepared, buffer

__all__ = ["DecodePool", "LargeStore", "answer_chunks"]

T = TypeVar("T")

#: Bytes copied per step (each copy holds the GIL for well under a millisecond).
CHUNK = 1 << 20


class DecodePool:
    """Worker processes that decode large store bodies; open in the lifespan, `close` at shutdown."""

    def __init__(self, workers: int = 1, in_flight: int = 2) -> None:
        self._workers = workers
        self._slots = asyncio.Semaphore(in_flight)
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))

    def start_workers(self) -> None:
        """Start the worker processes now (in the background) instead of with the first large store."""
        self._executor.submit(large_bodies.warm_up)

    async def run(self, fn: Callable[..., T], *args: Any, on_orphan: Callable[[T], None] | None = None) -> T:
        """`fn(*args)` in a worker process. If the caller is cancelled meanwhile, `on_orphan` gets
        the result when it comes (to free what it holds).

        Raises:
            UnavailableError: the worker process died (the pool is replaced; the store may be retried).
        """
        executor = self._executor
        try:
            future = executor.submit(fn, *args)
        except BrokenProcessPool:
            future = self._replace(executor).submit(fn, *args)
        try:
            return await asyncio.shield(asyncio.wrap_future(future))
        except BrokenProcessPool:
            self._replace(executor)
            raise UnavailableError("decoder_unavailable", "the decoding process stopped; retry the request") from None
        except asyncio.CancelledError:
            if on_orphan is not None:
                future.add_done_callback(lambda done: _orphaned(done, on_orphan))
            raise

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        if self._executor is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()
        return self._executor

    @contextlib.asynccontextmanager
    async def store(self, body: list[bytes]) -> AsyncIterator[LargeStore]:
        """A large store's shared memory for the time of the block (waits for a free slot).

        `body`: the request body as received, in chunks (joining them would be one more long copy);
        emptied as it is copied into shared memory.
        """
        async with self._slots:
            large = LargeStore(self, sum(len(chunk) for chunk in body))
            try:
                await large.fill(body)
                yield large
            finally:
                # Unmapping and freeing ~100 MB of shared memory takes tens of milliseconds; the
                # GIL is released meanwhile, so a thread keeps the loop running.
                await asyncio.to_thread(large.close)

    async def close(self) -> None:
        """Stop the worker processes (waits for the decodes running, drops queued ones)."""
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)


def _orphaned(done: Future[T], on_orphan: Callable[[T], None]) -> None:
    if not done.cancelled() and done.exception() is None:
        on_orphan(done.result())


def _drop_segment(ingested: Ingested) -> None:
    with contextlib.suppress(FileNotFoundError):
        segment = SharedMemory(ingested.segment)
        segment.close()
        segment.unlink()


class LargeStore:
    """One large store: its body in shared memory, then the decoded results (read in place).

    Whoever opened it must keep it open until nothing uses its views any more (the batcher's
    write included): `DecodePool.store` closes it at the end of its block.
    """

    def __init__(self, pool: DecodePool, size: int) -> None:
        self._pool = pool
        self._body = SharedMemory(create=True, size=max(size, 1))
        self._size = size
        self._body_views: list[memoryview] = []
        self._out: SharedMemory | None = None
        self._out_views: list[memoryview] = []
        #: Set by `ingest`: the answer's `parts` (a view of shared memory) and the message's role.
        self.answer_parts: memoryview | None = None
        self.role: str | None = None

    async def fill(self, body: list[bytes]) -> None:
        """Move the body in, a slice at a time, letting the loop run between slices (each chunk
        is dropped once copied: freeing them all at once is another long call)."""
        buf = buffer(self._body)
        at = copied = 0
        for index, chunk in enumerate(body):
            body[index] = b""
            for start in range(0, len(chunk), CHUNK):
                piece = chunk[start : start + CHUNK]
                buf[at : at + len(piece)] = piece
                at += len(piece)
                copied += len(piece)
                if copied >= CHUNK:
                    copied = 0
                    await asyncio.sleep(0)
            del chunk
        body.clear()

    async def prepare(self) -> tuple[Prepared, memoryview]:
        """The body checked by a worker, and the blob's bytes (a view of the shared body)."""
        prepared = await self._pool.run(large_bodies.prepare, self._body.name, self._size)
        view = buffer(self._body)[prepared.blob_start : prepared.blob_end]
        self._body_views.append(view)
        return prepared, view

    async def ingest(self, prepared: Prepared, state_json: str) -> IngestResult:
        """Decode the blob against `state_json` in a worker (`StoreRequest.offload`).

        The result holds no decoded message (`message` is None): its stored parts are a view of
        shared memory, and so are the answer's `parts` (`answer_parts`).
        """
        ingested = await self._pool.run(
            large_bodies.ingest,
            self._body.name,
            prepared.blob_start,
            prepared.blob_end,
            prepared.fmt,
            state_json,
            on_orphan=_drop_segment,
        )
        self._close_out()  # decoded again (a retried plan): the newer result wins
        self._out = out = SharedMemory(ingested.segment)
        out.unlink()  # the name is not needed any more; the mapping lives until `close`
        parts = buffer(out)[: ingested.parts_size]
        self.answer_parts = buffer(out)[ingested.parts_size : ingested.parts_size + ingested.answer_size]
        self._out_views += [parts, self.answer_parts]
        self.role = ingested.role
        return IngestResult(None, ingested.role, parts, ingested.new_state_json)

    def _close_out(self) -> None:
        for view in self._out_views:
            view.release()
        self._out_views.clear()
        self.answer_parts = None
        if self._out is not None:
            self._out.close()
            self._out = None

    def close(self) -> None:
        """Release every view handed out and free the shared memory."""
        self._close_out()
        for view in self._body_views:
            view.release()
        self._body_views.clear()
        self._body.close()
        self._body.unlink()


async def answer_chunks(prefix: bytes, middle: memoryview, suffix: bytes) -> list[bytes]:
    """The answer `prefix + middle + suffix` as bytes of at most `CHUNK` (copied out of shared
    memory one chunk at a time, letting the loop run between chunks)."""
    chunks = [prefix]
    for start in range(0, len(middle), CHUNK):
        chunks.append(bytes(middle[start : start + CHUNK]))
        await asyncio.sleep(0)
    chunks.append(suffix)
    return chunks
