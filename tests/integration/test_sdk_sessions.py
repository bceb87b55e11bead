"""Session endpoints driven by the published `acontext` SDK (0.1.22) against the real gateway."""

from __future__ import annotations

import uuid
from typing import Any

import acontext
import httpx
import pytest
from acontext.errors import APIError

from tests.integration._helpers import assert_api_error, assert_error_response, sdk_client
from tests.integration.conftest import Stack, unique_user

pytestmark = pytest.mark.integration


def list_all(client: acontext.AcontextClient, **kwargs: Any) -> list[str]:
    """Every session id of a listing, following cursors."""
    ids: list[str] = []
    cursor = None
    while True:
        page = client.sessions.list(limit=200, cursor=cursor, **kwargs)
        ids.extend(s.id for s in page.items)
        if not page.has_more:
            return ids
        cursor = page.next_cursor


def test_ping(client: acontext.AcontextClient) -> None:
    """`ping()` returns the envelope's msg."""
    assert client.ping() == "pong"


async def test_ping_async(stack: Stack) -> None:
    """The async client pings too."""
    async with acontext.AcontextAsyncClient(api_key=stack.root_key, base_url=stack.api_url) as client:
        assert await client.ping() == "pong"


def test_create_plain(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """A session with defaults; the wire object carries `space_id: null` for the 0.0.x SDK."""
    session = client.sessions.create()
    assert uuid.UUID(session.id)
    assert session.project_id
    assert session.user_id is None
    assert session.configs is None
    assert session.disable_task_tracking is False
    assert session.created_at
    assert session.updated_at
    raw = http.get(f"/session/{session.id}/configs")
    assert raw.status_code == 200, raw.text
    body = raw.json()
    assert body["code"] == 0
    assert "space_id" in body["data"]
    assert body["data"]["space_id"] is None
    assert body["data"]["id"] == session.id


def test_create_status_is_201(http: httpx.Client) -> None:
    """`POST /session` answers 201, also for an empty body without Content-Type (TS 0.0.16)."""
    response = http.post("/session", content=b"")
    assert response.status_code == 201, response.text
    assert response.json()["code"] == 0
    assert response.headers["content-type"].startswith("application/json")


def test_create_with_user_configs_and_tracking(client: acontext.AcontextClient) -> None:
    """user, configs and disable_task_tracking are stored and read back by get_configs."""
    configs = {"agent": "bot1", "nested": {"x": [1, 2.5, True, None]}, "ünï": "cödé"}
    session = client.sessions.create(user=unique_user(), configs=configs, disable_task_tracking=True)
    assert session.user_id
    assert session.configs == configs
    assert session.disable_task_tracking is True
    again = client.sessions.get_configs(session.id)
    assert again.id == session.id
    assert again.user_id == session.user_id
    assert again.configs == configs
    assert again.disable_task_tracking is True


def test_same_user_shares_user_id(client: acontext.AcontextClient) -> None:
    """Two sessions of one user identifier get the same user_id; another user gets another."""
    user = unique_user()
    first = client.sessions.create(user=user)
    second = client.sessions.create(user=user)
    third = client.sessions.create(user=unique_user())
    assert first.user_id == second.user_id
    assert third.user_id != first.user_id


def test_create_use_uuid(client: acontext.AcontextClient, other: acontext.AcontextClient) -> None:
    """use_uuid sets the id; reusing it in the project is 409; another project may use it too (ids
    live per project, so a 409 would tell it which ids exist elsewhere); the original is untouched."""
    wanted = str(uuid.uuid4())
    session = client.sessions.create(use_uuid=wanted, configs={"v": 1})
    assert session.id == wanted
    with pytest.raises(APIError) as exc:
        client.sessions.create(use_uuid=wanted, configs={"v": 2})
    assert_api_error(exc.value, 409)
    assert other.sessions.create(use_uuid=wanted, configs={"v": 3}).id == wanted
    assert client.sessions.get_configs(wanted).configs == {"v": 1}
    assert other.sessions.get_configs(wanted).configs == {"v": 3}


@pytest.mark.parametrize("bad", ["not-a-uuid", "123", "123e4567-e89b-12d3-a456-42661417400Z"])
def test_create_invalid_uuid(client: acontext.AcontextClient, bad: str) -> None:
    """An unparsable use_uuid is a 400 and creates nothing."""
    with pytest.raises(APIError) as exc:
        client.sessions.create(use_uuid=bad)
    assert_api_error(exc.value, 400)


def test_create_rejects_bad_body(http: httpx.Client) -> None:
    """Malformed JSON and non-object configs are 400."""
    assert_error_response(
        http.post("/session", content=b"{not json", headers={"Content-Type": "application/json"}), 400
    )
    assert_error_response(http.post("/session", json={"configs": [1, 2]}), 400)


def test_create_configs_too_large(http: httpx.Client) -> None:
    """configs over 64 KB are 413."""
    assert_error_response(http.post("/session", json={"configs": {"blob": "x" * 70_000}}), 413)


def test_list_filters_by_user(client: acontext.AcontextClient) -> None:
    """`user` restricts the listing to that user's sessions."""
    alice, bob = unique_user(), unique_user()
    mine = [client.sessions.create(user=alice).id for _ in range(2)]
    theirs = client.sessions.create(user=bob).id
    client.sessions.create()
    assert list_all(client, user=alice) == mine
    assert list_all(client, user=bob) == [theirs]
    assert list_all(client, user=unique_user()) == []


def test_list_filter_by_configs(client: acontext.AcontextClient) -> None:
    """filter_by_configs is JSON containment: partial, nested, type-sensitive; null configs never match."""
    tag = uuid.uuid4().hex
    user = unique_user()
    s1 = client.sessions.create(configs={"tag": tag, "agent": "bot1", "nested": {"k": 1, "z": 2}}).id
    s2 = client.sessions.create(configs={"tag": tag, "agent": "bot2"}, user=user).id
    client.sessions.create()
    client.sessions.create(configs={"tag": tag.upper()})

    assert list_all(client, filter_by_configs={"tag": tag}) == [s1, s2]
    assert list_all(client, filter_by_configs={"tag": tag, "agent": "bot1"}) == [s1]
    assert list_all(client, filter_by_configs={"tag": tag, "nested": {"k": 1}}) == [s1]
    assert list_all(client, filter_by_configs={"tag": tag, "nested": {"k": "1"}}) == []
    assert list_all(client, filter_by_configs={"tag": tag}, user=user) == [s2]
    assert list_all(client, filter_by_configs={"tag": tag}, time_desc=True) == [s2, s1]


@pytest.mark.parametrize("bad", ["not json", "[1]", '"tag"'])
def test_list_bad_filter_by_configs(http: httpx.Client, bad: str) -> None:
    """filter_by_configs must be a JSON object."""
    assert_error_response(http.get("/session", params={"filter_by_configs": bad}), 400)


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_list_limit_out_of_range(client: acontext.AcontextClient, limit: int) -> None:
    """limit must be 1..200."""
    with pytest.raises(APIError) as exc:
        client.sessions.list(limit=limit)
    assert_api_error(exc.value, 400)


def test_list_limit_not_a_number(http: httpx.Client) -> None:
    """A non-numeric limit is 400."""
    assert_error_response(http.get("/session", params={"limit": "abc"}), 400)


@pytest.fixture(scope="module")
def listed(stack: Stack) -> tuple[str, list[str]]:
    """A user with 23 sessions, for the listing walks (they only read): (user, session ids in creation order)."""
    user = unique_user()
    with sdk_client(stack.api_url, stack.root_key) as client:
        return user, [client.sessions.create(user=user).id for _ in range(23)]


def test_list_default_limit(client: acontext.AcontextClient, listed: tuple[str, list[str]]) -> None:
    """The default page size is 20."""
    user, created = listed
    first = client.sessions.list(user=user)
    assert [s.id for s in first.items] == created[:20]
    assert first.has_more is True
    assert first.next_cursor


@pytest.mark.parametrize("desc", [False, True], ids=["oldest-first", "newest-first"])
@pytest.mark.parametrize("limit", [1, 2, 7, 200])
def test_list_cursor_walk(
    client: acontext.AcontextClient, listed: tuple[str, list[str]], limit: int, desc: bool
) -> None:
    """A cursor walk covers every session exactly once, in order, in full pages."""
    user, created = listed
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.sessions.list(user=user, limit=limit, cursor=cursor, time_desc=desc)
        pages += 1
        assert len(page.items) <= limit
        seen.extend(s.id for s in page.items)
        if not page.has_more:
            assert not page.next_cursor
            break
        assert len(page.items) == limit
        assert page.next_cursor
        cursor = page.next_cursor
    assert seen == (created[::-1] if desc else created)
    assert pages == -(-23 // limit)


@pytest.mark.parametrize("bad", ["garbage!", "Zm9vfGJhcg", "x" * 10])
def test_list_bad_cursor(client: acontext.AcontextClient, bad: str) -> None:
    """A cursor that is not one the listing issued is 400."""
    with pytest.raises(APIError) as exc:
        client.sessions.list(cursor=bad)
    assert_api_error(exc.value, 400)


def test_list_refuses_a_messages_cursor(client: acontext.AcontextClient, http: httpx.Client, session_id: str) -> None:
    """A cursor issued by the messages listing is 400 for the sessions listing."""
    for _ in range(2):
        http.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi"}})
    message_cursor = http.get(f"/session/{session_id}/messages", params={"limit": 1}).json()["data"]["next_cursor"]
    assert message_cursor
    with pytest.raises(APIError) as exc:
        client.sessions.list(cursor=message_cursor)
    assert_api_error(exc.value, 400)


def test_list_bad_time_desc(http: httpx.Client) -> None:
    """time_desc must be a Go-style boolean."""
    assert_error_response(http.get("/session", params={"time_desc": "yes"}), 400)
    assert http.get("/session", params={"time_desc": "True", "limit": 1}).status_code == 200


def test_configs_update_and_patch(client: acontext.AcontextClient) -> None:
    """PUT replaces, PATCH merges (null deletes a key) and returns the merged configs."""
    session = client.sessions.create(configs={"a": 1, "b": {"c": 2}})
    client.sessions.update_configs(session.id, configs={"x": "y", "b": {"d": 3}})
    assert client.sessions.get_configs(session.id).configs == {"x": "y", "b": {"d": 3}}

    merged = client.sessions.patch_configs(session.id, configs={"x": None, "n": 1.5, "b": {"e": 4}})
    assert merged == {"n": 1.5, "b": {"e": 4}}
    assert client.sessions.get_configs(session.id).configs == merged

    assert client.sessions.patch_configs(session.id, configs={"missing": None}) == merged
    client.sessions.update_configs(session.id, configs={})
    assert client.sessions.get_configs(session.id).configs == {}

    fresh = client.sessions.create()
    assert client.sessions.patch_configs(fresh.id, configs={"k": "v"}) == {"k": "v"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-configs"),
        pytest.param({"configs": None}, id="null"),
        pytest.param({"configs": [1]}, id="list"),
        pytest.param({"configs": "x"}, id="string"),
    ],
)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_configs_body_must_be_an_object(http: httpx.Client, session_id: str, method: str, body: Any) -> None:
    """configs missing, null or not an object is 400."""
    assert_error_response(http.request(method, f"/session/{session_id}/configs", json=body), 400)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_configs_too_large(http: httpx.Client, session_id: str, method: str) -> None:
    """configs over 64 KB are 413."""
    body = {"configs": {"big": "x" * 70_000}}
    assert_error_response(http.request(method, f"/session/{session_id}/configs", json=body), 413)


async def test_async_client_session_lifecycle(stack: Stack) -> None:
    """The async SDK client drives the same endpoints."""
    user = unique_user()
    async with acontext.AcontextAsyncClient(api_key=stack.root_key, base_url=stack.api_url) as client:
        session = await client.sessions.create(user=user, configs={"a": 1})
        listed = await client.sessions.list(user=user)
        assert [s.id for s in listed.items] == [session.id]
        assert (await client.sessions.get_configs(session.id)).configs == {"a": 1}
        await client.sessions.update_configs(session.id, configs={"b": 2})
        assert await client.sessions.patch_configs(session.id, configs={"b": None, "c": 3}) == {"c": 3}
        await client.sessions.delete(session.id)
        with pytest.raises(APIError) as exc:
            await client.sessions.get_configs(session.id)
        assert_api_error(exc.value, 404)
        with pytest.raises(APIError) as exc:
            await client.sessions.list(limit=201)
        assert_api_error(exc.value, 400)
