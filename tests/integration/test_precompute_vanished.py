"""A session deleted while its conversion job runs: nothing to store, no error, the rest of the batch stored.

Runs the converter's precompute path in-process against the real database, with the session deleted
between the job's claim and its store (and, in the second test, while the store is under way).
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import psycopg
import pytest
from structlog.testing import capture_logs

from acx.db.renderings import claim_pending
from acx.pipeline import precompute_renderings
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


async def _session_with_messages(http: httpx.AsyncClient, count: int) -> tuple[str, list[uuid.UUID]]:
    session_id = (await http.post("/session", json={})).json()["data"]["id"]
    ids = []
    for i in range(count):
        response = await http.post(
            f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": f"m{i}"}}
        )
        assert response.status_code == 201, response.text
        ids.append(uuid.UUID(response.json()["data"]["id"]))
    return session_id, ids


async def _conversion_state(
    conn: psycopg.AsyncConnection[tuple[object, ...]], ids: list[uuid.UUID]
) -> list[tuple[object, ...]]:
    cursor = await conn.execute(
        "SELECT m.render_state, count(r.format) FROM messages m LEFT JOIN renderings r"
        " ON r.session_id = m.session_id AND r.message_id = m.id WHERE m.id = ANY(%s) GROUP BY m.id, m.render_state",
        (ids,),
    )
    return await cursor.fetchall()


async def test_session_deleted_between_claim_and_store(worker_stopped: Stack, ahttp: httpx.AsyncClient) -> None:
    gone, gone_ids = await _session_with_messages(ahttp, 3)
    _kept, kept_ids = await _session_with_messages(ahttp, 2)
    async with await psycopg.AsyncConnection.connect(worker_stopped.database_url, autocommit=True) as conn:
        claimed = await claim_pending(conn, gone_ids + kept_ids)
        assert {m.id for m in claimed} == set(gone_ids + kept_ids)
        assert (await ahttp.delete(f"/session/{gone}")).status_code == 200
        with capture_logs() as logs:
            converted, failed = await precompute_renderings(conn, claimed)
        assert (converted, failed) == (2, 0)
        assert [entry for entry in logs if entry["log_level"] not in ("debug",)] == []
        assert any("vanished" in entry["event"] for entry in logs), logs
        assert await _conversion_state(conn, kept_ids) == [("done", 4), ("done", 4)]
        assert await _conversion_state(conn, gone_ids) == []


async def test_delete_racing_the_store_waits_for_it(worker_stopped: Stack, ahttp: httpx.AsyncClient) -> None:
    """A delete already under way when the store starts: the store waits for it, then skips its messages."""
    gone, gone_ids = await _session_with_messages(ahttp, 2)
    _kept, kept_ids = await _session_with_messages(ahttp, 1)
    url = worker_stopped.database_url
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as conn,
        await psycopg.AsyncConnection.connect(url, autocommit=True) as deleter,
    ):
        claimed = await claim_pending(conn, gone_ids + kept_ids)
        async with deleter.transaction():
            await deleter.execute("DELETE FROM sessions WHERE public_id = %s", (uuid.UUID(gone),))
            store = asyncio.create_task(precompute_renderings(conn, claimed))
            await asyncio.sleep(0.5)
            assert not store.done(), "the store did not wait for the delete's locks"
        with capture_logs() as logs:
            assert await asyncio.wait_for(store, 10) == (1, 0)
        assert [entry for entry in logs if entry["log_level"] != "debug"] == []
        assert await _conversion_state(conn, kept_ids) == [("done", 4)]
        assert await _conversion_state(conn, gone_ids) == []
