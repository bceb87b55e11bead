"""`client.users` of the published `acontext` SDK (0.1.22), sync and async, against the real gateway.

Each test runs in a project of its own, so listings hold exactly the users the test made.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import acontext
import httpx
import psycopg
import pytest
from acontext.errors import APIError
from acontext.event import TextEvent

from tests.integration._helpers import assert_api_error, sdk_client
from tests.integration.conftest import Stack, new_project_key
from tests.integration.test_assets import make_png, sha

pytestmark = pytest.mark.integration

# Identifiers the SDK must carry through `quote(identifier, safe="")` and back.
ODD_IDENTIFIERS = ["alice@example.com", "x y+z?#&=%", "a%2Fb", "...", "resources", "ünï€ødé", "ls-not"]


@pytest.fixture
def client(stack: Stack, fresh_project_key: str) -> Iterator[acontext.AcontextClient]:
    """SDK client of the test's own, empty project."""
    with sdk_client(stack.api_url, fresh_project_key) as c:
        yield c


def _png_message(client: acontext.AcontextClient, session_id: str, png: bytes) -> None:
    client.sessions.store_message(
        session_id,
        blob={"role": "user", "parts": [{"type": "image", "file_field": "img"}]},  # type: ignore[arg-type]
        format="acontext",
        file_field="img",
        file=("a.png", png, "image/png"),
    )


def _count(database_url: str, sql: str, value: object) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(sql, (value,)).fetchone()
    assert row is not None
    return int(row[0])


def test_list_pages_both_ways(client: acontext.AcontextClient) -> None:
    """limit/cursor/time_desc page through users in creation order; no limit lists them all."""
    names = [f"u{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    for name in names:
        client.sessions.create(user=name)
    client.sessions.create(user=names[1])  # a second session does not make a second user

    everyone = client.users.list()
    assert [u.identifier for u in everyone.items] == names
    assert everyone.has_more is False
    assert everyone.next_cursor is None

    first = client.users.list(limit=2)
    assert [u.identifier for u in first.items] == names[:2]
    assert first.has_more is True
    assert first.next_cursor
    rest = client.users.list(limit=2, cursor=first.next_cursor)
    assert [u.identifier for u in rest.items] == names[2:]
    assert rest.has_more is False

    newest = client.users.list(limit=2, time_desc=True)
    assert [u.identifier for u in newest.items] == names[::-1][:2]
    oldest = client.users.list(limit=2, time_desc=True, cursor=newest.next_cursor)
    assert [u.identifier for u in oldest.items] == names[:1]
    assert oldest.has_more is False

    user = everyone.items[0]
    assert uuid.UUID(user.id)
    assert user.project_id == client.sessions.create().project_id
    assert user.created_at == user.updated_at


def test_list_of_an_empty_project(client: acontext.AcontextClient) -> None:
    """No users: an empty page."""
    page = client.users.list(limit=5)
    assert (page.items, page.has_more, page.next_cursor) == ([], False, None)


def test_resources_count_sessions(client: acontext.AcontextClient) -> None:
    """sessions_count counts the user's sessions; disks and skills do not exist here."""
    name = f"counted-{uuid.uuid4().hex[:6]}"
    for _ in range(3):
        client.sessions.create(user=name)
    client.sessions.create(user=f"someone-else-{uuid.uuid4().hex[:6]}")
    counts = client.users.get_resources(name).counts
    assert (counts.sessions_count, counts.disks_count, counts.skills_count) == (3, 0, 0)


@pytest.mark.parametrize("identifier", ODD_IDENTIFIERS)
def test_odd_identifiers_round_trip(client: acontext.AcontextClient, identifier: str) -> None:
    """Whatever the identifier, the URL-encoded path names exactly that user."""
    session = client.sessions.create(user=identifier)
    client.sessions.create(user=identifier + "-other")
    assert [u.identifier for u in client.users.list().items] == [identifier, identifier + "-other"]
    assert client.users.get_resources(identifier).counts.sessions_count == 1
    client.users.delete(identifier)
    assert [u.identifier for u in client.users.list().items] == [identifier + "-other"]
    with pytest.raises(APIError) as info:
        client.sessions.get_configs(session.id)
    assert_api_error(info.value, 404)


def test_user_without_sessions(client: acontext.AcontextClient) -> None:
    """Deleting a user's last session keeps the user (0 sessions); deleting the user then works."""
    name = f"empty-{uuid.uuid4().hex[:6]}"
    client.sessions.delete(client.sessions.create(user=name).id)
    assert [u.identifier for u in client.users.list().items] == [name]
    assert client.users.get_resources(name).counts.sessions_count == 0
    client.users.delete(name)
    assert client.users.list().items == []


def test_unaddressable_identifiers(client: acontext.AcontextClient) -> None:
    """Sessions of users "a/b" and "ls" exist, but the user paths cannot name them (see README)."""
    for name in ("a/b", "ls"):
        client.sessions.create(user=name)
    assert sorted(u.identifier for u in client.users.list().items) == ["a/b", "ls"]
    with pytest.raises(APIError) as info:
        client.users.get_resources("a/b")  # `%2F` reaches routing as a separator
    assert_api_error(info.value, 404)
    with pytest.raises(APIError) as info:
        client.users.delete("ls")  # the listing's path
    assert_api_error(info.value, 405)
    assert client.users.get_resources("ls").counts.sessions_count == 1


USER_CALLS: list[Any] = [
    pytest.param(lambda sdk, name: sdk.users.get_resources(name), id="get_resources"),
    pytest.param(lambda sdk, name: sdk.users.delete(name), id="delete"),
]
UserCall = Callable[[acontext.AcontextClient, str], object]


@pytest.mark.parametrize("call", USER_CALLS)
def test_unknown_user_is_404(client: acontext.AcontextClient, call: UserCall) -> None:
    """get_resources and delete of an identifier nobody used: 404."""
    with pytest.raises(APIError) as info:
        call(client, "nobody")
    assert_api_error(info.value, 404)


def test_delete_removes_everything_the_user_owns(
    client: acontext.AcontextClient, stack: Stack, fresh_http: httpx.Client
) -> None:
    """Sessions, messages, renderings, events and unshared files go; other users' data stays."""
    name, keeper = f"leaving-{uuid.uuid4().hex[:6]}", f"staying-{uuid.uuid4().hex[:6]}"
    shared_png, own_png = make_png(uuid.uuid4().hex), make_png(uuid.uuid4().hex)
    doomed = [client.sessions.create(user=name).id for _ in range(2)]
    kept = client.sessions.create(user=keeper).id
    anonymous = client.sessions.create().id
    for sid in doomed:
        client.sessions.store_message(sid, blob={"role": "user", "content": "hi"}, format="openai")
        _png_message(client, sid, own_png)
        client.sessions.add_event(sid, TextEvent(text="event"))
    _png_message(client, doomed[0], shared_png)
    _png_message(client, kept, shared_png)
    client.sessions.store_message(anonymous, blob={"role": "user", "content": "mine"}, format="openai")
    for sid in doomed:  # convert every message, so renderings exist to be deleted
        client.sessions.get_messages(sid, format="anthropic")

    client.users.delete(name)

    for sid in doomed:
        with pytest.raises(APIError) as info:
            client.sessions.get_messages(sid)
        assert_api_error(info.value, 404)
    for table in ("messages", "renderings", "session_events", "message_assets"):
        assert _count(stack.database_url, f"SELECT count(*) FROM {table} WHERE session_id = ANY(%s)", doomed) == 0
    assert _count(stack.database_url, "SELECT count(*) FROM assets WHERE sha256 = %s", sha(own_png)) == 0
    assert _count(stack.database_url, "SELECT ref_count FROM assets WHERE sha256 = %s", sha(shared_png)) == 1
    download = fresh_http.get(f"/session/{kept}/asset/download", params={"s3_key": f"assets/{sha(shared_png)}"})
    assert download.status_code == 200
    assert download.content == shared_png
    assert [u.identifier for u in client.users.list().items] == [keeper]
    assert client.users.get_resources(keeper).counts.sessions_count == 1
    assert len(client.sessions.get_messages(anonymous).items) == 1
    with pytest.raises(APIError) as info:
        client.users.delete(name)
    assert_api_error(info.value, 404)
    # The identifier is free again: a new session makes a new, empty user.
    client.sessions.create(user=name)
    assert client.users.get_resources(name).counts.sessions_count == 1


@pytest.mark.parametrize("call", USER_CALLS)
def test_other_projects_users_are_invisible(client: acontext.AcontextClient, stack: Stack, call: UserCall) -> None:
    """Another project neither lists, counts nor deletes this project's users."""
    name = f"private-{uuid.uuid4().hex[:6]}"
    client.sessions.create(user=name)
    with sdk_client(stack.api_url, new_project_key(stack.database_url, "stranger")) as stranger:
        assert stranger.users.list().items == []
        with pytest.raises(APIError) as info:
            call(stranger, name)
        assert_api_error(info.value, 404)
        stranger.sessions.create(user=name)  # the same identifier there is another user
        stranger.users.delete(name)
    assert client.users.get_resources(name).counts.sessions_count == 1


async def test_async_client_users(stack: Stack, fresh_project_key: str) -> None:
    """The async SDK: list, get_resources, delete."""
    name = f"async-{uuid.uuid4().hex[:6]}"
    async with acontext.AcontextAsyncClient(api_key=fresh_project_key, base_url=stack.api_url) as client:
        await client.sessions.create(user=name)
        await client.sessions.create(user=name)
        page = await client.users.list(limit=10, time_desc=True)
        assert [u.identifier for u in page.items] == [name]
        assert (await client.users.get_resources(name)).counts.sessions_count == 2
        await client.users.delete(name)
        assert (await client.users.list()).items == []
        with pytest.raises(APIError) as info:
            await client.users.get_resources(name)
        assert_api_error(info.value, 404)


async def test_delete_while_the_user_is_busy(stack: Stack, fresh_project_key: str) -> None:
    """Stores, session creates and a delete racing: no 5xx, and afterwards nothing points at a gone user.

    Every store answers 201 (before the delete) or 404 (after); every session the user has
    afterwards was created after the delete, under a new user row.
    """
    name = f"busy-{uuid.uuid4().hex[:6]}"
    headers = {"Authorization": f"Bearer {fresh_project_key}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=30) as api:
        sessions = [(await api.post("/session", json={"user": name})).json()["data"]["id"] for _ in range(4)]

        async def store(sid: str, n: int) -> int:
            body = {"format": "openai", "blob": {"role": "user", "content": f"message {n}"}}
            return (await api.post(f"/session/{sid}/messages", json=body)).status_code

        async def create() -> int:
            return (await api.post("/session", json={"user": name})).status_code

        async def remove() -> int:
            return (await api.delete(f"/user/{name}")).status_code

        tasks = [store(sessions[n % 4], n) for n in range(40)] + [create() for _ in range(4)] + [remove()]
        statuses = await asyncio.gather(*tasks)
        assert set(statuses[:40]) <= {201, 404}, statuses
        assert set(statuses[40:44]) == {201}, statuses
        assert statuses[44] == 200
        for sid in sessions:
            assert (await api.get(f"/session/{sid}/configs")).status_code == 404
        left = (await api.get(f"/user/{name}/resources")).json()
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        orphans = conn.execute(
            "SELECT count(*) FROM messages m WHERE m.session_id = ANY(%s)"
            " OR NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = m.session_id)",
            (sessions,),
        ).fetchone()
        owned = conn.execute(
            "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.identifier = %s", (name,)
        ).fetchone()
    assert orphans == (0,)
    # Creates that ran after the delete made a new user with their sessions; earlier ones lost theirs.
    assert owned is not None
    assert 0 <= owned[0] <= 4
    if owned[0]:
        assert left["data"]["counts"]["sessions_count"] == owned[0]
    else:
        assert left["code"] == 404
