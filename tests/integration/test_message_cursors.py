"""Message and event cursors: honoured without `limit`, bound to the session that issued them."""

from __future__ import annotations

import acontext
import httpx
import pytest
from acontext.errors import APIError

from tests.integration._helpers import assert_api_error, assert_error_response

pytestmark = pytest.mark.integration

TEXTS = [f"m{i}" for i in range(5)]


def _session_with_messages(client: acontext.AcontextClient) -> tuple[str, list[str]]:
    session_id = client.sessions.create().id
    ids = [client.sessions.store_message(session_id, blob={"role": "user", "content": t}).id for t in TEXTS]
    return session_id, ids


def _texts(page: acontext.types.session.GetMessagesOutput) -> list[str]:
    return [item["content"] for item in page.items]


@pytest.mark.parametrize("time_desc", [False, True])
def test_cursor_without_limit_returns_everything_past_it(client: acontext.AcontextClient, time_desc: bool) -> None:
    session_id, _ = _session_with_messages(client)
    first = client.sessions.get_messages(session_id, limit=2, time_desc=time_desc, format="openai")
    assert first.next_cursor
    rest = client.sessions.get_messages(session_id, cursor=first.next_cursor, time_desc=time_desc, format="openai")
    # Ascending: the three after the first page; newest-first: the three older than it, oldest first.
    assert _texts(first) == (TEXTS[-2:] if time_desc else TEXTS[:2])
    assert _texts(rest) == (TEXTS[:3] if time_desc else TEXTS[2:])
    assert rest.has_more is False
    assert not rest.next_cursor


def test_cursor_without_limit_over_http(http: httpx.Client, client: acontext.AcontextClient) -> None:
    session_id, ids = _session_with_messages(client)
    first = http.get(f"/session/{session_id}/messages", params={"limit": 1, "format": "acontext"}).json()["data"]
    for params in ({"cursor": first["next_cursor"]}, {"cursor": first["next_cursor"], "limit": 0}):
        rest = http.get(f"/session/{session_id}/messages", params={**params, "format": "acontext"})
        assert rest.status_code == 200, rest.text
        assert rest.json()["data"]["ids"] == ids[1:]
        assert rest.json()["data"]["has_more"] is False


def test_message_cursor_of_another_session_is_rejected(http: httpx.Client, client: acontext.AcontextClient) -> None:
    session_a, _ = _session_with_messages(client)
    session_b, _ = _session_with_messages(client)
    cursor_a = client.sessions.get_messages(session_a, limit=2).next_cursor
    assert cursor_a
    for limit in (None, 2):
        for time_desc in (False, True):
            with pytest.raises(APIError) as exc:
                client.sessions.get_messages(session_b, limit=limit, cursor=cursor_a, time_desc=time_desc)
            assert_api_error(exc.value, 400)
    for view in ("messages", "render"):
        response = http.get(f"/session/{session_b}/{view}", params={"cursor": cursor_a, "format": "openai"})
        assert_error_response(response, 400)
        assert "cursor" in response.json()["msg"]
    # The cursor still works where it was issued.
    assert _texts(client.sessions.get_messages(session_a, cursor=cursor_a, format="openai")) == TEXTS[2:]


def test_event_cursor_of_another_session_is_rejected(http: httpx.Client, client: acontext.AcontextClient) -> None:
    sessions = [client.sessions.create().id for _ in range(2)]
    for session_id in sessions:
        for i in range(3):
            response = http.post(f"/session/{session_id}/events", json={"type": "note", "data": {"i": i}})
            assert response.status_code in (200, 201), response.text
    cursor = client.sessions.get_events(sessions[0], limit=1).next_cursor
    assert cursor
    with pytest.raises(APIError) as exc:
        client.sessions.get_events(sessions[1], limit=1, cursor=cursor)
    assert_api_error(exc.value, 400)
    assert len(client.sessions.get_events(sessions[0], limit=5, cursor=cursor).items) == 2
