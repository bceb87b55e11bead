"""Input limits and the NUL / surrogate policy: clear 4xx answers, nothing stored, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.http._helpers import assert_error_response, message_count
from tests.http.conftest import Client, StartGateway

HUGE = {"k": "x" * (64 * 1024)}


async def test_body_over_the_limit_is_413(start_gateway: StartGateway) -> None:
    """A body over MAX_BODY_BYTES is refused with 413 in the envelope."""
    small = await start_gateway(MAX_BODY_BYTES="4096")
    session_id = (await small.post("/session", json={})).json()["data"]["id"]
    big = await small.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "x" * 8000}})
    assert big.status_code == 413, big.text
    assert big.json()["code"] == 413
    assert await message_count(small, session_id) == 0


@pytest.mark.parametrize(
    ("method", "url", "body", "code"),
    [
        (
            "POST",
            "/session/{sid}/messages",
            {"blob": {"role": "user", "content": "hi"}, "meta": HUGE},
            "meta_too_large",
        ),
        ("PUT", "/session/{sid}/configs", {"configs": HUGE}, "configs_too_large"),
        ("POST", "/session", {"configs": HUGE}, "configs_too_large"),
    ],
    ids=["message-meta", "put-configs", "create-configs"],
)
async def test_meta_and_configs_over_64_kib_are_413(
    client: Client, session_id: str, method: str, url: str, body: dict[str, Any], code: str
) -> None:
    """meta and configs are limited to 64 KiB encoded."""
    assert_error_response(await client.request(method, url.format(sid=session_id), json=body), 413, code)
    assert await message_count(client, session_id) == 0


async def test_nul_is_kept_in_blobs_and_meta(client: Client, session_id: str) -> None:
    """U+0000 inside a message or its meta is stored (as escaped JSON) and read back exactly."""
    blob = {"role": "user", "content": "before\u0000after"}
    stored = await client.post(f"/session/{session_id}/messages", json={"blob": blob, "meta": {"note": "a\u0000b"}})
    assert stored.status_code == 201, stored.text
    page = (await client.get(f"/session/{session_id}/messages", params={"format": "openai"})).json()["data"]
    assert page["items"] == [blob]
    assert page["metas"] == [{"note": "a\u0000b"}]
    anthropic = (await client.get(f"/session/{session_id}/messages", params={"format": "anthropic"})).json()["data"]
    assert anthropic["items"][0]["content"] == "before\u0000after"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/session", {"configs": {"k": "a\u0000b"}}),
        ("post", "/session", {"user": "al\u0000ice"}),
        ("put", "/session/{sid}/configs", {"configs": {"a\u0000": 1}}),
        ("patch", "/session/{sid}/configs", {"configs": {"k": ["\u0000"]}}),
        ("post", "/session/{sid}/events", {"type": "t\u0000", "data": {}}),
    ],
    ids=["create-configs", "create-user", "put-configs-key", "patch-configs-value", "event-type"],
)
async def test_nul_is_refused_where_postgres_cannot_store_it(
    client: Client, session_id: str, method: str, path: str, body: dict[str, object]
) -> None:
    """jsonb and plain text columns cannot hold U+0000: a 400 that says so, never a 500."""
    response = await client.request(method, path.format(sid=session_id), json=body)
    assert_error_response(response, 400, "invalid_parameter")
    assert "NUL" in response.json()["msg"]


async def test_nul_in_a_query_parameter_is_400(client: Client) -> None:
    """A user filter with U+0000 is refused, not sent to PostgreSQL."""
    assert_error_response(await client.get("/session", params={"user": "a\u0000b"}), 400, "invalid_parameter")


async def test_lone_surrogates_are_invalid_json(client: Client, session_id: str) -> None:
    """A lone UTF-16 surrogate escape is not valid Unicode: 400, nothing stored."""
    raw = json.dumps({"blob": {"role": "user", "content": "x"}}).replace('"x"', '"\\ud800"')
    response = await client.post(
        f"/session/{session_id}/messages", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert_error_response(response, 400, "invalid_json")
    assert await message_count(client, session_id) == 0
