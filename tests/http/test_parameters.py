"""Typed parameters and dependency providers, in process: bad values are 400 envelopes with a code."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.http.conftest import Client
from tests.http.test_openapi import OPERATIONS

_SESSION_OPERATIONS = [(path, method) for path, method, _, _ in OPERATIONS if "{session}" in path]


@pytest.mark.parametrize(
    ("path", "method"), _SESSION_OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in _SESSION_OPERATIONS]
)
async def test_a_session_path_that_is_no_uuid_is_400_on_every_route(client: Client, path: str, method: str) -> None:
    """The `session_id` provider answers upstream's text before any handler runs."""
    url = path.removeprefix("/api/v1").replace("{session}", "nope").replace("{message}", str(uuid.uuid4()))
    response = await client.request(method.upper(), url, json={})
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "msg": "invalid session_id: 'nope' is not a UUID",
        "data": {"error_code": "invalid_parameter"},
    }


@pytest.mark.parametrize("form", ["{%s}", "urn:uuid:%s", "%s"], ids=["braces", "urn", "canonical"])
async def test_session_ids_parse_as_go_uuid_parse_does(client: Client, session_id: str, form: str) -> None:
    response = await client.get(f"/session/{form % session_id}/configs")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == session_id


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/session", {"limit": "0"}),
        ("/session", {"limit": "201"}),
        ("/session", {"limit": "many"}),
        ("/session", {"time_desc": "yes"}),
        ("/session/{sid}/messages", {"format": "xml"}),
        ("/session/{sid}/messages", {"limit": "-1"}),
        ("/session/{sid}/messages", {"with_events": "maybe"}),
        ("/session/{sid}/render", {"format": "acontext"}),
        ("/session/{sid}/events", {"limit": "500"}),
    ],
)
async def test_bad_query_parameters_are_400_naming_them(
    client: Client, session_id: str, url: str, params: dict[str, str]
) -> None:
    response = await client.get(url.format(sid=session_id), params=params)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == 400
    assert body["data"]["error_code"] == "invalid_parameter"
    assert next(iter(params)) in body["msg"]


@pytest.mark.parametrize("spelling", ["1", "t", "T", "TRUE", "true", "True", "0", "f", "false", ""])
async def test_booleans_take_go_parse_bool_spellings(client: Client, session_id: str, spelling: str) -> None:
    response = await client.get(f"/session/{session_id}/messages", params={"time_desc": spelling})
    assert response.status_code == 200, response.text


async def test_a_missing_session_is_one_404(client: Client) -> None:
    response = await client.get(f"/session/{uuid.uuid4()}/token_counts")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "msg": "session not found", "data": {"error_code": "session_not_found"}}


async def test_requests_without_a_key_are_401_envelopes(client: Client) -> None:
    response = await client.get("/session", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json() == {"code": 401, "msg": "Unauthorized"}
