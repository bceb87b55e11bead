"""The store batcher against real PostgreSQL: order, coalescing, failures, shutdown, idempotency.

Rows written by one transaction share their `xmin`, which tells how many commits a set of stores
took without instrumenting the code.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator

import msgspec
import psycopg
import pytest

from acx import rendering
from acx.db.message_writes import IdempotentWrite, Replayed, StoredMessage, StoreRequest
from acx.db.migrate import migrate
from acx.db.pool import Pool, open_pool
from acx.db.sessions import session_key
from acx.errors import ConflictError, DecodeError, NotFoundError, UnavailableError, UnprocessableError
from acx_gateway.batcher import StoreBatcher

pytestmark = pytest.mark.integration


class Committed:
    """The `on_committed` hook: records what would be queued for conversion."""

    def __init__(self) -> None:
        self.ids: list[uuid.UUID] = []

    async def __call__(self, message_ids: list[uuid.UUID], request_ids: list[str]) -> None:
        self.ids.extend(message_ids)


@pytest.fixture(scope="module")
def migrated(database_url: str) -> str:
    """The session's database with the schema and one project."""
    migrate(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (token_hmac, name) VALUES (%s, 'batcher') ON CONFLICT DO NOTHING", ("b",))
    return database_url


@pytest.fixture
async def pool(migrated: str) -> AsyncIterator[Pool]:
    """A small pool whose statements give up on a lock after 0.5 s."""
    opened = await open_pool(migrated, min_size=1, max_size=4, acquire_timeout=0.5)
    yield opened
    await opened.close()


@pytest.fixture
async def project(pool: Pool) -> uuid.UUID:
    """The test project's id."""
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT id FROM projects WHERE token_hmac = 'b'")).fetchone()
    assert row is not None
    project_id = row[0]
    assert isinstance(project_id, uuid.UUID)
    return project_id


async def new_session(pool: Pool, project: uuid.UUID) -> uuid.UUID:
    """A fresh, empty session; returns its storage key (what stores carry)."""
    public_id = uuid.uuid4()
    sid = session_key(project, public_id)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO sessions (id, public_id, project_id) VALUES (%s, %s, %s)", (sid, public_id, project)
        )
    return sid


def request(project: uuid.UUID, session: uuid.UUID, text: str, **extra: object) -> StoreRequest:
    """A plain OpenAI text message store."""
    blob = {"role": "user", "content": text}
    ingest = functools.partial(rendering.ingest, "openai", blob)
    return StoreRequest(project, session, "openai", msgspec.json.encode(blob).decode(), "{}", ingest, **extra)  # type: ignore[arg-type]


async def rows(pool: Pool, session: uuid.UUID) -> list[tuple[str, uuid.UUID, uuid.UUID | None, str]]:
    """(raw, id, parent_id, xmin) of a session's messages in sequence order."""
    async with pool.connection() as conn:
        found = await (
            await conn.execute(
                "SELECT raw, id, parent_id, xmin::text FROM messages WHERE session_id = %s ORDER BY seq", (session,)
            )
        ).fetchall()
    return [(str(r[0]), r[1], r[2], str(r[3])) for r in found]  # type: ignore[misc]


async def stored(batcher: StoreBatcher, req: StoreRequest) -> StoredMessage:
    """Store and expect a fresh row."""
    result = await batcher.store(req)
    assert isinstance(result, StoredMessage)
    return result


@pytest.mark.parametrize("flushers", [1, 4])
async def test_one_session_keeps_arrival_order_and_coalesces(pool: Pool, project: uuid.UUID, flushers: int) -> None:
    """60 concurrent stores into one session: sequence = arrival order, parents chained, few commits."""
    committed = Committed()
    batcher = StoreBatcher(pool, committed, flushers=flushers)
    session = await new_session(pool, project)
    try:
        texts = [f"message {i}" for i in range(60)]
        results = await asyncio.gather(*(stored(batcher, request(project, session, t)) for t in texts))
    finally:
        await batcher.close()
    found = await rows(pool, session)
    assert [msgspec.json.decode(raw)["content"] for raw, *_ in found] == texts
    assert [r.id for r in results] == [row[1] for row in found]
    assert [row[2] for row in found] == [None, *(row[1] for row in found[:-1])]
    # The first store goes alone; everything queued behind it shares the next commit(s).
    assert len({row[3] for row in found}) <= 3
    assert sorted(committed.ids) == sorted(r.id for r in results)
    async with pool.connection() as conn:
        head = await (
            await conn.execute("SELECT message_count, last_message_id FROM sessions WHERE id = %s", (session,))
        ).fetchone()
    assert head == (60, found[-1][1])


async def staggered(batcher: StoreBatcher, requests: list[StoreRequest], every: int = 5) -> list[StoredMessage]:
    """Start the stores a few at a time, so later ones arrive while earlier batches are written
    (and wait for them)."""
    tasks: list[asyncio.Task[StoredMessage]] = []
    for i, req in enumerate(requests):
        tasks.append(asyncio.create_task(stored(batcher, req)))
        if i % every == every - 1:
            await asyncio.sleep(0.001)
    return await asyncio.gather(*tasks)


async def test_stores_arriving_during_a_write_keep_order(pool: Pool, project: uuid.UUID) -> None:
    """Stores trickling into one session while its batches are written: arrival order, parents
    chained, no store lost or doubled, far fewer commits than stores."""
    batcher = StoreBatcher(pool, Committed(), flushers=4)
    session = await new_session(pool, project)
    texts = [f"trickle {i}" for i in range(80)]
    try:
        await stored(batcher, request(project, session, "first"))  # the head is known from here on
        results = await staggered(batcher, [request(project, session, t) for t in texts])
    finally:
        await batcher.close()
    found = await rows(pool, session)
    assert [msgspec.json.decode(raw)["content"] for raw, *_ in found] == ["first", *texts]
    assert [r.id for r in results] == [row[1] for row in found[1:]]
    assert [row[2] for row in found] == [None, *(row[1] for row in found[:-1])]
    assert len({row[3] for row in found}) < 60


async def test_many_sessions_share_commits(pool: Pool, project: uuid.UUID) -> None:
    """Stores over 20 sessions, each session in order, in far fewer transactions than stores."""
    batcher = StoreBatcher(pool, Committed(), flushers=2)
    sessions = [await new_session(pool, project) for _ in range(20)]
    try:
        await asyncio.gather(*(stored(batcher, request(project, s, f"{i}")) for i in range(5) for s in sessions))
    finally:
        await batcher.close()
    xmins: set[str] = set()
    for session in sessions:
        found = await rows(pool, session)
        assert [msgspec.json.decode(raw)["content"] for raw, *_ in found] == [str(i) for i in range(5)]
        xmins |= {row[3] for row in found}
    assert len(xmins) < 40


async def test_two_batchers_on_one_session_interleave_without_loss(
    pool: Pool, migrated: str, project: uuid.UUID
) -> None:
    """Two processes' batchers (two pools) storing into one session: every store lands once, each
    batcher's own stores stay in order, sequence numbers stay contiguous."""
    other_pool = await open_pool(migrated, min_size=1, max_size=4, acquire_timeout=2.0)
    first, second = StoreBatcher(pool, Committed()), StoreBatcher(other_pool, Committed())
    session = await new_session(pool, project)
    try:
        for round_ in range(3):  # rounds: each batcher's cached head goes stale in between
            await asyncio.gather(
                staggered(first, [request(project, session, f"a{round_}-{i}") for i in range(15)], every=3),
                staggered(second, [request(project, session, f"b{round_}-{i}") for i in range(15)], every=3),
            )
    finally:
        await first.close()
        await second.close()
        await other_pool.close()
    contents = [msgspec.json.decode(raw)["content"] for raw, *_ in await rows(pool, session)]
    assert len(contents) == len(set(contents)) == 90
    for prefix in ("a", "b"):
        mine = [c for c in contents if c.startswith(prefix)]
        assert mine == [f"{prefix}{r}-{i}" for r in range(3) for i in range(15)]
    found = await rows(pool, session)
    assert [row[2] for row in found] == [None, *(row[1] for row in found[:-1])]


async def test_rejected_blob_and_missing_session_affect_no_other_store(pool: Pool, project: uuid.UUID) -> None:
    """In one batch: an invalid blob (400), a missing session and another project's session (404)."""
    batcher = StoreBatcher(pool, Committed(), flushers=1)
    session = await new_session(pool, project)
    bad_blob = {"role": "nobody", "content": "x"}
    bad = request(project, session, "bad")._replace(ingest=functools.partial(rendering.ingest, "openai", bad_blob))
    try:
        outcomes = await asyncio.gather(
            batcher.store(request(project, session, "one")),
            batcher.store(bad),
            batcher.store(request(project, uuid.uuid4(), "nowhere")),
            batcher.store(request(uuid.uuid4(), session, "not yours")),
            batcher.store(request(project, session, "two")),
            return_exceptions=True,
        )
    finally:
        await batcher.close()
    assert isinstance(outcomes[0], StoredMessage)
    assert isinstance(outcomes[1], DecodeError)
    assert isinstance(outcomes[2], NotFoundError)
    assert isinstance(outcomes[3], NotFoundError)
    assert isinstance(outcomes[4], StoredMessage)
    found = await rows(pool, session)
    assert [msgspec.json.decode(raw)["content"] for raw, *_ in found] == ["one", "two"]
    assert found[1][2] == found[0][1]


async def test_database_failure_answers_every_waiter(pool: Pool, project: uuid.UUID, migrated: str) -> None:
    """With `messages` locked, every waiting store fails fast (lock_timeout), none hangs; once the
    lock is gone the same sessions store again, in order."""
    batcher = StoreBatcher(pool, Committed(), flushers=2)
    sessions = [await new_session(pool, project) for _ in range(3)]
    try:
        await asyncio.gather(*(stored(batcher, request(project, s, "before")) for s in sessions))
        async with await psycopg.AsyncConnection.connect(migrated) as locker:
            await locker.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
            # wait_for is the hang guard, not a speed target: lock_timeout makes them fail far sooner.
            outcomes = await asyncio.wait_for(
                asyncio.gather(
                    *(batcher.store(request(project, s, f"locked {i}")) for i in range(4) for s in sessions),
                    return_exceptions=True,
                ),
                10,
            )
            await locker.rollback()
        assert all(isinstance(o, Exception) for o in outcomes), outcomes
        await asyncio.gather(*(stored(batcher, request(project, s, "after")) for s in sessions))
    finally:
        await batcher.close()
    for session in sessions:
        contents = [msgspec.json.decode(raw)["content"] for raw, *_ in await rows(pool, session)]
        assert contents == ["before", "after"]


async def test_close_answers_every_waiter_and_refuses_new_stores(pool: Pool, project: uuid.UUID) -> None:
    """Stores racing shutdown either commit or get 503; nothing hangs; committed ones are queued."""
    committed = Committed()
    batcher = StoreBatcher(pool, committed, flushers=1)
    session = await new_session(pool, project)
    tasks = [asyncio.create_task(batcher.store(request(project, session, f"{i}"))) for i in range(200)]
    await asyncio.sleep(0)
    await asyncio.wait_for(batcher.close(), 15)
    outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    done = [o for o in outcomes if isinstance(o, StoredMessage)]
    refused = [o for o in outcomes if isinstance(o, UnavailableError)]
    assert len(done) + len(refused) == len(tasks), outcomes
    assert sorted(committed.ids) == sorted(o.id for o in done)
    assert len(await rows(pool, session)) == len(done)
    with pytest.raises(UnavailableError):
        await batcher.store(request(project, session, "late"))


async def test_idempotent_stores_share_the_entry_point(pool: Pool, project: uuid.UUID) -> None:
    """One key: stored once, the same key in the same batch is 409, a retry replays the recorded
    body, the key with another request is 422; plain stores in the same batch are unaffected."""
    batcher = StoreBatcher(pool, Committed(), flushers=1)
    session = await new_session(pool, project)
    key = f"key-{uuid.uuid4()}"

    def keyed(text: str, fingerprint: str = "fp") -> StoreRequest:
        respond = lambda s: msgspec.json.encode({"id": str(s.id)})  # noqa: E731
        return request(project, session, text, idempotency=IdempotentWrite(key, fingerprint, respond))

    try:
        first, twin, plain = await asyncio.gather(
            batcher.store(keyed("once")),
            batcher.store(keyed("once")),
            batcher.store(request(project, session, "plain")),
            return_exceptions=True,
        )
        assert isinstance(first, StoredMessage)
        assert first.recorded == msgspec.json.encode({"id": str(first.id)})
        assert isinstance(twin, ConflictError)
        assert isinstance(plain, StoredMessage)
        replay = await batcher.store(keyed("once"))
        assert isinstance(replay, Replayed)
        assert replay.response.body == first.recorded
        with pytest.raises(UnprocessableError):
            await batcher.store(keyed("changed", fingerprint="other"))
    finally:
        await batcher.close()
    contents = [msgspec.json.decode(raw)["content"] for raw, *_ in await rows(pool, session)]
    assert contents == ["once", "plain"]
