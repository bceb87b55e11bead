"""Projects (issue 12 row 9, items 2 and 6): session ids live per project, so any project may use
any UUID, sees only its own session behind it, and every answer speaks in public ids.
(`acx-admin` itself, a command operators run, is tested as a process: tests/integration/test_admin_cli.py.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from acx.config import Settings
from tests.http._helpers import assert_error_response, message_count, new_project_key
from tests.http.conftest import Client, as_project

Tenants = tuple[httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
async def tenants(client: Client, settings: Settings, database_url: str) -> AsyncIterator[Tenants]:
    """Clients of two fresh projects."""
    key_a = await new_project_key(settings, database_url, "tenant-a")
    key_b = await new_project_key(settings, database_url, "tenant-b")
    async with as_project(client, key_a) as a, as_project(client, key_b) as b:
        yield a, b


async def test_any_project_may_use_any_uuid(tenants: Tenants) -> None:
    """B choosing A's session id used to be 409 session_exists: an oracle and a way to squat ids."""
    a, b = tenants
    wanted = str(uuid.uuid4())
    made_a = await a.post("/session", json={"use_uuid": wanted, "configs": {"owner": "a"}})
    assert made_a.status_code == 201, made_a.text
    await a.post(f"/session/{wanted}/messages", json={"blob": {"role": "user", "content": "from a"}})
    # B can take the same id, and its answer says nothing about A's session.
    made_b = await b.post("/session", json={"use_uuid": wanted, "configs": {"owner": "b"}})
    assert made_b.status_code == 201, made_b.text
    assert made_b.json()["data"]["id"] == wanted
    assert made_b.json()["data"]["configs"] == {"owner": "b"}
    # Within one project the id is still unique.
    assert_error_response(await b.post("/session", json={"use_uuid": wanted}), 409, "session_exists")
    await b.post(f"/session/{wanted}/messages", json={"blob": {"role": "user", "content": "from b"}})
    await b.post(f"/session/{wanted}/events", json={"type": "note", "data": {"by": "b"}})
    # Each sees only its own session behind the same id.
    assert await message_count(a, wanted) == 1
    assert await message_count(b, wanted) == 1
    texts_a = (await a.get(f"/session/{wanted}/messages")).json()["data"]["items"]
    assert [item["content"] for item in texts_a] == ["from a"]
    assert (await a.get(f"/session/{wanted}/configs")).json()["data"]["configs"] == {"owner": "a"}
    assert (await a.get(f"/session/{wanted}/events")).json()["data"]["items"] == []
    [event] = (await b.get(f"/session/{wanted}/events")).json()["data"]["items"]
    assert event["session_id"] == wanted
    # Deleting B's session leaves A's alone.
    assert (await b.delete(f"/session/{wanted}")).status_code == 200
    assert await message_count(a, wanted) == 1
    listed = [s["id"] for s in (await a.get("/session")).json()["data"]["items"]]
    assert listed == [wanted]


async def test_store_and_copy_answer_with_public_ids(tenants: Tenants) -> None:
    a, _ = tenants
    wanted = str(uuid.uuid4())
    await a.post("/session", json={"use_uuid": wanted})
    stored = await a.post(f"/session/{wanted}/messages", json={"blob": {"role": "user", "content": "x"}})
    assert stored.json()["data"]["session_id"] == wanted
    copy = (await a.post(f"/session/{wanted}/copy")).json()["data"]
    assert copy["old_session_id"] == wanted
    assert await message_count(a, copy["new_session_id"]) == 1
    page = (await a.get(f"/session/{copy['new_session_id']}/messages", params={"format": "acontext"})).json()["data"]
    assert {item["session_id"] for item in page["items"]} == {copy["new_session_id"]}
