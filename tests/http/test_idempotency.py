"""Idempotency-Key on creates: one write per key and project, replays answer the original, a key
reused for another request is 422, a malformed key is 400."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.http._helpers import assert_error_response, message_count
from tests.http.conftest import Client, concurrently

REQUESTS = 50


async def test_concurrent_message_posts_with_one_key_store_once(client: Client, session_id: str) -> None:
    """50 concurrent POSTs with one key: one write; the rest are 201 replays or 409 while it runs."""
    key = f"msg-{uuid.uuid4()}"
    body = {"format": "openai", "blob": {"role": "user", "content": "exactly once"}, "meta": {"n": 1}}
    path = f"/session/{session_id}/messages"
    responses = concurrently(client, REQUESTS, lambda c: c.post(path, json=body, headers={"Idempotency-Key": key}))
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)]
    created = [r for r in responses if r.status_code == 201]
    originals = [r for r in created if r.headers.get("Idempotent-Replayed") != "true"]
    assert len(originals) == 1, [dict(r.headers) for r in created]
    message_id = originals[0].json()["data"]["id"]
    assert {r.json()["data"]["id"] for r in created} == {message_id}
    for conflict in (r for r in responses if r.status_code == 409):
        assert_error_response(conflict, 409)

    replay = await client.post(path, json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 201, replay.text
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == originals[0].json()

    page = (await client.get(path, params={"format": "openai"})).json()["data"]
    assert page["ids"] == [message_id]
    assert page["items"] == [{"role": "user", "content": "exactly once"}]

    different = await client.post(
        path, json={**body, "blob": {"role": "user", "content": "changed"}}, headers={"Idempotency-Key": key}
    )
    assert_error_response(different, 422)
    other_session = (await client.post("/session", json={})).json()["data"]["id"]
    elsewhere = await client.post(f"/session/{other_session}/messages", json=body, headers={"Idempotency-Key": key})
    assert_error_response(elsewhere, 422)
    fresh = await client.post(path, json=body, headers={"Idempotency-Key": f"{key}-2"})
    assert fresh.status_code == 201
    assert "Idempotent-Replayed" not in fresh.headers
    without = await client.post(path, json=body)
    assert without.status_code == 201
    ids = (await client.get(path, params={"format": "openai"})).json()["data"]["ids"]
    assert ids == [message_id, fresh.json()["data"]["id"], without.json()["data"]["id"]]


async def test_concurrent_session_creates_with_one_key(client: Client) -> None:
    """50 concurrent POST /session with one key create exactly one session."""
    key = f"session-{uuid.uuid4()}"
    user = f"user-{uuid.uuid4().hex[:12]}@example.com"
    body = {"user": user, "configs": {"k": "v"}}
    responses = concurrently(
        client, REQUESTS, lambda c: c.post("/session", json=body, headers={"Idempotency-Key": key})
    )
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len([r for r in created if r.headers.get("Idempotent-Replayed") != "true"]) == 1
    assert len({r.json()["data"]["id"] for r in created}) == 1
    listing = (await client.get("/session", params={"user": user, "limit": 200})).json()["data"]
    assert [s["id"] for s in listing["items"]] == [created[0].json()["data"]["id"]]
    reused = await client.post("/session", json={"user": user}, headers={"Idempotency-Key": key})
    assert_error_response(reused, 422)


@pytest.mark.parametrize(
    "key",
    [b"x" * 256, "clé-ünïcode".encode(), b""],
    ids=["too-long", "non-ascii", "empty"],
)
@pytest.mark.parametrize("url", ["/session/{sid}/messages", "/session"], ids=["message", "session"])
async def test_invalid_idempotency_key_is_400(fresh: httpx.AsyncClient, url: str, key: bytes) -> None:
    """A key that is empty, longer than 255 characters or not printable ASCII is 400; nothing stored."""
    session_id = (await fresh.post("/session", json={})).json()["data"]["id"]
    body = {"format": "openai", "blob": {"role": "user", "content": "x"}}
    response = await fresh.post(url.format(sid=session_id), json=body, headers={b"Idempotency-Key": key})
    assert_error_response(response, 400)
    assert await message_count(fresh, session_id) == 0
    assert len((await fresh.get("/session")).json()["data"]["items"]) == 1


async def test_the_longest_idempotency_key_is_accepted(client: Client, session_id: str) -> None:
    """255 printable ASCII characters: the limit itself is a valid key."""
    longest = uuid.uuid4().hex.ljust(255, "k")
    body = {"format": "openai", "blob": {"role": "user", "content": "x"}}
    ok = await client.post(f"/session/{session_id}/messages", json=body, headers={"Idempotency-Key": longest})
    assert ok.status_code == 201, ok.text


async def test_idempotency_keys_are_per_project(client: Client, other: httpx.AsyncClient) -> None:
    """The same key in another project is an independent write."""
    key = f"shared-{uuid.uuid4()}"
    mine = await client.post("/session", json={}, headers={"Idempotency-Key": key})
    assert mine.status_code == 201
    theirs = await other.post("/session", json={}, headers={"Idempotency-Key": key})
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["data"]["id"] != mine.json()["data"]["id"]
    assert theirs.json()["data"]["project_id"] != mine.json()["data"]["project_id"]
