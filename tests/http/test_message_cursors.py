"""Message and event cursors: honoured without `limit`, bound to the session that issued them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http._helpers import assert_error_response
from tests.http.conftest import Client

TEXTS = [f"m{i}" for i in range(5)]


async def _session_with_messages(client: Client) -> tuple[str, list[str]]:
    session_id = (await client.post("/session", json={})).json()["data"]["id"]
    ids = []
    for text in TEXTS:
        stored = await client.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": text}})
        assert stored.status_code == 201, stored.text
        ids.append(stored.json()["data"]["id"])
    return session_id, ids


async def _page(client: Client, session_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/session/{session_id}/messages", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()["data"]
    return page


def _texts(page: dict[str, Any]) -> list[str]:
    return [item["content"] for item in page["items"]]


@pytest.mark.parametrize("time_desc", ["false", "true"])
async def test_cursor_without_limit_returns_everything_past_it(client: Client, time_desc: str) -> None:
    session_id, _ = await _session_with_messages(client)
    first = await _page(client, session_id, limit=2, time_desc=time_desc, format="openai")
    assert first["next_cursor"]
    rest = await _page(client, session_id, cursor=first["next_cursor"], time_desc=time_desc, format="openai")
    # Ascending: the three after the first page; newest-first: the three older than it, oldest first.
    assert _texts(first) == (TEXTS[-2:] if time_desc == "true" else TEXTS[:2])
    assert _texts(rest) == (TEXTS[:3] if time_desc == "true" else TEXTS[2:])
    assert rest["has_more"] is False
    assert not rest.get("next_cursor")


@pytest.mark.parametrize("limit", [{}, {"limit": 0}], ids=["no-limit", "limit-0"])
async def test_cursor_with_no_limit_or_limit_0_returns_the_rest(client: Client, limit: dict[str, int]) -> None:
    session_id, ids = await _session_with_messages(client)
    first = await _page(client, session_id, limit=1, format="acontext")
    rest = await _page(client, session_id, cursor=first["next_cursor"], format="acontext", **limit)
    assert rest["ids"] == ids[1:]
    assert rest["has_more"] is False


@pytest.mark.parametrize(
    ("view", "params"),
    [
        ("messages", {}),
        ("messages", {"time_desc": "true"}),
        ("messages", {"limit": 2}),
        ("messages", {"limit": 2, "time_desc": "true"}),
        ("messages", {"format": "openai"}),
        ("render", {"format": "openai"}),
    ],
    ids=["messages", "messages-desc", "messages-limit", "messages-limit-desc", "messages-openai", "render"],
)
async def test_message_cursor_of_another_session_is_rejected(client: Client, view: str, params: dict[str, Any]) -> None:
    session_a, _ = await _session_with_messages(client)
    session_b, _ = await _session_with_messages(client)
    cursor_a = (await _page(client, session_a, limit=2))["next_cursor"]
    assert cursor_a
    response = await client.get(f"/session/{session_b}/{view}", params={"cursor": cursor_a, **params})
    assert_error_response(response, 400)
    assert "cursor" in response.json()["msg"]
    # The cursor still works where it was issued.
    assert _texts(await _page(client, session_a, cursor=cursor_a, format="openai")) == TEXTS[2:]


async def test_event_cursor_of_another_session_is_rejected(client: Client) -> None:
    sessions = [(await client.post("/session", json={})).json()["data"]["id"] for _ in range(2)]
    for session_id in sessions:
        for i in range(3):
            response = await client.post(f"/session/{session_id}/events", json={"type": "note", "data": {"i": i}})
            assert response.status_code in (200, 201), response.text
    cursor = (await client.get(f"/session/{sessions[0]}/events", params={"limit": 1})).json()["data"]["next_cursor"]
    assert cursor
    other = await client.get(f"/session/{sessions[1]}/events", params={"limit": 1, "cursor": cursor})
    assert_error_response(other, 400)
    own = await client.get(f"/session/{sessions[0]}/events", params={"limit": 5, "cursor": cursor})
    assert len(own.json()["data"]["items"]) == 2
