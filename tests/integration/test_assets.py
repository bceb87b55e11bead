"""Uploaded files through the published `acontext` SDK (0.1.22): its multipart stores, its types for
parts and assets, the file read back in every format and fetched by its public URL over a socket.

The HTTP semantics of uploads (downloads, limits, tampering, reference counting) are tested
in-process: tests/http/test_uploads.py and test_material.py.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import acontext
import httpx
import psycopg
import pytest

# make_png and sha re-exported: test_sdk_users imports them from here.
from tests.http._helpers import make_pdf
from tests.http._helpers import make_png as make_png  # noqa: PLC0414
from tests.http._helpers import sha as sha  # noqa: PLC0414
from tests.integration.conftest import Stack
from tests.sdk_types import validate_items

pytestmark = pytest.mark.integration


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
