"""Input limits and the NUL / surrogate policy: clear 4xx answers, nothing stored, never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.integration._helpers import assert_error_response, message_count
from tests.integration.conftest import Gateway, Stack

pytestmark = pytest.mark.integration


def test_body_over_the_limit_is_413(dedicated_gateway: Callable[..., Gateway], stack: Stack) -> None:
    """A body over MAX_BODY_BYTES is refused with 413 in the envelope."""
    gateway = dedicated_gateway(MAX_BODY_BYTES="4096", RATE_LIMIT_RPS="0")
    headers = {"Authorization": f"Bearer {stack.root_key}"}
    with httpx.Client(base_url=gateway.api_url, headers=headers, timeout=20) as client:
        session_id = client.post("/session", json={}).json()["data"]["id"]
        big = client.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "x" * 8000}})
        assert big.status_code == 413, big.text
        assert big.json()["code"] == 413
        assert message_count(client, session_id) == 0


def test_meta_and_configs_over_64_kib_are_413(http: httpx.Client, session_id: str) -> None:
    """meta and configs are limited to 64 KiB encoded."""
    huge = {"k": "x" * (64 * 1024)}
    response = http.post(
        f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi"}, "meta": huge}
    )
    assert_error_response(response, 413, "meta_too_large")
    assert message_count(http, session_id) == 0
    assert_error_response(http.put(f"/session/{session_id}/configs", json={"configs": huge}), 413, "configs_too_large")
    assert_error_response(http.post("/session", json={"configs": huge}), 413, "configs_too_large")


def test_nul_is_kept_in_blobs_and_meta(http: httpx.Client, session_id: str) -> None:
    """U+0000 inside a message or its meta is stored (as escaped JSON) and read back exactly."""
    blob = {"role": "user", "content": "before\u0000after"}
    stored = http.post(f"/session/{session_id}/messages", json={"blob": blob, "meta": {"note": "a\u0000b"}})
    assert stored.status_code == 201, stored.text
    page = http.get(f"/session/{session_id}/messages", params={"format": "openai"}).json()["data"]
    assert page["items"] == [blob]
    assert page["metas"] == [{"note": "a\u0000b"}]
    anthropic = http.get(f"/session/{session_id}/messages", params={"format": "anthropic"}).json()["data"]
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
)
def test_nul_is_refused_where_postgres_cannot_store_it(
    http: httpx.Client, session_id: str, method: str, path: str, body: dict[str, object]
) -> None:
    """jsonb and plain text columns cannot hold U+0000: a 400 that says so, never a 500."""
    response = http.request(method, path.format(sid=session_id), json=body)
    assert_error_response(response, 400, "invalid_parameter")
    assert "NUL" in response.json()["msg"]


def test_nul_in_a_query_parameter_is_400(http: httpx.Client) -> None:
    """A user filter with U+0000 is refused, not sent to PostgreSQL."""
    assert_error_response(http.get("/session", params={"user": "a\u0000b"}), 400, "invalid_parameter")


def test_lone_surrogates_are_invalid_json(http: httpx.Client, session_id: str) -> None:
    """A lone UTF-16 surrogate escape is not valid Unicode: 400, nothing stored."""
    raw = json.dumps({"blob": {"role": "user", "content": "x"}}).replace('"x"', '"\\ud800"')
    response = http.post(
        f"/session/{session_id}/messages", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert_error_response(response, 400, "invalid_json")
    assert message_count(http, session_id) == 0
