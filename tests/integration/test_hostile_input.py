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
from tests.integration._helpers import assert_error_response, message_count

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 951 + b"]" * 951


def _store(http: httpx.Client, session_id: str, body: bytes) -> httpx.Response:
    return http.post(f"/session/{session_id}/messages", content=body, headers=JSON)


def _blob_with(value: bytes) -> bytes:
    return b'{"format": "openai", "blob": {"role": "user", "content": "hi", "extra": ' + value + b"}}"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"blob": {"role": "user", "content": "caf\xc3"}}', "invalid_utf8"),
        (b'{"blob": {"role": "user", "content": "\xff\xfe"}}', "invalid_utf8"),
        (b'{"blob": ' + DEEP + b"}", "json_too_deep"),
        (_blob_with(b"1e999"), "number_out_of_range"),
        (_blob_with(b"-1e400"), "number_out_of_range"),
        (_blob_with(b"9" * 5000), "number_out_of_range"),
        (b'{"blob": {"role": "user", "content": "hi"}, "meta": {"n": 1e999}}', "number_out_of_range"),
        (b'{"blob": {"role": "user", "content": "hi"}, "meta": {"n": ' + b"7" * 5000 + b"}}", "number_out_of_range"),
        (b'{"blob": {"role": "user", "content": "hi"}, "meta": {"d": ' + DEEP + b"}}", "json_too_deep"),
    ],
)
def test_malformed_store_bodies_are_400(http: httpx.Client, session_id: str, body: bytes, code: str) -> None:
    assert_error_response(_store(http, session_id, body), 400, code)
    assert message_count(http, session_id) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"type": "t", "data": {"x": "\xff"}}', "invalid_utf8"),
        (b'{"type": "t", "data": {"x": 1e400}}', "number_out_of_range"),
        (b'{"type": "t", "data": {"x": ' + b"1" * 5000 + b"}}", "number_out_of_range"),
        (b'{"type": "t", "data": {"x": ' + DEEP + b"}}", "json_too_deep"),
    ],
)
def test_malformed_event_bodies_are_400(http: httpx.Client, session_id: str, body: bytes, code: str) -> None:
    assert_error_response(http.post(f"/session/{session_id}/events", content=body, headers=JSON), 400, code)
    assert http.get(f"/session/{session_id}/events").json()["data"]["items"] == []


@pytest.mark.parametrize(
    "body",
    [b'{"user": "\xff"}', b'{"configs": ' + DEEP + b"}", b'{"configs": {"a": 1e999}}', b"\xef\xbb\xbf{"],
)
def test_malformed_session_bodies_are_400(http: httpx.Client, body: bytes) -> None:
    before = len(http.get("/session", params={"limit": 200}).json()["data"]["items"])
    response = http.post("/session", content=body, headers=JSON)
    assert_error_response(response, 400)
    assert len(http.get("/session", params={"limit": 200}).json()["data"]["items"]) == before


def test_deep_json_query_parameters_are_400(http: httpx.Client, session_id: str) -> None:
    deep_filter = '{"a": ' + "[" * 951 + "]" * 951 + "}"
    assert_error_response(http.get("/session", params={"filter_by_configs": deep_filter}), 400)
    deep_strategies = "[" * 951 + "]" * 951
    response = http.get(f"/session/{session_id}/messages", params={"edit_strategies": deep_strategies})
    assert_error_response(response, 400, "invalid_edit_strategy")


def _cursor(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}|{key}|{uuid.uuid4()}".encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("key", [-1, -(10**30), 2**63, 10**30, 10**400])
def test_forged_cursor_numbers_are_400(http: httpx.Client, session_id: str, key: int) -> None:
    assert_error_response(http.get("/session", params={"cursor": _cursor("s", key)}), 400, "invalid_cursor")
    events = http.get(f"/session/{session_id}/events", params={"cursor": _cursor("e", key)})
    assert_error_response(events, 400, "invalid_cursor")
    messages = http.get(f"/session/{session_id}/messages", params={"cursor": _cursor("m", key), "limit": 10})
    assert_error_response(messages, 400, "invalid_cursor")


@pytest.mark.parametrize("length", [MAX_USER_CHARS + 1, 3000, 100_000])
def test_long_user_is_413_not_503(http: httpx.Client, length: int) -> None:
    user = "u" * length
    assert_error_response(http.post("/session", json={"user": user}), 413, "field_too_long")
    assert_error_response(http.get("/session", params={"user": user[:8000]}), 413, "field_too_long")
    ok = http.post("/session", json={"user": "u" * MAX_USER_CHARS})
    assert ok.status_code == 201, ok.text


def test_long_event_type_is_413(http: httpx.Client, session_id: str) -> None:
    for event_type in ("t" * (MAX_EVENT_TYPE_CHARS + 1), "t" * 2_000_000):
        response = http.post(f"/session/{session_id}/events", json={"type": event_type, "data": {}})
        assert_error_response(response, 413, "field_too_long")
    assert http.get(f"/session/{session_id}/events").json()["data"]["items"] == []


def test_long_config_and_meta_keys_are_413(http: httpx.Client, session_id: str) -> None:
    long_key = {"k" * (MAX_KEY_CHARS + 1): 1}
    assert_error_response(http.post("/session", json={"configs": long_key}), 413, "key_too_long")
    assert_error_response(http.put(f"/session/{session_id}/configs", json={"configs": long_key}), 413, "key_too_long")
    assert_error_response(http.patch(f"/session/{session_id}/configs", json={"configs": long_key}), 413, "key_too_long")
    store = http.post(
        f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi"}, "meta": long_key}
    )
    assert_error_response(store, 413, "key_too_long")
    assert message_count(http, session_id) == 0


def test_long_filename_is_413(http: httpx.Client, session_id: str) -> None:
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}}
    name = "n" * (MAX_FILENAME_CHARS + 1) + ".pdf"
    response = http.post(
        f"/session/{session_id}/messages",
        data={"payload": json.dumps(payload)},
        files={"f": (name, b"%PDF-1.4 tiny", "application/pdf")},
    )
    assert_error_response(response, 413, "field_too_long")
    assert message_count(http, session_id) == 0


def _sixty_kib(index: int) -> dict[str, Any]:
    return {f"k{index}": "x" * (60 * 1024)}


def test_repeated_config_patches_cannot_grow_past_the_limit(http: httpx.Client, session_id: str) -> None:
    first = http.patch(f"/session/{session_id}/configs", json={"configs": _sixty_kib(0)})
    assert first.status_code == 200, first.text
    for index in range(1, 20):
        response = http.patch(f"/session/{session_id}/configs", json={"configs": _sixty_kib(index)})
        assert_error_response(response, 413, "configs_too_large")
    stored = http.get(f"/session/{session_id}/configs").json()["data"]["configs"]
    assert stored == _sixty_kib(0)
    assert len(json.dumps(stored)) <= MAX_OBJECT_BYTES


def test_repeated_meta_patches_cannot_grow_past_the_limit(http: httpx.Client, session_id: str) -> None:
    stored = http.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi"}})
    message_id = stored.json()["data"]["id"]
    url = f"/session/{session_id}/messages/{message_id}/meta"
    assert http.patch(url, json={"meta": _sixty_kib(0)}).status_code == 200
    for index in range(1, 20):
        assert_error_response(http.patch(url, json={"meta": _sixty_kib(index)}), 413, "meta_too_large")
    page = http.get(f"/session/{session_id}/messages").json()["data"]
    assert page["metas"] == [_sixty_kib(0)]


def test_s3_key_with_a_trailing_newline_is_not_an_asset_key(http: httpx.Client, session_id: str) -> None:
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}}
    stored = http.post(
        f"/session/{session_id}/messages",
        data={"payload": json.dumps(payload)},
        files={"f": ("a.pdf", b"%PDF-1.4 " + uuid.uuid4().bytes, "application/pdf")},
    )
    assert stored.status_code == 201, stored.text
    s3_key = f"assets/{stored.json()['data']['parts'][0]['asset']['sha256']}"
    assert http.get(f"/session/{session_id}/asset/download", params={"s3_key": s3_key}).status_code == 200
    trailing = http.get(f"/session/{session_id}/asset/download", params={"s3_key": s3_key + "\n"})
    assert_error_response(trailing, 404, "asset_not_found")


def test_a_thousand_file_upload_is_413_with_a_clear_message(http: httpx.Client, session_id: str) -> None:
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "text", "text": "hi"}]}}
    files = [(f"f{i}", (f"{i}.txt", b"x", "text/plain")) for i in range(1000)]
    response = http.post(f"/session/{session_id}/messages", data={"payload": json.dumps(payload)}, files=files)
    assert_error_response(response, 413, "too_many_parts")
    assert "1000 parts" in response.json()["msg"]
    assert message_count(http, session_id) == 0
