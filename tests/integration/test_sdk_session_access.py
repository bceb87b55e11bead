"""Who reaches a session through the published `acontext` SDK (0.1.22): deleted and malformed session
ids, wrong or missing keys, and another project (which sees exactly what a missing session shows)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import acontext
import httpx
import pytest
from acontext.errors import APIError

from tests.integration._helpers import assert_api_error, assert_error_response, sdk_client
from tests.integration.conftest import Stack, unique_user
from tests.integration.test_sdk_sessions import list_all

pytestmark = pytest.mark.integration


# Every session call, as (SDK client, session id) -> result.
SESSION_CALLS: list[Any] = [
    pytest.param(lambda sdk, sid: sdk.sessions.get_configs(sid), id="get_configs"),
    pytest.param(lambda sdk, sid: sdk.sessions.update_configs(sid, configs={"owner": "other"}), id="update_configs"),
    pytest.param(lambda sdk, sid: sdk.sessions.patch_configs(sid, configs={"owner": "other"}), id="patch_configs"),
    pytest.param(lambda sdk, sid: sdk.sessions.get_messages(sid), id="get_messages"),
    pytest.param(lambda sdk, sid: sdk.sessions.get_messages(sid, format="acontext", limit=1), id="get_acontext_page"),
    pytest.param(
        lambda sdk, sid: sdk.sessions.store_message(sid, blob={"role": "user", "content": "intrusion"}),
        id="store_message",
    ),
    pytest.param(lambda sdk, sid: sdk.sessions.delete(sid), id="delete"),
]
SessionCall = Callable[[acontext.AcontextClient, str], object]


@pytest.mark.parametrize("call", SESSION_CALLS)
def test_deleted_session_is_404(client: acontext.AcontextClient, call: SessionCall) -> None:
    """After delete, every session call is 404 and the session is gone from the listing."""
    user = unique_user()
    session = client.sessions.create(user=user)
    client.sessions.store_message(session.id, blob={"role": "user", "content": "bye"})
    client.sessions.delete(session.id)
    with pytest.raises(APIError) as exc:
        call(client, session.id)
    assert_api_error(exc.value, 404)
    assert list_all(client, user=user) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/session/nope/configs"),
        ("DELETE", "/session/nope"),
        ("GET", "/session/nope/messages"),
        ("POST", "/session/nope/messages"),
    ],
)
def test_invalid_session_id_in_path(http: httpx.Client, method: str, path: str) -> None:
    """A path id that is not a UUID is 400 on every session route."""
    body = {"blob": {"role": "user", "content": "x"}} if method == "POST" else None
    assert_error_response(http.request(method, path, json=body), 400)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda sdk: sdk.ping(), id="ping"),
        pytest.param(lambda sdk: sdk.sessions.list(), id="list"),
        pytest.param(lambda sdk: sdk.sessions.create(), id="create"),
    ],
)
@pytest.mark.parametrize("key", ["sk-ac-wrong-key", "not-even-prefixed", "sk-ac-"])
def test_bad_key(stack: Stack, key: str, call: Callable[[acontext.AcontextClient], object]) -> None:
    """A wrong key is 401 on ping, list and create."""
    with sdk_client(stack.api_url, key) as client:
        with pytest.raises(APIError) as exc:
            call(client)
        assert_api_error(exc.value, 401)
        assert exc.value.payload == {"code": 401, "msg": "Unauthorized"}


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="no-header"),
        pytest.param("{key}", id="no-scheme"),
        pytest.param("Token {key}", id="token-scheme"),
    ],
)
def test_missing_or_malformed_authorization(stack: Stack, header: str | None) -> None:
    """No header, or a non-Bearer scheme, is 401 with the upstream body."""
    headers = {} if header is None else {"Authorization": header.format(key=stack.root_key)}
    response = httpx.get(f"{stack.api_url}/ping", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json() == {"code": 401, "msg": "Unauthorized"}


@pytest.mark.parametrize("call", SESSION_CALLS)
def test_other_project_gets_404_everywhere(
    client: acontext.AcontextClient, other: acontext.AcontextClient, call: SessionCall
) -> None:
    """Another project's session answers exactly like a missing one, and stays intact."""
    user = unique_user()
    session = client.sessions.create(user=user, configs={"owner": "root"})
    client.sessions.store_message(session.id, blob={"role": "user", "content": "secret"})
    missing = str(uuid.uuid4())
    with pytest.raises(APIError) as exc_foreign:
        call(other, session.id)
    with pytest.raises(APIError) as exc_absent:
        call(other, missing)
    assert_api_error(exc_foreign.value, 404)
    assert_api_error(exc_absent.value, 404)
    foreign_body = str(exc_foreign.value.payload).replace(session.id, "<id>")
    assert foreign_body == str(exc_absent.value.payload).replace(missing, "<id>")

    assert session.id not in list_all(other)
    assert list_all(other, user=user) == []
    assert client.sessions.get_configs(session.id).configs == {"owner": "root"}
    assert client.sessions.get_messages(session.id).items == [{"role": "user", "content": "secret"}]


def test_other_project_may_use_the_same_session_id(
    client: acontext.AcontextClient, other: acontext.AcontextClient
) -> None:
    """Session ids live per project: the other project may use the same id, which reveals nothing."""
    session = client.sessions.create()
    client.sessions.store_message(session.id, blob={"role": "user", "content": "secret"})
    assert other.sessions.create(use_uuid=session.id).id == session.id
    assert client.sessions.get_messages(session.id).items == [{"role": "user", "content": "secret"}]
