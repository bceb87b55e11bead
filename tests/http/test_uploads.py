"""Uploaded files over HTTP: authenticated downloads (404 across projects and sessions, never 403),
missing file fields, MAX_UPLOAD_BYTES, retry-safe multipart stores, and asset reference counting
across copy and delete. Each test uploads bytes nobody else uploads (a random tag inside a PNG)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.http._helpers import assert_error_response, make_png, message_count, sha, store_upload
from tests.http.conftest import Client, StartGateway

SMALL_UPLOAD_LIMIT = 4096
IMAGE_BLOB: dict[str, Any] = {
    "role": "user",
    "parts": [{"type": "text", "text": "see the image"}, {"type": "image", "file_field": "img"}],
}


async def _store_png(client: httpx.AsyncClient, session_id: str, png: bytes, name: str = "a.png") -> httpx.Response:
    stored = await store_upload(client, session_id, IMAGE_BLOB, {"img": (name, png, "image/png")})
    assert stored.status_code == 201, stored.text
    return stored


async def _assets_rows(database_url: str, digest: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        row = await (await conn.execute("SELECT count(*) FROM assets WHERE sha256 = %s", (digest,))).fetchone()
    assert row is not None
    return int(row[0])


async def _download(client: httpx.AsyncClient, session_id: str, digest: str) -> httpx.Response:
    return await client.get(f"/session/{session_id}/asset/download", params={"s3_key": f"assets/{digest}"})


async def test_authenticated_download(
    client: Client, other: httpx.AsyncClient, anonymous: httpx.AsyncClient, database_url: str, session_id: str
) -> None:
    """asset/download returns the bytes with auth; other projects and other sessions get 404, never 403."""
    png = make_png(uuid.uuid4().hex)
    await _store_png(client, session_id, png)
    response = await _download(client, session_id, sha(png))
    assert response.status_code == 200, response.text
    assert response.content == png
    assert response.headers["content-type"].startswith("application/octet-stream")

    assert_error_response(await _download(other, session_id, sha(png)), 404)
    own = await other.post("/session", json={})
    assert own.status_code == 201, own.text
    assert_error_response(await _download(other, own.json()["data"]["id"], sha(png)), 404)
    foreign_session = (await other.post("/session", json={})).json()["data"]["id"]
    await _store_png(other, foreign_session, png)  # the other project uploading the same bytes
    assert (await _download(other, foreign_session, sha(png))).content == png
    assert await _assets_rows(database_url, sha(png)) == 2  # one row per project

    unrelated = (await client.post("/session", json={})).json()["data"]["id"]  # same project, no message uses it
    assert_error_response(await _download(client, unrelated, sha(png)), 404)
    assert_error_response(await _download(client, session_id, "0" * 64), 404)
    url = f"/session/{session_id}/asset/download"
    assert_error_response(await client.get(url, params={"s3_key": "../etc"}), 404)
    assert_error_response(await client.get(url), 400)
    assert_error_response(await _download(client, str(uuid.uuid4()), sha(png)), 404)
    assert (await anonymous.get(url)).status_code == 401


@pytest.mark.parametrize(
    ("files", "missing"),
    [
        ({"other": ("a.png", make_png("x"), "image/png")}, "img"),
        ({"g": ("x.bin", b"abc", "application/octet-stream")}, "img"),
    ],
    ids=["another-field", "another-file"],
)
async def test_missing_file_field_in_a_form_is_400(
    client: Client, session_id: str, files: dict[str, tuple[str, bytes, str]], missing: str
) -> None:
    """A part naming a form field that carried no file is 400 "missing file X"; nothing is stored."""
    response = await store_upload(client, session_id, IMAGE_BLOB, files)
    assert_error_response(response, 400)
    assert f"missing file {missing}" in response.json()["msg"]
    assert await message_count(client, session_id) == 0


async def test_a_file_part_in_a_json_store_is_400(client: Client, session_id: str) -> None:
    """JSON mode carries no files at all: a part naming one is 400 "missing file X"."""
    response = await client.post(f"/session/{session_id}/messages", json={"format": "acontext", "blob": IMAGE_BLOB})
    assert_error_response(response, 400)
    assert "missing file img" in response.json()["msg"]
    assert await message_count(client, session_id) == 0


async def test_upload_over_limit_is_413(start_gateway: StartGateway, client: Client, database_url: str) -> None:
    """A file over MAX_UPLOAD_BYTES is 413 and nothing is stored; one under it is accepted."""
    small = await start_gateway(MAX_UPLOAD_BYTES=str(SMALL_UPLOAD_LIMIT))
    session_id = (await small.post("/session", json={})).json()["data"]["id"]
    big = make_png("x" * (SMALL_UPLOAD_LIMIT + 1))
    assert_error_response(await store_upload(small, session_id, IMAGE_BLOB, {"img": ("a.png", big, "image/png")}), 413)
    assert await message_count(client, session_id) == 0
    assert await _assets_rows(database_url, sha(big)) == 0
    fits = make_png(uuid.uuid4().hex)
    assert len(fits) < SMALL_UPLOAD_LIMIT
    stored = await _store_png(small, session_id, fits)
    assert stored.json()["data"]["parts"][1]["asset"]["size_b"] == len(fits)
    assert await message_count(client, session_id) == 1


async def test_multipart_store_with_idempotency_key_is_stored_once(client: Client, session_id: str) -> None:
    """Used to be `500 stream consumed` every time: retry-safe uploads were impossible."""
    png = make_png(uuid.uuid4().hex)
    key = {"Idempotency-Key": f"upload-{uuid.uuid4()}"}
    first = await store_upload(client, session_id, IMAGE_BLOB, {"img": ("a.png", png, "image/png")}, key)
    again = await store_upload(client, session_id, IMAGE_BLOB, {"img": ("a.png", png, "image/png")}, key)
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert await message_count(client, session_id) == 1
    other_file = {"img": ("a.png", make_png("other"), "image/png")}
    assert_error_response(await store_upload(client, session_id, IMAGE_BLOB, other_file, key), 422)
    assert await message_count(client, session_id) == 1


async def test_delete_releases_assets_shared_by_copy(
    client: Client, anonymous: httpx.AsyncClient, database_url: str
) -> None:
    """After copy + delete of the original the asset still downloads from the copy; after both, it is gone."""
    png = make_png(uuid.uuid4().hex)
    digest = sha(png)
    original = (await client.post("/session", json={})).json()["data"]["id"]
    await _store_png(client, original, png)
    await _store_png(client, original, png, name="again.png")  # a second reference from the same session
    public = (await client.get(f"/session/{original}/messages", params={"format": "acontext"})).json()["data"]
    url = public["public_urls"][digest]["url"]
    copy = (await client.post(f"/session/{original}/copy")).json()["data"]["new_session_id"]
    copy_page = (await client.get(f"/session/{copy}/messages", params={"format": "acontext"})).json()["data"]
    assert set(copy_page["public_urls"]) == {digest}
    assert [p["filename"] for item in copy_page["items"] for p in item["parts"] if "asset" in p] == [
        "a.png",
        "again.png",
    ]

    assert (await client.delete(f"/session/{original}")).status_code == 200
    assert_error_response(await _download(client, original, digest), 404)
    response = await _download(client, copy, digest)
    assert response.status_code == 200, response.text
    assert response.content == png
    assert (await anonymous.get(url)).content == png  # a URL minted on the original still works
    assert await _assets_rows(database_url, digest) == 1
    page = (await client.get(f"/session/{copy}/messages", params={"format": "openai"})).json()["data"]
    assert (
        page["items"][0]["content"][1]["image_url"]["url"] == f"data:image/png;base64,{base64.b64encode(png).decode()}"
    )

    assert (await client.delete(f"/session/{copy}")).status_code == 200
    assert await _assets_rows(database_url, digest) == 0
    assert_error_response(await anonymous.get(url), 404)
