"""Hostile input (issue 12 rows 4, 5, 8 and "also seen"): a typed 4xx, never a 5xx, nothing stored.

Each case is sent as raw bytes, as an attacker would, not through an SDK that would refuse it.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from acx.limits import MAX_EVENT_TYPE_CHARS, MAX_FILENAME_CHARS, MAX_KEY_CHARS, MAX_OBJECT_BYTES, MAX_USER_CHARS
from tests.http._helpers import assert_error_response, message_count
from tests.http.conftest import Client

JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 951 + b"]" * 951


def _blob_with(value: bytes) -> bytes:
    return b'{"format": "openai", "blob": {"role": "user", "content": "hi", "extra": ' + value + b"}}"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b'{"blob": {"role": "user", "content": "caf\xc3"}}', "invalid_utf8", id="truncated-utf8"),
        pytest.param(b'{"blob": {"role": "user", "content": "\xff\xfe"}}', "invalid_utf8", id="not-utf8"),
        pytest.param(b'{"blob": ' + DEEP + b"}", "json_too_deep", id="deep-blob"),
        pytest.param(_blob_with(b"1e999"), "number_out_of_range", id="blob-1e999"),
        pytest.param(_blob_with(b"-1e400"), "number_out_of_range", id="blob-minus-1e400"),
        pytest.param(_blob_with(b"9" * 5000), "number_out_of_range", id="blob-5000-digits"),
        pytest.param(
            b'{"blob": {"role": "user", "content": "hi"}, "meta": {"n": 1e999}}', "number_out_of_range", id="meta-1e999"
        ),
        pytest.param(
            b'{"blob": {"role": "user", "content": "hi"}, "meta": {"n": ' + b"7" * 5000 + b"}}",
            "number_out_of_range",
            id="meta-5000-digits",
        ),
        pytest.param(
            b'{"blob": {"role": "user", "content": "hi"}, "meta": {"d": ' + DEEP + b"}}",
            "json_too_deep",
            id="deep-meta",
        ),
    ],
)
async def test_malformed_store_bodies_are_400(client: Client, session_id: str, body: bytes, code: str) -> None:
    response = await client.post(f"/session/{session_id}/messages", content=body, headers=JSON)
    assert_error_response(response, 400, code)
    assert await message_count(client, session_id) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b'{"type": "t", "data": {"x": "\xff"}}', "invalid_utf8", id="not-utf8"),
        pytest.param(b'{"type": "t", "data": {"x": 1e400}}', "number_out_of_range", id="1e400"),
        pytest.param(b'{"type": "t", "data": {"x": ' + b"1" * 5000 + b"}}", "number_out_of_range", id="5000-digits"),
        pytest.param(b'{"type": "t", "data": {"x": ' + DEEP + b"}}", "json_too_deep", id="deep"),
    ],
)
async def test_malformed_event_bodies_are_400(client: Client, session_id: str, body: bytes, code: str) -> None:
    response = await client.post(f"/session/{session_id}/events", content=body, headers=JSON)
    assert_error_response(response, 400, code)
    assert (await client.get(f"/session/{session_id}/events")).json()["data"]["items"] == []


@pytest.mark.parametrize(
    "body",
    [b'{"user": "\xff"}', b'{"configs": ' + DEEP + b"}", b'{"configs": {"a": 1e999}}', b"\xef\xbb\xbf{"],
    ids=["user-not-utf8", "deep-configs", "configs-1e999", "bom"],
)
async def test_malformed_session_bodies_are_400(fresh: httpx.AsyncClient, body: bytes) -> None:
    assert_error_response(await fresh.post("/session", content=body, headers=JSON), 400)
    assert (await fresh.get("/session", params={"limit": 200})).json()["data"]["items"] == []


async def test_deep_json_filter_parameter_is_400(client: Client) -> None:
    deep_filter = '{"a": ' + "[" * 951 + "]" * 951 + "}"
    assert_error_response(await client.get("/session", params={"filter_by_configs": deep_filter}), 400)


async def test_deep_edit_strategies_parameter_is_400(client: Client, session_id: str) -> None:
    deep_strategies = "[" * 951 + "]" * 951
    response = await client.get(f"/session/{session_id}/messages", params={"edit_strategies": deep_strategies})
    assert_error_response(response, 400, "invalid_edit_strategy")


def _cursor(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}|{key}|{uuid.uuid4()}".encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("url", "kind", "params"),
    [("/session", "s", {}), ("/session/{sid}/events", "e", {}), ("/session/{sid}/messages", "m", {"limit": 10})],
    ids=["sessions", "events", "messages"],
)
@pytest.mark.parametrize("key", [-1, -(10**30), 2**63, 10**30, 10**400], ids=["-1", "-1e30", "2^63", "1e30", "1e400"])
async def test_forged_cursor_numbers_are_400(
    client: Client, session_id: str, url: str, kind: str, params: dict[str, Any], key: int
) -> None:
    response = await client.get(url.format(sid=session_id), params={"cursor": _cursor(kind, key), **params})
    assert_error_response(response, 400, "invalid_cursor")


@pytest.mark.parametrize("length", [MAX_USER_CHARS + 1, 3000, 100_000])
async def test_long_user_is_413_not_503(client: Client, length: int) -> None:
    user = "u" * length
    assert_error_response(await client.post("/session", json={"user": user}), 413, "field_too_long")
    assert_error_response(await client.get("/session", params={"user": user[:8000]}), 413, "field_too_long")
    ok = await client.post("/session", json={"user": "u" * MAX_USER_CHARS})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("length", [MAX_EVENT_TYPE_CHARS + 1, 2_000_000], ids=["limit+1", "2M"])
async def test_long_event_type_is_413(client: Client, session_id: str, length: int) -> None:
    response = await client.post(f"/session/{session_id}/events", json={"type": "t" * length, "data": {}})
    assert_error_response(response, 413, "field_too_long")
    assert (await client.get(f"/session/{session_id}/events")).json()["data"]["items"] == []


LONG_KEY = {"k" * (MAX_KEY_CHARS + 1): 1}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/session", {"configs": LONG_KEY}),
        ("PUT", "/session/{sid}/configs", {"configs": LONG_KEY}),
        ("PATCH", "/session/{sid}/configs", {"configs": LONG_KEY}),
        ("POST", "/session/{sid}/messages", {"blob": {"role": "user", "content": "hi"}, "meta": LONG_KEY}),
    ],
    ids=["create-configs", "put-configs", "patch-configs", "message-meta"],
)
async def test_long_config_and_meta_keys_are_413(
    client: Client, session_id: str, method: str, url: str, body: dict[str, Any]
) -> None:
    configs = f"/session/{session_id}/configs"
    before = (await client.get(configs)).json()["data"]["configs"]
    response = await client.request(method, url.format(sid=session_id), json=body)
    assert_error_response(response, 413, "key_too_long")
    assert await message_count(client, session_id) == 0
    assert (await client.get(configs)).json()["data"]["configs"] == before


async def test_long_filename_is_413(client: Client, session_id: str) -> None:
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}}
    name = "n" * (MAX_FILENAME_CHARS + 1) + ".pdf"
    response = await client.post(
        f"/session/{session_id}/messages",
        data={"payload": json.dumps(payload)},
        files={"f": (name, b"%PDF-1.4 tiny", "application/pdf")},
    )
    assert_error_response(response, 413, "field_too_long")
    assert await message_count(client, session_id) == 0


def _sixty_kib(index: int) -> dict[str, Any]:
    return {f"k{index}": "x" * (60 * 1024)}


async def test_repeated_config_patches_cannot_grow_past_the_limit(client: Client, session_id: str) -> None:
    first = await client.patch(f"/session/{session_id}/configs", json={"configs": _sixty_kib(0)})
    assert first.status_code == 200, first.text
    for index in range(1, 20):  # one growing sequence, not a table of cases: each patch adds to the last
        response = await client.patch(f"/session/{session_id}/configs", json={"configs": _sixty_kib(index)})
        assert_error_response(response, 413, "configs_too_large")
    stored = (await client.get(f"/session/{session_id}/configs")).json()["data"]["configs"]
    assert stored == _sixty_kib(0)
    assert len(json.dumps(stored)) <= MAX_OBJECT_BYTES


async def test_repeated_meta_patches_cannot_grow_past_the_limit(client: Client, session_id: str) -> None:
    stored = await client.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi"}})
    url = f"/session/{session_id}/messages/{stored.json()['data']['id']}/meta"
    assert (await client.patch(url, json={"meta": _sixty_kib(0)})).status_code == 200
    for index in range(1, 20):  # a growing sequence, as above
        assert_error_response(await client.patch(url, json={"meta": _sixty_kib(index)}), 413, "meta_too_large")
    page = (await client.get(f"/session/{session_id}/messages")).json()["data"]
    assert page["metas"] == [_sixty_kib(0)]


async def test_s3_key_with_a_trailing_newline_is_not_an_asset_key(client: Client, session_id: str) -> None:
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}}
    stored = await client.post(
        f"/session/{session_id}/messages",
        data={"payload": json.dumps(payload)},
        files={"f": ("a.pdf", b"%PDF-1.4 " + uuid.uuid4().bytes, "application/pdf")},
    )
    assert stored.status_code == 201, stored.text
    s3_key = f"assets/{stored.json()['data']['parts'][0]['asset']['sha256']}"
    url = f"/session/{session_id}/asset/download"
    assert (await client.get(url, params={"s3_key": s3_key})).status_code == 200
    assert_error_response(await client.get(url, params={"s3_key": s3_key + "\n"}), 404, "asset_not_found")


async def test_a_thousand_file_upload_is_413_with_a_clear_message(client: Client, session_id: str) -> None:
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "text", "text": "hi"}]}}
    files = [(f"f{i}", (f"{i}.txt", b"x", "text/plain")) for i in range(1000)]
    response = await client.post(f"/session/{session_id}/messages", data={"payload": json.dumps(payload)}, files=files)
    assert_error_response(response, 413, "too_many_parts")
    assert "1000 parts" in response.json()["msg"]
    assert await message_count(client, session_id) == 0
