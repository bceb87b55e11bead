"""Uploaded files through the published `acontext` SDK (0.1.22): multipart stores, reading the file
back in every format, signed public URLs, authenticated downloads, size limits, and reference
counting across copy and delete.

Every test uploads bytes nobody else uploads (a random tag inside a valid PNG or PDF), so asset
rows and hashes are the test's own.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import acontext
import httpx
import psycopg
import pytest
from acontext.errors import APIError

# make_png and sha re-exported: test_sdk_users imports them from here.
from tests.http._helpers import make_pdf
from tests.http._helpers import make_png as make_png  # noqa: PLC0414
from tests.http._helpers import sha as sha  # noqa: PLC0414
from tests.integration._helpers import (
    assert_api_error,
    assert_error_response,
    message_count,
    sdk_client,
    validate_items,
)
from tests.integration.conftest import Stack, running_gateway

pytestmark = pytest.mark.integration

SMALL_UPLOAD_LIMIT = 4096


@pytest.fixture
def other_http(stack: Stack, other_project_key: str) -> Iterator[httpx.Client]:
    """Plain HTTP client of a second project."""
    with stack.client(other_project_key) as c:
        yield c


def _store_png(client: acontext.AcontextClient, session_id: str, png: bytes, name: str = "a.png") -> Any:
    blob: Any = {
        "role": "user",
        "parts": [{"type": "text", "text": "see the image"}, {"type": "image", "file_field": "img"}],
    }
    return client.sessions.store_message(
        session_id,
        blob=blob,
        format="acontext",
        file_field="img",
        file=(name, png, "image/png"),
    )


def _store_pdf(client: acontext.AcontextClient, session_id: str, pdf: bytes) -> Any:
    blob: Any = {"role": "user", "parts": [{"type": "file", "file_field": "doc"}]}
    return client.sessions.store_message(
        session_id,
        blob=blob,
        format="acontext",
        file_field="doc",
        file=("report.pdf", pdf, "application/pdf"),
    )


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _assets_rows(database_url: str, digest: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM assets WHERE sha256 = %s", (digest,)).fetchone()
    assert row is not None
    return int(row[0])


def _download(http: httpx.Client, session_id: str, digest: str) -> httpx.Response:
    return http.get(f"/session/{session_id}/asset/download", params={"s3_key": f"assets/{digest}"})


def test_png_and_pdf_read_back_in_every_format(client: acontext.AcontextClient, stack: Stack) -> None:
    """Uploaded PNG and PDF come back as data in openai/anthropic/gemini and as assets in acontext."""
    tag = uuid.uuid4().hex
    png, pdf = make_png(tag), make_pdf(tag)
    session_id = client.sessions.create().id
    image_msg = _store_png(client, session_id, png)
    pdf_msg = _store_pdf(client, session_id, pdf)

    text_part, image_part = image_msg.parts
    assert (text_part.type, text_part.text) == ("text", "see the image")
    assert image_part.type == "image"
    assert image_part.filename == "a.png"
    assert image_part.asset is not None
    assert image_part.asset.model_dump() == {
        "bucket": image_part.asset.bucket,
        "s3_key": f"assets/{sha(png)}",
        "etag": image_part.asset.etag,
        "sha256": sha(png),
        "mime": "image/png",
        "size_b": len(png),
    }
    [file_part] = pdf_msg.parts
    assert (file_part.type, file_part.filename) == ("file", "report.pdf")
    assert file_part.asset is not None
    assert (file_part.asset.sha256, file_part.asset.mime, file_part.asset.size_b) == (
        sha(pdf),
        "application/pdf",
        len(pdf),
    )

    openai_page = client.sessions.get_messages(session_id, format="openai")
    validate_items("openai", openai_page.items)
    image_item, pdf_item = openai_page.items
    assert image_item["content"][0] == {"type": "text", "text": "see the image"}
    assert image_item["content"][1]["type"] == "image_url"
    assert image_item["content"][1]["image_url"]["url"] == _data_url("image/png", png)
    [pdf_content] = pdf_item["content"]
    assert pdf_content["type"] == "file"
    assert pdf_content["file"]["file_data"] == _data_url("application/pdf", pdf)
    assert pdf_content["file"]["filename"] == "report.pdf"
    assert openai_page.public_urls is None  # only format=acontext carries them

    anthropic_page = client.sessions.get_messages(session_id, format="anthropic")
    validate_items("anthropic", anthropic_page.items)
    image_blocks = [b for b in anthropic_page.items[0]["content"] if b["type"] == "image"]
    assert [b["source"] for b in image_blocks] == [
        {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png).decode()}
    ]
    [document] = anthropic_page.items[1]["content"]
    assert document["type"] == "document"
    assert document["source"] == {
        "type": "base64",
        "media_type": "application/pdf",
        "data": base64.b64encode(pdf).decode(),
    }

    gemini_page = client.sessions.get_messages(session_id, format="gemini")
    validate_items("gemini", gemini_page.items)
    inline = [p["inlineData"] for item in gemini_page.items for p in item["parts"] if "inlineData" in p]
    assert inline == [
        {"mimeType": "image/png", "data": base64.b64encode(png).decode()},
        {"mimeType": "application/pdf", "data": base64.b64encode(pdf).decode()},
    ]

    acx = client.sessions.get_messages(session_id, format="acontext")
    assert acx.ids == [image_msg.id, pdf_msg.id]
    parts = [part for item in acx.items for part in item["parts"]]
    assert parts[1]["asset"]["sha256"] == sha(png)
    assert parts[1]["filename"] == "a.png"
    assert parts[2]["asset"]["sha256"] == sha(pdf)
    assert parts[2]["filename"] == "report.pdf"
    assert acx.public_urls is not None
    assert set(acx.public_urls) == {sha(png), sha(pdf)}
    for digest, data, mime in ((sha(png), png, "image/png"), (sha(pdf), pdf, "application/pdf")):
        public = acx.public_urls[digest]
        assert public.expire_at
        response = httpx.get(public.url, timeout=30)  # no Authorization header
        assert response.status_code == 200, response.text
        assert response.content == data
        assert response.headers["content-type"].startswith(mime)
    explicit = client.sessions.get_messages(session_id, format="acontext", with_asset_public_url=True)
    assert explicit.public_urls is not None
    assert set(explicit.public_urls) == {sha(png), sha(pdf)}
    assert client.sessions.get_messages(session_id, format="acontext", with_asset_public_url=False).public_urls is None
    assert _assets_rows(stack.database_url, sha(png)) == 1


def test_public_url_tampering_is_404(client: acontext.AcontextClient) -> None:
    """A token altered anywhere, or made up, is 404; the genuine one still works."""
    png = make_png(uuid.uuid4().hex)
    session_id = client.sessions.create().id
    _store_png(client, session_id, png)
    urls = client.sessions.get_messages(session_id, format="acontext").public_urls
    assert urls is not None
    url = urls[sha(png)].url
    base, token = url.rsplit("/", 1)
    assert base.endswith("/api/v1/material")

    def flip(text: str, index: int) -> str:
        return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]

    for forged in (flip(token, len(token) - 1), flip(token, 0), flip(token, len(token) // 2), token[:-2], "0" * 64):
        response = httpx.get(f"{base}/{forged}", timeout=30)
        assert_error_response(response, 404)
    assert httpx.get(url, timeout=30).content == png


def test_authenticated_download(
    client: acontext.AcontextClient, http: httpx.Client, other_http: httpx.Client, other_project_key: str, stack: Stack
) -> None:
    """asset/download returns the bytes with auth; other projects and other sessions get 404, never 403."""
    png = make_png(uuid.uuid4().hex)
    session_id = client.sessions.create().id
    _store_png(client, session_id, png)
    response = _download(http, session_id, sha(png))
    assert response.status_code == 200, response.text
    assert response.content == png
    assert response.headers["content-type"].startswith("application/octet-stream")

    assert_error_response(_download(other_http, session_id, sha(png)), 404)
    own = other_http.post("/session", json={})
    assert own.status_code == 201, own.text
    assert_error_response(_download(other_http, own.json()["data"]["id"], sha(png)), 404)
    with sdk_client(stack.api_url, other_project_key) as other:  # the other project uploading the same bytes
        foreign_session = other.sessions.create().id
        _store_png(other, foreign_session, png)
    assert _download(other_http, foreign_session, sha(png)).content == png
    assert _assets_rows(stack.database_url, sha(png)) == 2  # one row per project

    unrelated = client.sessions.create().id  # same project, but no message of it uses the asset
    assert_error_response(_download(http, unrelated, sha(png)), 404)
    assert_error_response(_download(http, session_id, "0" * 64), 404)
    assert_error_response(http.get(f"/session/{session_id}/asset/download", params={"s3_key": "../etc"}), 404)
    assert_error_response(http.get(f"/session/{session_id}/asset/download"), 400)
    assert_error_response(_download(http, str(uuid.uuid4()), sha(png)), 404)
    assert httpx.get(f"{stack.api_url}/session/{session_id}/asset/download").status_code == 401


def test_missing_file_field_is_400(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """A part naming a form field that carried no file is 400 "missing file X"; nothing is stored."""
    session_id = client.sessions.create().id
    blob: Any = {"role": "user", "parts": [{"type": "image", "file_field": "img"}]}
    with pytest.raises(APIError) as exc:
        client.sessions.store_message(
            session_id, blob=blob, format="acontext", file_field="other", file=("a.png", make_png("x"), "image/png")
        )
    assert_api_error(exc.value, 400)
    assert "missing file img" in str(exc.value.message)
    with pytest.raises(APIError) as exc:
        client.sessions.store_message(session_id, blob=blob, format="acontext")  # JSON mode: no file at all
    assert_api_error(exc.value, 400)
    assert "missing file img" in str(exc.value.message)
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}}
    form = http.post(
        f"/session/{session_id}/messages",
        data={"payload": json.dumps(payload)},
        files={"g": ("x.bin", b"abc", "application/octet-stream")},
    )
    assert_error_response(form, 400)
    assert "missing file f" in form.json()["msg"]
    assert message_count(http, session_id) == 0


@pytest.fixture(scope="module")
def small_upload_api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second gateway on the same databases with MAX_UPLOAD_BYTES=4096; yields its API URL."""
    logs = tmp_path_factory.mktemp("small-upload")
    with running_gateway(stack, logs, MAX_UPLOAD_BYTES=str(SMALL_UPLOAD_LIMIT)) as gateway:
        yield gateway.api_url


def test_upload_over_limit_is_413(small_upload_api: str, stack: Stack, http: httpx.Client) -> None:
    """A file over MAX_UPLOAD_BYTES is 413 and nothing is stored; one under it is accepted."""
    with sdk_client(small_upload_api, stack.root_key) as small:
        session_id = small.sessions.create().id
        big = make_png("x" * (SMALL_UPLOAD_LIMIT + 1))
        with pytest.raises(APIError) as exc:
            _store_png(small, session_id, big)
        assert_api_error(exc.value, 413)
        assert message_count(http, session_id) == 0
        assert _assets_rows(stack.database_url, sha(big)) == 0
        fits = make_png(uuid.uuid4().hex)
        assert len(fits) < SMALL_UPLOAD_LIMIT
        stored = _store_png(small, session_id, fits)
        assert stored.parts[1].asset is not None
        assert stored.parts[1].asset.size_b == len(fits)
    assert message_count(http, session_id) == 1


def test_delete_releases_assets_shared_by_copy(
    client: acontext.AcontextClient, http: httpx.Client, stack: Stack
) -> None:
    """After copy + delete of the original the asset still downloads from the copy; after both, it is gone."""
    png = make_png(uuid.uuid4().hex)
    digest = sha(png)
    original = client.sessions.create().id
    _store_png(client, original, png)
    _store_png(client, original, png, name="again.png")  # a second reference from the same session
    public = client.sessions.get_messages(original, format="acontext").public_urls
    assert public is not None
    url = public[digest].url
    copy = client.sessions.copy(original).new_session_id
    copy_page = client.sessions.get_messages(copy, format="acontext")
    assert copy_page.public_urls is not None
    assert set(copy_page.public_urls) == {digest}
    assert [p["filename"] for item in copy_page.items for p in item["parts"] if "asset" in p] == [
        "a.png",
        "again.png",
    ]

    client.sessions.delete(original)
    assert_error_response(_download(http, original, digest), 404)
    response = _download(http, copy, digest)
    assert response.status_code == 200, response.text
    assert response.content == png
    assert httpx.get(url, timeout=30).content == png  # a URL minted on the original still works
    assert _assets_rows(stack.database_url, digest) == 1
    page = client.sessions.get_messages(copy, format="openai")
    assert page.items[0]["content"][1]["image_url"]["url"] == _data_url("image/png", png)

    client.sessions.delete(copy)
    assert _assets_rows(stack.database_url, digest) == 0
    assert_error_response(httpx.get(url, timeout=30), 404)
