"""Session events, processing status / flush and tasks through the published `acontext` SDK (0.1.22)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import acontext
import httpx
import psycopg
import pytest
from acontext.errors import APIError
from acontext.event import DiskEvent, TextEvent
from acontext.types.session import SessionEvent

from tests.integration._helpers import (
    assert_api_error,
    assert_error_response,
    sdk_client,
)
from tests.integration._session_conversations import Conv, mixed_conversation
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


def test_events(client: acontext.AcontextClient, http: httpx.Client, stack: Stack) -> None:
    """add_event returns the event (200, as upstream), get_events pages both ways, with_events windows by page."""
    conv = Conv.new(client)
    early = client.sessions.add_event(conv.session_id, TextEvent(text="before any message"))
    assert isinstance(early, SessionEvent)
    assert (early.type, early.data, early.session_id) == ("text_event", {"text": "before any message"}, conv.session_id)
    m1 = conv.user("first")
    inside = client.sessions.add_event(conv.session_id, DiskEvent(disk_id=str(uuid.uuid4()), path="/a.txt", note="n"))
    assert inside.type == "disk_event"
    assert inside.data["path"] == "/a.txt"
    assert inside.data["note"] == "n"
    response = http.post(f"/session/{conv.session_id}/events", json={"type": "custom", "data": {"k": [1, {"z": None}]}})
    assert response.status_code == 200, response.text
    raw_event = SessionEvent.model_validate(response.json()["data"])
    assert raw_event.data == {"k": [1, {"z": None}]}
    m2 = conv.assistant("second")
    late = client.sessions.add_event(conv.session_id, TextEvent(text="after the last message"))
    order = [early.id, inside.id, raw_event.id, late.id]

    pages: list[list[str]] = []
    cursor = None
    while True:
        page = client.sessions.get_events(conv.session_id, limit=2, cursor=cursor)
        pages.append([e.id for e in page.items])
        if not page.has_more:
            assert not page.next_cursor
            break
        cursor = page.next_cursor
    assert pages == [order[:2], order[2:]]
    desc = client.sessions.get_events(conv.session_id, limit=3, time_desc=True)
    assert [e.id for e in desc.items] == order[::-1][:3]
    assert desc.has_more is True
    rest = client.sessions.get_events(conv.session_id, limit=3, time_desc=True, cursor=desc.next_cursor)
    assert [e.id for e in rest.items] == [order[0]]
    assert rest.has_more is False
    assert [e.id for e in client.sessions.get_events(conv.session_id).items] == order

    window = client.sessions.get_messages(conv.session_id, with_events=True)
    assert window.ids == [m1, m2]
    assert window.events is not None
    assert [e.id for e in window.events] == [inside.id, raw_event.id]
    only_first = client.sessions.get_messages(conv.session_id, with_events=True, limit=1)
    assert only_first.ids == [m1]
    assert not only_first.events
    assert not client.sessions.get_messages(conv.session_id).events  # not requested

    client.sessions.delete(conv.session_id)
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM session_events WHERE session_id = (SELECT id FROM sessions WHERE public_id = %s)",
            (conv.session_id,),
        ).fetchone()
    assert row is not None
    assert row[0] == 0


BAD_EVENTS: list[Any] = [
    pytest.param({"data": {}}, id="no-type"),
    pytest.param({"type": "", "data": {}}, id="empty-type"),
    pytest.param({"type": "t"}, id="no-data"),
    pytest.param({"type": "t", "data": [1]}, id="data-list"),
    pytest.param({"type": 3, "data": {}}, id="type-number"),
    pytest.param({"type": "t", "data": None}, id="data-null"),
]


@pytest.mark.parametrize("bad", BAD_EVENTS)
def test_malformed_event_is_400(client: acontext.AcontextClient, http: httpx.Client, session_id: str, bad: Any) -> None:
    """A malformed event body is 400 and adds nothing."""
    assert_error_response(http.post(f"/session/{session_id}/events", json=bad), 400)
    assert client.sessions.get_events(session_id).items == []


@pytest.mark.parametrize("limit", [0, 201])
def test_events_limit_out_of_range(http: httpx.Client, session_id: str, limit: int) -> None:
    """get_events takes a limit of 1..200."""
    assert_error_response(http.get(f"/session/{session_id}/events", params={"limit": limit}), 400)


EVENT_CALLS: list[Any] = [
    pytest.param(lambda sdk, sid: sdk.sessions.add_event(sid, TextEvent(text="intrusion")), id="add_event"),
    pytest.param(lambda sdk, sid: sdk.sessions.get_events(sid), id="get_events"),
]


@pytest.mark.parametrize("call", EVENT_CALLS)
def test_events_of_a_missing_or_foreign_session(
    client: acontext.AcontextClient,
    session_id: str,
    unreachable: tuple[acontext.AcontextClient, str],
    call: Callable[[acontext.AcontextClient, str], object],
) -> None:
    """Nobody can add or list events of a missing session, nor of another project's (404)."""
    client.sessions.add_event(session_id, TextEvent(text="private"))
    with pytest.raises(APIError) as exc:
        call(*unreachable)
    assert_api_error(exc.value, 404)
    assert [e.data for e in client.sessions.get_events(session_id).items] == [{"text": "private"}]


# --------------------------------------------------------------------------------------------
# Processing status and flush
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tracking", "status"), [(True, "success"), (False, "disable_tracking")])
def test_observing_status_and_flush(worker_stopped: Stack, http: httpx.Client, tracking: bool, status: str) -> None:
    """With the converter stopped everything is pending; flush converts it synchronously."""
    with sdk_client(worker_stopped.api_url, worker_stopped.root_key) as client:
        if tracking:
            conv = mixed_conversation(client)
        else:
            conv = Conv.new(client, disable_task_tracking=True)
            conv.user("no tracking here")
            conv.assistant("fine")
        count = len(conv.ids)
        before = client.sessions.messages_observing_status(conv.session_id)
        assert (before.observed, before.in_process, before.pending) == (0, 0, count)
        assert before.updated_at
        raw = http.get(f"/session/{conv.session_id}/observing_status").json()["data"]
        assert raw.get("failed", 0) == 0
        assert client.sessions.get_token_counts(conv.session_id).total_tokens == conv.total()
        if tracking:
            items = client.sessions.get_messages(conv.session_id, format="acontext").items
            assert {i["session_task_process_status"] for i in items} == {"pending"}

        flag = client.sessions.flush(conv.session_id)
        assert (flag.status, flag.errmsg) == (0, "")
        after = client.sessions.messages_observing_status(conv.session_id)
        assert (after.observed, after.in_process, after.pending) == (count, 0, 0)
        items = client.sessions.get_messages(conv.session_id, format="acontext").items
        assert [i["session_task_process_status"] for i in items] == [status] * count
        assert client.sessions.get_token_counts(conv.session_id).total_tokens == conv.total()
        assert client.sessions.flush(conv.session_id).status == 0  # nothing left: still fine


def test_observing_status_of_an_empty_session(client: acontext.AcontextClient, session_id: str) -> None:
    """A session without messages observes nothing."""
    status = client.sessions.messages_observing_status(session_id)
    assert (status.observed, status.in_process, status.pending) == (0, 0, 0)
    assert client.sessions.flush(session_id).status == 0


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda sdk, sid: sdk.sessions.flush(sid), id="flush"),
        pytest.param(lambda sdk, sid: sdk.sessions.messages_observing_status(sid), id="observing_status"),
        pytest.param(lambda sdk, sid: sdk.sessions.get_tasks(sid), id="get_tasks"),
        pytest.param(lambda sdk, sid: sdk.sessions.get_session_summary(sid), id="get_session_summary"),
    ],
)
def test_status_flush_and_tasks_of_a_missing_or_foreign_session(
    unreachable: tuple[acontext.AcontextClient, str], call: Callable[[acontext.AcontextClient, str], object]
) -> None:
    """flush, observing status, tasks and the summary of a missing session, or of another project's, are 404."""
    with pytest.raises(APIError) as exc:
        call(*unreachable)
    assert_api_error(exc.value, 404)


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


def test_tasks_are_empty(client: acontext.AcontextClient) -> None:
    """get_tasks is an empty page, the summary is ""."""
    conv = Conv.new(client)
    conv.user("Plan a trip to Rome.")
    tasks = client.sessions.get_tasks(conv.session_id)
    assert (tasks.items, tasks.has_more) == ([], False)
    assert not tasks.next_cursor
    assert client.sessions.get_tasks(conv.session_id, limit=200, time_desc=True).items == []
    assert client.sessions.get_session_summary(conv.session_id) == ""
    assert client.sessions.get_session_summary(conv.session_id, limit=5) == ""


@pytest.mark.parametrize("limit", [0, 201])
def test_tasks_limit_out_of_range(client: acontext.AcontextClient, session_id: str, limit: int) -> None:
    """get_tasks takes a limit of 1..200."""
    with pytest.raises(APIError) as exc:
        client.sessions.get_tasks(session_id, limit=limit)
    assert_api_error(exc.value, 400)


def test_tasks_limit_not_a_number(http: httpx.Client, session_id: str) -> None:
    """A non-numeric limit is 400."""
    assert_error_response(http.get(f"/session/{session_id}/task", params={"limit": "x"}), 400)
