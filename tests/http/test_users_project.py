"""HTTP semantics of `/user` and `/project/configs` in-process: every bad input is a 4xx with its
code in the envelope, and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.http._helpers import assert_error_response

CONFIGS_LIMIT = 64 * 1024


async def _configs(api: httpx.AsyncClient) -> Any:
    response = await api.get("/project/configs")
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"[1, 2]", 400, "invalid_body"),
        (b'"text"', 400, "invalid_body"),
        (b"null", 400, "invalid_body"),
        (b"{}", 400, "invalid_body"),
        (b"", 400, "invalid_body"),
        (b"{not json", 400, None),
        (b'{"k": "\\u0000"}', 400, "invalid_parameter"),
        (b'{"k": "' + b"x" * (CONFIGS_LIMIT + 1) + b'"}', 413, "configs_too_large"),
        (b'{"' + b"k" * 257 + b'": 1}', 413, "key_too_long"),
    ],
)
async def test_bad_configs_patch_changes_nothing(
    fresh: httpx.AsyncClient, body: bytes, status: int, code: str | None
) -> None:
    """A patch that is no non-empty JSON object, holds NUL, or is too large: 4xx, configs untouched."""
    assert (await fresh.patch("/project/configs", json={"keep": 1})).status_code == 200
    response = await fresh.patch("/project/configs", content=body, headers={"Content-Type": "application/json"})
    assert_error_response(response, status, code)
    assert await _configs(fresh) == {"keep": 1}


async def test_patch_answers_the_merged_configs(fresh: httpx.AsyncClient) -> None:
    """PATCH answers the whole merged object; null deletes, other values replace."""
    await fresh.patch("/project/configs", json={"a": 1, "b": {"x": 1}})
    response = await fresh.patch("/project/configs", json={"a": None, "b": {"y": 2}, "c": [1]})
    assert response.json() == {"code": 0, "msg": "", "data": {"b": {"y": 2}, "c": [1]}}


@pytest.mark.parametrize(
    "params",
    [{"limit": "-1"}, {"limit": "201"}, {"limit": "abc"}, {"time_desc": "maybe"}],
)
async def test_bad_user_listing_parameters(fresh: httpx.AsyncClient, params: dict[str, str]) -> None:
    """Bad limit or time_desc: 400 naming the parameter."""
    assert_error_response(await fresh.get("/user/ls", params=params), 400, "invalid_parameter")


@pytest.mark.parametrize("cursor", ["not-a-cursor", "cy0xfDA", "dXwxfGJhZA"])
async def test_bad_user_cursor(fresh: httpx.AsyncClient, cursor: str) -> None:
    """A cursor that does not decode to a users-listing position: 400 invalid_cursor."""
    assert_error_response(await fresh.get("/user/ls", params={"cursor": cursor, "limit": 1}), 400, "invalid_cursor")


async def test_a_session_cursor_is_no_user_cursor(fresh: httpx.AsyncClient) -> None:
    """A cursor minted by the sessions listing is refused by the users listing."""
    for _ in range(2):
        await fresh.post("/session", json={"user": f"u-{uuid.uuid4().hex[:6]}"})
    session_cursor = (await fresh.get("/session", params={"limit": 1})).json()["data"]["next_cursor"]
    assert session_cursor
    response = await fresh.get("/user/ls", params={"limit": 1, "cursor": session_cursor})
    assert_error_response(response, 400, "invalid_cursor")


async def test_limit_zero_or_absent_is_the_largest_page(fresh: httpx.AsyncClient) -> None:
    """No limit (or 0) pages by 200, with a cursor to the rest."""
    names = [f"user-{n:03d}" for n in range(201)]
    for name in names:
        await fresh.post("/session", json={"user": name})
    for params in ({}, {"limit": "0"}):
        page = (await fresh.get("/user/ls", params=params)).json()["data"]
        assert [u["identifier"] for u in page["items"]] == names[:200]
        assert page["has_more"] is True
        rest = (await fresh.get("/user/ls", params={"cursor": page["next_cursor"]})).json()["data"]
        assert [u["identifier"] for u in rest["items"]] == names[200:]
        assert rest["has_more"] is False


@pytest.mark.parametrize(
    ("identifier", "status", "code", "delete_status"),
    [
        ("x" * 257, 413, "field_too_long", 413),
        ("a%00b", 400, "invalid_parameter", 400),
        ("%ff%fe", 404, "user_not_found", 404),  # not UTF-8: no session can have made that user
        ("", 405, None, 404),  # `/user//resources` routes as `/user/resources`; `/user/` names nothing
    ],
)
async def test_bad_identifiers(
    fresh: httpx.AsyncClient, identifier: str, status: int, code: str | None, delete_status: int
) -> None:
    """Over-long, NUL-holding, undecodable or empty identifiers: a 4xx, never a 500; nothing deleted."""
    await fresh.post("/session", json={"user": "kept"})
    assert_error_response(await fresh.get(f"/user/{identifier}/resources"), status, code)
    assert_error_response(await fresh.delete(f"/user/{identifier}"), delete_status)
    assert (await fresh.get("/user/kept/resources")).json()["data"]["counts"]["sessions_count"] == 1
