"""The decode pool of large stores: worker processes, shared memory, crash and concurrency bounds.

The decoding functions are also run in this process (they are plain functions over shared memory),
against what the small path produces for the same blob.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import msgspec
import pytest

from acx import rendering
from acx.db.message_writes import StoredMessage
from acx.errors import AcxError, InvalidRequestError, UnavailableError
from acx_gateway import large_bodies
from acx_gateway.decode_pool import CHUNK, DecodePool, answer_chunks
from acx_gateway.routes.messages import _stored_body, large_answer_frame

_IMAGE = base64.b64encode(os.urandom(3 * CHUNK)).decode()
_BLOB = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_IMAGE}"}}]}
_BODY = msgspec.json.encode({"format": "openai", "blob": _BLOB, "meta": {"k": "v", "parts": []}})


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[DecodePool]:
    """A pool of one worker process and one store at a time (shared: spawning takes seconds)."""
    opened = DecodePool(workers=1, in_flight=1)
    yield opened
    await opened.close()


def _segments() -> set[str]:
    return {entry.name for entry in Path("/dev/shm").iterdir() if entry.name.startswith("psm_")}


def _chunked(data: bytes, size: int = 65_536) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def test_a_store_decodes_as_the_small_path_and_frees_its_shared_memory(pool: DecodePool) -> None:
    before = _segments()
    async with pool.store(_chunked(_BODY)) as large:
        prepared, raw = await large.prepare()
        assert (prepared.fmt, prepared.meta_json) == ("openai", '{"k":"v","parts":[]}')
        assert bytes(raw) == msgspec.json.encode(_BLOB)  # the blob's bytes as sent
        result = await large.ingest(prepared, "{}")
        expected = rendering.ingest("openai", _BLOB, "{}")
        assert result.message is None
        assert (result.role, result.new_state_json) == (expected.role, expected.new_state_json)
        assert bytes(result.parts_json) == expected.parts_json
        assert expected.message is not None
        stored = StoredMessage(uuid.uuid4(), uuid.uuid4(), None, "pending", datetime.now(UTC), datetime.now(UTC), None)
        public_id = uuid.uuid4()
        prefix, suffix = large_answer_frame(stored, prepared.meta_json, public_id, result.role)
        assert large.answer_parts is not None
        chunks = await answer_chunks(prefix, large.answer_parts, suffix)
        small = _stored_body(prepared.meta_json, public_id, stored._replace(message=expected.message))
        assert b"".join(chunks) == small  # the answer the small path encodes, byte for byte
        assert all(len(chunk) <= CHUNK for chunk in chunks[1:-1])
    assert _segments() <= before
    with pytest.raises(ValueError, match="released"):
        bytes(raw)  # views of the freed memory are released, not dangling


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"blob": {"role": "user", "content": "x"}', "invalid_json"),
        (b'{"format": "klingon", "blob": {}}', "invalid_format"),
        (b'{"format": "openai"}', "invalid_body"),
        (b'{"blob": {"role": "user", "content": "x"}, "meta": [1]}', "invalid_body"),
    ],
)
async def test_a_rejected_body_raises_what_the_small_path_raises(pool: DecodePool, body: bytes, code: str) -> None:
    async with pool.store([body]) as large:
        with pytest.raises(AcxError) as raised:
            await large.prepare()
    assert raised.value.code == code


async def test_a_blob_rejected_against_the_session_state_raises_its_decode_error(pool: DecodePool) -> None:
    answer = {"role": "tool", "tool_call_id": "call_nobody", "content": "42"}
    async with pool.store([msgspec.json.encode({"blob": answer})]) as large:
        prepared, _ = await large.prepare()
        with pytest.raises(AcxError) as raised:
            await large.ingest(prepared, "{}")
    assert raised.value.code == "orphan_tool_result"


async def test_a_dead_worker_is_a_clean_503_and_the_pool_is_replaced(pool: DecodePool) -> None:
    with pytest.raises(UnavailableError) as raised:
        await pool.run(os._exit, 1)  # the worker process dies mid-call
    assert raised.value.code == "decoder_unavailable"
    async with pool.store([_BODY]) as large:  # the next store gets a fresh process
        prepared, _ = await large.prepare()
    assert prepared.fmt == "openai"


async def test_stores_beyond_the_bound_wait_for_a_slot(pool: DecodePool) -> None:
    inside: list[int] = []
    first_in, release = asyncio.Event(), asyncio.Event()

    async def hold(tag: int) -> None:
        async with pool.store([b"{}"]):
            inside.append(tag)
            first_in.set()
            await release.wait()

    first = asyncio.create_task(hold(1))
    await first_in.wait()
    second = asyncio.create_task(hold(2))
    for _ in range(20):
        await asyncio.sleep(0)
    assert inside == [1]  # the second store waits while the first holds the only slot
    release.set()
    await asyncio.gather(first, second)
    assert inside == [1, 2]


async def test_a_failed_store_frees_its_shared_memory(pool: DecodePool) -> None:
    before = _segments()
    with pytest.raises(InvalidRequestError):
        async with pool.store([b'{"blob": 1, "format": "x"}']) as large:
            await large.prepare()
    assert _segments() <= before


async def test_close_stops_the_worker_processes() -> None:
    others = set(multiprocessing.active_children())
    pool = DecodePool(workers=2)
    await pool.run(large_bodies.warm_up)
    assert set(multiprocessing.active_children()) - others
    await pool.close()
    assert not set(multiprocessing.active_children()) - others


def test_the_blob_is_found_in_the_body_even_when_meta_repeats_it() -> None:
    blob = b'{"role":"user","content":"x"}'
    body = b'{"meta": {"copy": ' + blob + b'}, "blob": ' + blob + b"}"
    segment = SharedMemory(create=True, size=len(body))
    try:
        large_bodies.buffer(segment)[: len(body)] = body
        prepared = large_bodies.prepare(segment.name, len(body))
    finally:
        segment.close()
        segment.unlink()
    assert body[prepared.blob_start : prepared.blob_end] == blob
