"""Hostile input the first round of issue 12 missed (found by attacking a running gateway).

Integers past 64 bits, multipart part headers, upload types PostgreSQL cannot store: each a 4xx
with its code in the envelope (413 for sizes), never a 5xx, and nothing stored.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from acx.config import Settings
from acx.cursor import encode_cursor
from acx.db.sessions import session_key
from tests.http._helpers import assert_error_response as assert_error
from tests.http._helpers import message_count as _message_count
from tests.http._helpers import new_project_key
from tests.http.conftest import Client

JSON = {"Content-Type": "application/json"}
HUGE = b"9" * 400  # msgspec decodes integers of up to 4 300 digits into Python ints
PAST_UINT64 = b"18446744073709551616"


async def _stored(client: Client, session_id: str) -> tuple[Any, int, int]:
    """What a session holds: configs, messages, events."""
    configs = (await client.get(f"/session/{session_id}/configs")).json()["data"]["configs"]
    events = (await client.get(f"/session/{session_id}/events")).json()["data"]["items"]
    return configs, await _message_count(client, session_id), len(events)


@pytest.mark.parametrize(
    "number",
    [HUGE, b"-" + HUGE, PAST_UINT64, b"-9223372036854775809"],
    ids=["400-digits", "-400-digits", "2^64", "-2^63-1"],
)
@pytest.mark.parametrize(
    "template",
    [
        ("post", "/session/{sid}/messages", b'{"blob": {"role": "user", "content": "hi", "x": N}}'),
        ("post", "/session/{sid}/messages", b'{"blob": {"role": "user", "content": "hi"}, "meta": {"n": N}}'),
        ("post", "/session/{sid}/events", b'{"type": "t", "data": {"n": N}}'),
        ("patch", "/session/{sid}/configs", b'{"configs": {"n": N}}'),
        ("put", "/session/{sid}/configs", b'{"configs": {"n": [N]}}'),
        ("post", "/session", b'{"configs": {"n": N}}'),
        ("patch", "/project/configs", b'{"n": N}'),
        (
            "post",
            "/convert",
            b'{"from": "openai", "to": "gemini", "input": [{"role": "user", "content": "x", "n": N}]}',
        ),
    ],
    ids=["blob", "meta", "event-data", "patch-configs", "put-configs", "create-session", "project-configs", "convert"],
)
async def test_integers_past_64_bits_are_400(
    client: Client, session_id: str, template: tuple[str, str, bytes], number: bytes
) -> None:
    """SECURITY.md promises 64-bit integers; msgspec alone let 4 300-digit ones through."""
    method, path, body = template
    before = await _stored(client, session_id)
    project_before = (await client.get("/project/configs")).json()["data"]
    response = await client.request(
        method, path.format(sid=session_id), content=body.replace(b"N", number), headers=JSON
    )
    assert_error(response, 400, "number_out_of_range")
    assert await _stored(client, session_id) == before
    assert (await client.get("/project/configs")).json()["data"] == project_before


@pytest.mark.parametrize(
    "params",
    [
        '{"limit_tokens": N}',
        '{"limit_tokens": -N}',
    ],
)
@pytest.mark.parametrize("view", ["messages", "render"])
async def test_huge_integers_in_edit_strategies_are_400(
    client: Client, session_id: str, params: str, view: str
) -> None:
    """Used to be `500 internal error` (OverflowError: int too large to convert to float)."""
    await client.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi"}})
    number = HUGE.decode()
    for strategy in ("token_limit", "remove_tool_result", "remove_tool_call_params", "middle_out"):
        field = {
            "token_limit": "limit_tokens",
            "remove_tool_result": "keep_recent_n_tool_results",
            "remove_tool_call_params": "keep_recent_n_tool_calls",
            "middle_out": "token_reduce_to",
        }[strategy]
        text = params.replace("limit_tokens", field).replace("N", number)
        strategies = f'[{{"type": "{strategy}", "params": {text}}}]'
        response = await client.get(f"/session/{session_id}/{view}", params={"edit_strategies": strategies})
        assert_error(response, 400, "invalid_edit_strategy")


def _multipart(parts: list[tuple[bytes, bytes]]) -> tuple[bytes, dict[str, str]]:
    body = b"".join(b"--B\r\n" + head + b"\r\n\r\n" + content + b"\r\n" for head, content in parts) + b"--B--\r\n"
    return body, {"Content-Type": "multipart/form-data; boundary=B"}


_FILE_PAYLOAD = json.dumps(
    {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}}
).encode()


def _file_part(content_type: bytes, extra: bytes = b"") -> tuple[bytes, bytes]:
    head = b'Content-Disposition: form-data; name="f"; filename="a.pdf"\r\nContent-Type: ' + content_type + extra
    return head, b"%PDF-1.4 " + uuid.uuid4().bytes


@pytest.mark.parametrize(
    ("content_type", "status", "code"),
    [
        (b"application/pdf\x00x", 400, "invalid_parameter"),  # PostgreSQL text cannot hold NUL: was a 500
        (b"application/" + b"x" * 300, 413, "field_too_long"),
    ],
)
async def test_upload_content_types_are_checked(
    client: Client, session_id: str, content_type: bytes, status: int, code: str
) -> None:
    body, headers = _multipart(
        [(b'Content-Disposition: form-data; name="payload"', _FILE_PAYLOAD), _file_part(content_type)]
    )
    response = await client.post(f"/session/{session_id}/messages", content=body, headers=headers)
    assert_error(response, status, code)
    assert await _message_count(client, session_id) == 0


@pytest.mark.parametrize(
    "extra",
    [
        b"\r\nX-Long: " + b"h" * 5000,  # one header line past the parser's 4 KB
        b"".join(b"\r\nX-%d: 1" % i for i in range(20)),  # more header lines than a part may have
    ],
)
async def test_oversized_part_headers_are_413_not_too_many_parts(client: Client, session_id: str, extra: bytes) -> None:
    """A two-part store used to be told it had more than 1 000 parts."""
    body, headers = _multipart(
        [(b'Content-Disposition: form-data; name="payload"', _FILE_PAYLOAD), _file_part(b"application/pdf", extra)]
    )
    response = await client.post(f"/session/{session_id}/messages", content=body, headers=headers)
    assert_error(response, 413, "part_header_too_large")
    assert "1000 parts" not in response.json()["msg"]
    assert await _message_count(client, session_id) == 0


async def test_a_refused_session_create_leaves_no_user_behind(client: Client, session_id: str) -> None:
    """`use_uuid` of an existing session with a new `user` answered 409 but kept the new user."""
    ghost = f"ghost-{uuid.uuid4().hex}"
    response = await client.post("/session", json={"use_uuid": session_id, "user": ghost})
    assert_error(response, 409, "session_exists")
    assert_error(await client.get(f"/user/{ghost}/resources"), 404, "user_not_found")
    listed = (await client.get("/user/ls")).json()["data"]["items"]
    assert ghost not in [user["identifier"] for user in listed]


@pytest.mark.parametrize("key", [-1, -(10**30), 2**63, 10**30, 10**400], ids=["-1", "-1e30", "2^63", "1e30", "1e400"])
@pytest.mark.parametrize(("listing", "kind"), [("events", "e"), ("messages", "m")])
async def test_forged_numbers_in_cursors_of_the_right_session_are_400(
    client: Client, session_id: str, listing: str, kind: str, key: int
) -> None:
    """Event and message cursors carry their session's tag: a forged cursor without it is refused
    for the tag alone, so only one with the right tag tests the number (`m|2^63|…` overflowed the
    database's bigint)."""
    session = (await client.get(f"/session/{session_id}/configs")).json()["data"]
    scope = session_key(uuid.UUID(session["project_id"]), uuid.UUID(session_id))
    cursor = encode_cursor(kind, key, uuid.uuid4(), scope)
    response = await client.get(f"/session/{session_id}/{listing}", params={"cursor": cursor, "limit": 10})
    assert_error(response, 400, "invalid_cursor")


_DEEP = b"[" * 951 + b"]" * 951
_HOSTILE = {
    "not-utf8": (b'"\xff\xfe"', "invalid_utf8"),
    "deep-951": (_DEEP, "json_too_deep"),
    "1e999": (b"1e999", "number_out_of_range"),
    "1e400": (b"-1e400", "number_out_of_range"),
    "5000-digits": (b"9" * 5000, "number_out_of_range"),
}
# Every route that reads a JSON body, with the hostile value at a place it accepts any JSON.
_JSON_ROUTES = {
    "create-session": ("post", "/session", b'{"configs": {"v": V}}'),
    "put-configs": ("put", "/session/{sid}/configs", b'{"configs": {"v": V}}'),
    "patch-configs": ("patch", "/session/{sid}/configs", b'{"configs": {"v": V}}'),
    "store-blob": ("post", "/session/{sid}/messages", b'{"blob": {"role": "user", "content": "x", "v": V}}'),
    "store-meta": ("post", "/session/{sid}/messages", b'{"blob": {"role": "user", "content": "x"}, "meta": {"v": V}}'),
    "event-data": ("post", "/session/{sid}/events", b'{"type": "t", "data": {"v": V}}'),
    "patch-meta": ("patch", "/session/{sid}/messages/{mid}/meta", b'{"meta": {"v": V}}'),
    "project-configs": ("patch", "/project/configs", b'{"v": V}'),
    "convert": ("post", "/convert", b'{"from": "openai", "to": "gemini", "input": [{"role": "user", "content": V}]}'),
}


@pytest.mark.parametrize("hostile", list(_HOSTILE))
@pytest.mark.parametrize("route", list(_JSON_ROUTES))
async def test_hostile_json_on_every_json_route_is_400(
    client: Client, session_id: str, route: str, hostile: str
) -> None:
    """Row 4 of issue 12 on every route that takes JSON, not only the store and events, and in the
    JSON part of a multipart store (below): a code in the envelope, nothing changed."""
    stored = await client.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "a"}})
    message_id = stored.json()["data"]["id"]
    before = await _stored(client, session_id)
    meta_before = (await client.get(f"/session/{session_id}/messages")).json()["data"]["metas"]
    project_before = (await client.get("/project/configs")).json()["data"]
    method, path, template = _JSON_ROUTES[route]
    value, code = _HOSTILE[hostile]
    url = path.format(sid=session_id, mid=message_id)
    response = await client.request(method, url, content=template.replace(b"V", value), headers=JSON)
    assert_error(response, 400, code)
    assert await _stored(client, session_id) == before
    assert (await client.get(f"/session/{session_id}/messages")).json()["data"]["metas"] == meta_before
    assert (await client.get("/project/configs")).json()["data"] == project_before


@pytest.mark.parametrize("hostile", list(_HOSTILE))
async def test_hostile_json_in_a_multipart_payload_is_400(client: Client, session_id: str, hostile: str) -> None:
    value, code = _HOSTILE[hostile]
    payload = b'{"format": "acontext", "blob": {"role": "user", "parts": [{"type": "text", "text": "x"}]}, "meta": V}'
    body, headers = _multipart([(b'Content-Disposition: form-data; name="payload"', payload.replace(b"V", value))])
    response = await client.post(f"/session/{session_id}/messages", content=body, headers=headers)
    assert_error(response, 400, "invalid_utf8" if hostile == "not-utf8" else code)
    assert await _message_count(client, session_id) == 0


async def test_repeated_project_config_patches_cannot_grow_past_the_limit(
    settings: Settings, database_url: str, client: Client
) -> None:
    """Row 8 of issue 12 for `/project/configs` too: the limit holds for the merged object."""
    key = await new_project_key(settings, database_url, "patches")
    project = {"Authorization": f"Bearer {key}"}
    first = await client.patch("/project/configs", json={"k0": "x" * 60 * 1024}, headers=project)
    assert first.status_code == 200, first.text
    for index in range(1, 20):
        response = await client.patch("/project/configs", json={f"k{index}": "x" * 60 * 1024}, headers=project)
        assert_error(response, 413, "configs_too_large")
    stored = (await client.get("/project/configs", headers=project)).json()["data"]
    assert stored == {"k0": "x" * 60 * 1024}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/session/{sid}/messages", {"format": "x" * 100_000, "blob": {}}),
        ("/session/{sid}/messages", {"blob": {"role": "r" * 100_000, "content": "x"}}),
        ("/session", {"use_uuid": "u" * 100_000}),
        ("/convert", {"from": "f" * 100_000, "to": "openai", "input": []}),
    ],
    ids=["format", "role", "use_uuid", "convert-from"],
)
async def test_error_messages_do_not_echo_megabytes(client: Client, session_id: str, path: str, body: Any) -> None:
    """An error message quoted the offending value whole: a 30 MB `format` came back as 30 MB."""
    response = await client.post(path.format(sid=session_id), json=body)
    assert response.status_code == 400, response.text[:300]
    assert len(response.content) < 1024, len(response.content)
    assert response.json()["data"]["error_code"]
